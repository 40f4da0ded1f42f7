package io.egressguard.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the mutating webhook changes, as pure functions over a copy of the raw object:
 * <ul>
 *   <li>an enforced Namespace gets {@code istio-injection: enabled}, unless it selects a revision with
 *       {@code istio.io/rev};</li>
 *   <li>a Pod created in an enforced namespace gets {@code sidecar.istio.io/inject: "true"} when it has no such
 *       label.</li>
 * </ul>
 * and, in remediate mode ({@link #remediate}), the redirection holes of threat-model family 2 are removed from Pods
 * and from the pod templates of workloads instead of being refused.
 * Applying a mutation twice changes nothing more, so reinvocation is safe.
 */
public final class Mutations {

    static final String INJECTION_LABEL = "istio-injection";
    static final String INJECT_LABEL = "sidecar.istio.io/inject";
    static final String REVISION_LABEL = "istio.io/rev";
    /** The Namespace label that turns remediate mode on (value {@code "true"}). */
    public static final String REMEDIATE_LABEL = "egressguard.io/remediate";

    static final String INCLUDE_OUTBOUND_IP_RANGES = "traffic.sidecar.istio.io/includeOutboundIPRanges";
    static final String INTERCEPTION_MODE = "sidecar.istio.io/interceptionMode";

    /**
     * Annotations that open a hole in the sidecar's outbound redirection whatever their value, with what they do
     * (reference/istio-injection.md, section 2).
     */
    static final Map<String, String> REDIRECTION_HOLES = Map.of(
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "sends traffic to those addresses around the sidecar and the egress gateway",
            "traffic.sidecar.istio.io/excludeOutboundPorts",
            "sends traffic to those ports around the sidecar and the egress gateway",
            "traffic.sidecar.istio.io/excludeInterfaces",
            "leaves those network interfaces uncaptured by the sidecar",
            "traffic.sidecar.istio.io/kubevirtInterfaces",
            "changes which interfaces the sidecar captures",
            "istio.io/reroute-virtual-interfaces",
            "changes which interfaces the sidecar captures");

    private Mutations() {
    }

    /**
     * Mutates {@code object} in place.
     *
     * @return one human-readable line per change (empty when nothing changed)
     */
    public static List<String> apply(String group, String resource, String subResource, String operation,
            ObjectNode object) {
        List<String> changes = new ArrayList<>();
        if (!group.isEmpty() || !subResource.isEmpty()) {
            return changes;
        }
        if ("namespaces".equals(resource) && ("CREATE".equals(operation) || "UPDATE".equals(operation))) {
            JsonNode labels = object.path("metadata").path("labels");
            if (labels.has(Settings.MODE_LABEL) && !labels.has(REVISION_LABEL)
                    && !"enabled".equals(labels.path(INJECTION_LABEL).asText())) {
                labels(object).put(INJECTION_LABEL, "enabled");
                changes.add("metadata.labels[\"" + INJECTION_LABEL + "\"]: set to \"enabled\" so that Istio injects "
                        + "the sidecar into the namespace's pods");
            }
        } else if ("pods".equals(resource) && "CREATE".equals(operation)) {
            if (!object.path("metadata").path("labels").has(INJECT_LABEL)) {
                labels(object).put(INJECT_LABEL, "true");
                changes.add("metadata.labels[\"" + INJECT_LABEL + "\"]: set to \"true\" so that the pod gets the "
                        + "sidecar");
            }
        }
        return changes;
    }

    private static ObjectNode labels(ObjectNode object) {
        ObjectNode metadata = object.has("metadata") && object.get("metadata").isObject()
                ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
        return metadata.has("labels") && metadata.get("labels").isObject()
                ? (ObjectNode) metadata.get("labels") : metadata.putObject("labels");
    }

    /**
     * Remediate mode: removes from a Pod (on CREATE) or from a workload's pod template (on CREATE and UPDATE) every
     * annotation that opens a hole in the sidecar's outbound redirection: the exclusion and interface annotations
     * whatever their value, {@code includeOutboundIPRanges} other than {@code *}, and
     * {@code sidecar.istio.io/interceptionMode: NONE}. Mutates {@code object} in place.
     *
     * @return one line per removed annotation, naming its field path, its value and what it did (empty when nothing
     *     was removed)
     */
    public static List<String> remediate(String group, String resource, String subResource, String operation,
            ObjectNode object) {
        List<String> removed = new ArrayList<>();
        if (!subResource.isEmpty()) {
            return removed;
        }
        String templatePath = podTemplatePath(group, resource, operation);
        if (templatePath == null) {
            return removed;
        }
        JsonNode metadata = object;
        for (String field : templatePath.isEmpty() ? new String[] {"metadata"}
                : (templatePath + ".metadata").split("\\.")) {
            metadata = metadata.path(field);
        }
        JsonNode annotations = metadata.path("annotations");
        if (!annotations.isObject()) {
            return removed;
        }
        String prefix = (templatePath.isEmpty() ? "" : templatePath + ".") + "metadata.annotations[\"";
        List<String> names = new ArrayList<>();
        annotations.fieldNames().forEachRemaining(names::add);
        for (String name : names) {
            JsonNode value = annotations.get(name);
            String text = value.isTextual() ? value.asText() : value.toString();
            String effect = holeEffect(name, text);
            if (effect != null) {
                ((ObjectNode) annotations).remove(name);
                removed.add(prefix + name + "\"]: removed " + value + ", which " + effect
                        + " (remediate mode: the namespace has " + REMEDIATE_LABEL + "=true)");
            }
        }
        return removed;
    }

    /** What a redirection-hole annotation does, or null when this annotation and value are harmless. */
    static String holeEffect(String name, String value) {
        String effect = REDIRECTION_HOLES.get(name);
        if (effect != null) {
            return effect;
        }
        if (INCLUDE_OUTBOUND_IP_RANGES.equals(name) && !"*".equals(value.strip())) {
            return value.isBlank() ? "leaves all outbound traffic uncaptured by the sidecar"
                    : "leaves traffic to every other address uncaptured by the sidecar";
        }
        if (INTERCEPTION_MODE.equals(name) && "NONE".equals(value.strip().toUpperCase(Locale.ROOT))) {
            return "turns off the sidecar's traffic capture";
        }
        return null;
    }

    /**
     * Where the pod metadata lives for a resource: {@code ""} for a Pod (CREATE only), the pod template's path for a
     * workload (CREATE and UPDATE), or null when the resource has no pod.
     */
    static String podTemplatePath(String group, String resource, String operation) {
        boolean write = "CREATE".equals(operation) || "UPDATE".equals(operation);
        if (!write) {
            return null;
        }
        return switch (group + "/" + resource) {
            case "/pods" -> "CREATE".equals(operation) ? "" : null;
            case "/replicationcontrollers", "apps/deployments", "apps/statefulsets", "apps/daemonsets",
                    "apps/replicasets", "batch/jobs" -> "spec.template";
            case "batch/cronjobs" -> "spec.jobTemplate.spec.template";
            default -> null;
        };
    }
}
