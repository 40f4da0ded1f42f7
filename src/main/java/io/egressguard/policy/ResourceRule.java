package io.egressguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * One {@code resourceRules} entry of a ValidatingAdmissionPolicy's {@code matchConstraints}: API groups, versions,
 * resources (with Kubernetes' subresource forms {@code pods/ephemeralcontainers}, {@code pods/*}, {@code *},
 * {@code * /*}), operations and scope.
 */
public record ResourceRule(Set<String> apiGroups, Set<String> apiVersions, List<String> resources,
        Set<String> operations, String scope) {

    public static ResourceRule parse(JsonNode node, String where) throws PolicyException {
        Set<String> ops = strings(node.path("operations"));
        for (String op : ops) {
            if (!Set.of("*", "CREATE", "UPDATE", "DELETE", "CONNECT").contains(op)) {
                throw new PolicyException(where + ": unknown operation \"" + op + "\"");
            }
        }
        List<String> resources = new ArrayList<>(strings(node.path("resources")));
        if (resources.isEmpty() || ops.isEmpty()) {
            throw new PolicyException(where + ": a resource rule needs resources and operations");
        }
        String scope = node.path("scope").asText("*");
        return new ResourceRule(strings(node.path("apiGroups")), strings(node.path("apiVersions")),
                List.copyOf(resources), ops, scope);
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> out = new TreeSet<>();
        array.forEach(v -> out.add(v.asText()));
        return out;
    }

    /** Whether a request for this group/version/resource/subresource and operation falls under the rule. */
    public boolean matches(String group, String version, String resource, String subResource, String operation,
            boolean namespaced) {
        if (!(operations.contains("*") || operations.contains(operation))) {
            return false;
        }
        if (!(apiGroups.contains("*") || apiGroups.contains(group))) {
            return false;
        }
        if (!(apiVersions.isEmpty() || apiVersions.contains("*") || apiVersions.contains(version))) {
            return false;
        }
        if ("Namespaced".equals(scope) && !namespaced || "Cluster".equals(scope) && namespaced) {
            return false;
        }
        for (String r : resources) {
            if (resourceMatches(r, resource, subResource)) {
                return true;
            }
        }
        return false;
    }

    static boolean resourceMatches(String pattern, String resource, String subResource) {
        if ("*/*".equals(pattern)) {
            return true;
        }
        int slash = pattern.indexOf('/');
        String res = slash < 0 ? pattern : pattern.substring(0, slash);
        String sub = slash < 0 ? "" : pattern.substring(slash + 1);
        boolean resOk = "*".equals(res) || res.equals(resource);
        boolean subOk = "*".equals(sub) ? !subResource.isEmpty() : sub.equals(subResource);
        return resOk && subOk;
    }
}
