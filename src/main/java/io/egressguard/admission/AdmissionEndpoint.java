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

    @Inject
    AdmissionService service;

    @POST
    @Path("validate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validate(byte[] body) {
        return reply(service.validate(body, Mode.ENFORCE));
    }

    @POST
    @Path("validate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validateWarn(byte[] body) {
        return reply(service.validate(body, Mode.WARN));
    }

    @POST
    @Path("validate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response validateAudit(byte[] body) {
        return reply(service.validate(body, Mode.AUDIT));
    }

    @POST
    @Path("mutate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutate(byte[] body) {
        return reply(service.mutate(body, Mode.ENFORCE));
    }

    @POST
    @Path("mutate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutateWarn(byte[] body) {
        return reply(service.mutate(body, Mode.WARN));
    }

    @POST
    @Path("mutate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response mutateAudit(byte[] body) {
        return reply(service.mutate(body, Mode.AUDIT));
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
