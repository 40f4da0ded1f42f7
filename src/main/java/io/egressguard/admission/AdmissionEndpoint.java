package io.egressguard.admission;

import io.smallrye.common.annotation.NonBlocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The admission webhook's HTTP surface. Validation and mutation each have one path per namespace mode, because the
 * API server selects the webhook entry (and so the path) by the namespace label {@code egressguard.io/mode}.
 *
 * <p>The methods run on the event loop, after RESTEasy has read the whole body there (up to
 * {@code quarkus.rest.input-buffer-size}, set to the body limit), and hand the review to the {@link ReviewPool}: no
 * thread waits for a body, over HTTP/1.1 or HTTP/2, and past saturation the pool answers 503 rather than let a
 * request outlive the API server's webhook timeout.
 */
@Path("/")
@NonBlocking
public class AdmissionEndpoint {

    @Inject
    AdmissionService service;

    @Inject
    ReviewPool pool;

    private CompletionStage<Response> review(byte[] body, Supplier<AdmissionService.Reply> review) {
        return pool.submit(body == null ? 0 : body.length, review).thenApply(AdmissionEndpoint::reply);
    }

    @POST
    @Path("validate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> validate(byte[] body) {
        return review(body, () -> service.validate(body, Mode.ENFORCE));
    }

    @POST
    @Path("validate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> validateWarn(byte[] body) {
        return review(body, () -> service.validate(body, Mode.WARN));
    }

    @POST
    @Path("validate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> validateAudit(byte[] body) {
        return review(body, () -> service.validate(body, Mode.AUDIT));
    }

    @POST
    @Path("mutate")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> mutate(byte[] body) {
        return review(body, () -> service.mutate(body, Mode.ENFORCE));
    }

    @POST
    @Path("mutate/warn")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> mutateWarn(byte[] body) {
        return review(body, () -> service.mutate(body, Mode.WARN));
    }

    @POST
    @Path("mutate/audit")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> mutateAudit(byte[] body) {
        return review(body, () -> service.mutate(body, Mode.AUDIT));
    }

    /**
     * The floor for benchmarks: the same server, TLS, body handling and hand-over to a review thread, no decoding
     * or evaluation.
     */
    @POST
    @Path("noop")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public CompletionStage<Response> noop(byte[] body) {
        return review(body, () -> NOOP);
    }

    private static final AdmissionService.Reply NOOP = new AdmissionService.Reply(200, "{\"ok\":true}");

    private static Response reply(AdmissionService.Reply r) {
        return Response.status(r.status()).entity(r.body()).type(MediaType.APPLICATION_JSON).build();
    }
}
