package io.egressguard.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.policy.AdmissionAttributes;

/** The validating webhook's reading of a review, for the engine benchmark (which lives in another package). */
public final class ValidationReader {

    private ValidationReader() {
    }

    /**
     * A review's bytes to the attributes the policies evaluate, as {@link AdmissionService#validate} reads them: the
     * objects straight into CEL values, the envelope as a tree, checked.
     */
    public static AdmissionAttributes attributes(byte[] body) {
        AdmissionService.Objects objects = new AdmissionService.Objects();
        try {
            JsonNode root = AdmissionService.parseForValidation(body, objects);
            JsonNode request = root.get("request");
            AdmissionService.checkEnvelope(root, request);
            return objects.request != null
                    ? AdmissionAttributes.ofRequest(request, objects.request, objects.object, objects.oldObject, null)
                    : AdmissionAttributes.ofRequest(request, objects.object, objects.oldObject, null);
        } catch (AdmissionService.BadReview e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
