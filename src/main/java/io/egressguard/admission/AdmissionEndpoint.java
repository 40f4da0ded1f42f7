package io.egressguard.admission;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * The admission webhook's HTTP surface. Validation and mutation each have one path per namespace mode, because the
 * API server selects the webhook entry (and so the path) by the namespace label {@code egressguard.io/mode}.
 */
@Path("/")
public class AdmissionEndpoint {

    /** Routing-context key of the request's arrival time (nanoTime), stamped on the event loop. */
    static final String ARRIVAL = "egressguard.arrival";

    @Inject
    AdmissionService service;

    @Inject
    io.vertx.ext.web.RoutingContext routing;

    /**
     * Past saturation a request can wait in the worker queue; once it has waited longer than this it is answered at
     * once with 503 instead of being evaluated, so no request outlives the API server's webhook timeout (5 s) and the
     * queue drains. The API server then applies the webhook's failurePolicy (Fail: the request is refused).
     */
    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "egressguard.max-queue-time", defaultValue = "2s")
    java.time.Duration maxQueueTime;

    /** The 503 answer for a request that waited too long, or null when it may be evaluated. */
    static AdmissionService.Reply shed(Long arrivalNanos, long nowNanos, java.time.Duration maxQueueTime) {
        if (arrivalNanos == null) {
            return null;
        }
        long waited = nowNanos - arrivalNanos;
        if (waited <= maxQueueTime.toNanos()) {
            return null;
        }
        return AdmissionService.error(503, "ServiceUnavailable", "egress-guard is overloaded: the request waited "
                + waited / 1_000_000 + " ms for a worker (limit " + maxQueueTime.toMillis() + " ms); retry");
    }

    private AdmissionService.Reply shedIfLate() {
        return shed(routing == null ? null : routing.get(ARRIVAL), System.nanoTime(), maxQueueTime);
    }

    @POST
    @Path("validate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validate(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.validate(body, Mode.ENFORCE));
    }

    @POST
    @Path("validate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validateWarn(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.validate(body, Mode.WARN));
    }

    @POST
    @Path("validate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validateAudit(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.validate(body, Mode.AUDIT));
    }

    @POST
    @Path("mutate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutate(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.mutate(body, Mode.ENFORCE));
    }

    @POST
    @Path("mutate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutateWarn(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.mutate(body, Mode.WARN));
    }

    @POST
    @Path("mutate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutateAudit(byte[] body) {
        AdmissionService.Reply late = shedIfLate();
        return reply(late != null ? late : service.mutate(body, Mode.AUDIT));
    }

    /**
     * The floor for benchmarks: the same server, TLS and body handling, no decoding or evaluation.
     */
    @POST
    @Path("noop")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response noop(byte[] body) {
        return Response.ok("{\"ok\":true}").build();
    }

    private static Response reply(AdmissionService.Reply r) {
        return Response.status(r.status()).entity(r.body()).type(MediaType.APPLICATION_JSON).build();
    }
}
