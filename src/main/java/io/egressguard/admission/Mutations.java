package io.egressguard.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.util.ArrayList;
import java.util.List;

/**
 * What the mutating webhook changes, as pure functions over a copy of the raw object:
 * <ul>
 *   <li>an enforced Namespace gets {@code istio-injection: enabled}, unless it selects a revision with
 *       {@code istio.io/rev};</li>
 *   <li>a Pod created in an enforced namespace gets {@code sidecar.istio.io/inject: "true"} when it has no such
 *       label.</li>
 * </ul>
 * Applying a mutation twice changes nothing more, so reinvocation is safe.
 */
public final class Mutations {

    static final String INJECTION_LABEL = "istio-injection";
    static final String INJECT_LABEL = "sidecar.istio.io/inject";
    static final String REVISION_LABEL = "istio.io/rev";

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
}
