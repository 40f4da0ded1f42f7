package io.egressguard.translate;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Builds the Jackson trees of generated objects, with a fixed key order and Egress Guard's label and annotation. */
final class Manifests {

    static final String ISTIO_NETWORKING = "networking.istio.io/v1";
    static final String ISTIO_SECURITY = "security.istio.io/v1";
    static final String KUBERNETES_NETWORKING = "networking.k8s.io/v1";

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private Manifests() {
    }

    /**
     * A generated object: {@code apiVersion}, {@code kind}, {@code metadata} (name, namespace, the managed-by label and
     * the source annotation listing {@code sources} sorted and comma-separated), then {@code spec}.
     */
    static ObjectNode manifest(String apiVersion, String kind, String namespace, String name,
            Collection<String> sources, ObjectNode spec) {
        ObjectNode root = JSON.objectNode();
        root.put("apiVersion", apiVersion);
        root.put("kind", kind);
        ObjectNode metadata = root.putObject("metadata");
        metadata.put("name", name);
        metadata.put("namespace", namespace);
        metadata.putObject("labels").put(Settings.MANAGED_BY_LABEL, Settings.MANAGED_BY_VALUE);
        metadata.putObject("annotations").put(Settings.SOURCE_ANNOTATION,
                String.join(",", new TreeSet<>(sources)));
        root.set("spec", spec);
        return root;
    }

    static ObjectNode object() {
        return JSON.objectNode();
    }

    static ArrayNode array() {
        return JSON.arrayNode();
    }

    static ArrayNode strings(Collection<String> values) {
        ArrayNode array = JSON.arrayNode();
        values.forEach(array::add);
        return array;
    }

    /** A map of strings with its keys sorted. */
    static ObjectNode stringMap(Map<String, String> values) {
        ObjectNode node = JSON.objectNode();
        new TreeMap<>(values).forEach(node::put);
        return node;
    }

    /** {@code {matchLabels: {...}}}. */
    static ObjectNode matchLabels(Map<String, String> labels) {
        ObjectNode node = JSON.objectNode();
        node.set("matchLabels", stringMap(labels));
        return node;
    }
}
