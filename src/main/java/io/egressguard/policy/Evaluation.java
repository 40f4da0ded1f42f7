package io.egressguard.policy;

import java.util.List;
import java.util.Map;

/**
 * Everything the engine concluded about one request, in a stable order (policy id, then validation order).
 *
 * @param decisions one ALLOW per policy that passed, one entry per violation or error otherwise
 * @param auditAnnotations values of the policies' {@code auditAnnotations}, keyed {@code <policy-id>/<key>}
 */
public record Evaluation(List<Decision> decisions, Map<String, String> auditAnnotations) {

    public List<Decision> violations() {
        return decisions.stream().filter(Decision::isViolation).toList();
    }

    /** Violations that refuse the request (DENY and ERROR); WARN-only policies never refuse. */
    public List<Decision> refusals() {
        return decisions.stream()
                .filter(d -> d.outcome() == Decision.Outcome.DENY || d.outcome() == Decision.Outcome.ERROR)
                .toList();
    }

    public boolean allowed() {
        return refusals().isEmpty();
    }
}
