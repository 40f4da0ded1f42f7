package io.egressguard.policy;

import dev.cel.runtime.CelRuntime;
import java.util.List;
import java.util.Map;

/**
 * A compiled ValidatingAdmissionPolicy: every expression is a ready {@link CelRuntime.Program}, built once at load.
 *
 * @param id policy id: its folder name and {@code metadata.name}
 * @param origin where it was loaded from (file path, or {@code builtin:policies/<id>/policy.yaml})
 * @param annotations title, category, severity, description, remediation and Egress Guard's own settings
 * @param failOpen true for {@code failurePolicy: Ignore}: an evaluation error is skipped, not a refusal
 * @param warnOnly true when the policy only warns ({@code egressguard.io/action: Warn})
 * @param resourceRules the {@code matchConstraints.resourceRules}
 * @param excludeRules the {@code matchConstraints.excludeResourceRules}
 * @param namespaceSelector applied to the namespace's labels when the namespace is known
 * @param objectSelector applied to the object's labels
 * @param matchConditions all must hold for the policy to apply
 * @param variables named expressions, evaluated lazily as {@code variables.<name>}
 * @param validations the checks, in order
 * @param auditAnnotations key and value expression pairs
 */
public record Policy(String id, String origin, Map<String, String> annotations, boolean failOpen,
        boolean warnOnly, List<ResourceRule> resourceRules, List<ResourceRule> excludeRules,
        LabelSelector namespaceSelector, LabelSelector objectSelector, List<Expression> matchConditions,
        List<Expression> variables, List<Validation> validations, List<Expression> auditAnnotations) {

    /** A compiled expression and where it came from. */
    public record Expression(String name, String text, CelRuntime.Program program) {
    }

    /**
     * One validation.
     *
     * @param expression must evaluate to true
     * @param message static message, may be empty
     * @param messageExpression compiled messageExpression, or null
     * @param reason Kubernetes status reason (default Forbidden)
     * @param fieldPath the standard {@code fieldPath}, may be empty
     */
    public record Validation(Expression expression, String message, Expression messageExpression, String reason,
            String fieldPath) {
    }

    /** Annotation that limits a policy to the webhook, e.g. checks that only hold after sidecar injection. */
    public static final String CONTEXT_ANNOTATION = "egressguard.io/context";

    /** True for policies that judge the pod as it reaches validation, after every mutating webhook has run. */
    public boolean injectedPodsOnly() {
        return "injected".equals(annotations.get(CONTEXT_ANNOTATION));
    }

    public String annotation(String key) {
        return annotations.getOrDefault(key, "");
    }

    /** Whether a request for this resource and operation falls under the policy's match constraints. */
    public boolean matchesResource(String group, String version, String resource, String subResource,
            String operation, boolean namespaced) {
        boolean included = false;
        for (ResourceRule r : resourceRules) {
            if (r.matches(group, version, resource, subResource, operation, namespaced)) {
                included = true;
                break;
            }
        }
        if (!included) {
            return false;
        }
        for (ResourceRule r : excludeRules) {
            if (r.matches(group, version, resource, subResource, operation, namespaced)) {
                return false;
            }
        }
        return true;
    }
}
