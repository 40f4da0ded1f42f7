package io.egressguard.policy;

/**
 * What one policy concluded about one object: allowed, or one violation (a failed validation), or an evaluation
 * error.
 *
 * @param policyId the policy's id
 * @param outcome ALLOW when every validation passed; DENY or WARN for a failed validation; ERROR when evaluation
 *     failed under {@code failurePolicy: Fail}
 * @param path the field path the violation is about (empty when unknown)
 * @param message what was found and how to fix it
 * @param reason the Kubernetes status reason of a denial ({@code Forbidden}, {@code Invalid}, ...)
 */
public record Decision(String policyId, Outcome outcome, String path, String message, String reason) {

    public enum Outcome {
        ALLOW, DENY, WARN, ERROR
    }

    public boolean isViolation() {
        return outcome != Outcome.ALLOW;
    }

    /** The kubectl line: {@code [policy-id] field.path: message}. */
    public String line() {
        return "[" + policyId + "] " + (path.isEmpty() ? "" : path + ": ") + message;
    }
}
