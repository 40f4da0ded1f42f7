package io.egressguard.admission;

import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Transport errors (wrong Content-Type, wrong method, unknown path) answered with the same JSON error body. */
public class TransportErrorMappers {

    @ServerExceptionMapper
    public Response unsupportedMediaType(NotSupportedException e) {
        return json(AdmissionService.error(415, "UnsupportedMediaType",
                "Content-Type must be application/json (an AdmissionReview)"));
    }

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e) {
        int code = e.getResponse() == null ? 500 : e.getResponse().getStatus();
        String reason = e.getResponse() == null ? "InternalError"
                : e.getResponse().getStatusInfo().getReasonPhrase().replace(" ", "");
        return json(AdmissionService.error(code, reason, e.getMessage() == null ? reason : e.getMessage()));
    }

    private static Response json(AdmissionService.Reply r) {
        return Response.status(r.status()).entity(r.body()).type(MediaType.APPLICATION_JSON).build();
    }
}
