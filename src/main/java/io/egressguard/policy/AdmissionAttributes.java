package io.egressguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.cel.CelJson;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The request the engine evaluates, built by either front door: the webhook from an AdmissionReview, the CLI from a
 * manifest. Objects are CEL values (see {@link io.egressguard.cel.CelJson}).
 *
 * @param operation CREATE, UPDATE, DELETE or CONNECT
 * @param group API group of the resource ("" for core)
 * @param version API version of the resource
 * @param resource plural resource name
 * @param subResource subresource ("" when none)
 * @param namespace the request's namespace ("" for cluster-scoped objects)
 * @param object the new object, or null for DELETE
 * @param oldObject the existing object for UPDATE and DELETE, else null
 * @param request the AdmissionRequest as a CEL map (the {@code request} variable)
 * @param namespaceObject the Namespace object when known, else null
 */
public record AdmissionAttributes(String operation, String group, String version, String resource,
        String subResource, String namespace, Object object, Object oldObject, Map<String, Object> request,
        Object namespaceObject) {

    /** The object whose labels an objectSelector sees: the new object, or the old one for DELETE. */
    @SuppressWarnings("unchecked")
    Map<String, Object> labelsForSelector() {
        Object o = object instanceof Map ? object : oldObject;
        return labelsOf(o);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> labelsOf(Object o) {
        if (o instanceof Map<?, ?> m && m.get("metadata") instanceof Map<?, ?> meta
                && meta.get("labels") instanceof Map<?, ?> labels) {
            return (Map<String, Object>) labels;
        }
        return Map.of();
    }

    /**
     * A manifest evaluated as a CREATE into an enforced namespace, as {@code check} and the policy tests do.
     *
     * @return empty when the kind is not one Egress Guard knows
     */
    public static Optional<AdmissionAttributes> ofManifest(JsonNode object, String namespace, String userName) {
        String apiVersion = object.path("apiVersion").asText("");
        String kind = object.path("kind").asText("");
        Optional<ResourceTable.Resource> resource = ResourceTable.forKind(apiVersion, kind);
        if (resource.isEmpty()) {
            return Optional.empty();
        }
        ResourceTable.Resource r = resource.get();
        String ns = r.namespaced() ? namespace : "";
        String name = object.path("metadata").path("name").asText("");
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode request = f.objectNode();
        request.put("uid", "00000000-0000-0000-0000-000000000000");
        request.set("kind", f.objectNode().put("group", r.group())
                .put("version", ResourceTable.versionOf(apiVersion)).put("kind", kind));
        request.set("resource", f.objectNode().put("group", r.group())
                .put("version", ResourceTable.versionOf(apiVersion)).put("resource", r.plural()));
        request.set("requestKind", request.get("kind"));
        request.set("requestResource", request.get("resource"));
        request.put("name", name);
        request.put("namespace", ns);
        request.put("operation", "CREATE");
        request.set("userInfo", f.objectNode().put("username", userName));
        request.put("dryRun", false);
        @SuppressWarnings("unchecked")
        Map<String, Object> requestValue = (Map<String, Object>) CelJson.toCel(request);
        Object namespaceObject = ns.isEmpty() ? null : enforcedNamespace(ns);
        return Optional.of(new AdmissionAttributes("CREATE", r.group(), ResourceTable.versionOf(apiVersion),
                r.plural(), "", ns, CelJson.toCel(withoutNulls(object)), null, requestValue, namespaceObject));
    }

    /**
     * The object as the API server would store it: a manifest's {@code key:} with no value (null) is dropped, as
     * the API server drops null fields of the objects it decodes.
     */
    static JsonNode withoutNulls(JsonNode node) {
        if (!containsNull(node)) {
            return node;
        }
        if (node.isObject()) {
            ObjectNode copy = JsonNodeFactory.instance.objectNode();
            node.fields().forEachRemaining(e -> {
                if (!e.getValue().isNull()) {
                    copy.set(e.getKey(), withoutNulls(e.getValue()));
                }
            });
            return copy;
        }
        com.fasterxml.jackson.databind.node.ArrayNode copy = JsonNodeFactory.instance.arrayNode();
        node.forEach(child -> copy.add(withoutNulls(child)));
        return copy;
    }

    private static boolean containsNull(JsonNode node) {
        if (node.isObject()) {
            for (java.util.Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
                JsonNode child = it.next();
                if (child.isNull() || containsNull(child)) {
                    return true;
                }
            }
        } else if (node.isArray()) {
            for (JsonNode child : node) {
                if (containsNull(child)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The attributes of an AdmissionReview's {@code request}.
     *
     * @param request the {@code request} member of the review
     * @param namespaceObject the namespace when known (CEL value), else null
     */
    public static AdmissionAttributes ofRequest(JsonNode request, Object namespaceObject) {
        JsonNode object = request.get("object");
        JsonNode oldObject = request.get("oldObject");
        return ofRequest(request, object == null || object.isNull() ? null : CelJson.toCel(object),
                oldObject == null || oldObject.isNull() ? null : CelJson.toCel(oldObject), namespaceObject);
    }

    /**
     * The attributes of an AdmissionReview's {@code request} whose objects were read as CEL values already.
     *
     * @param request the {@code request} member of the review (its object members, if any, are ignored)
     * @param object the new object as a CEL value, or null
     * @param oldObject the old object as a CEL value, or null
     * @param namespaceObject the namespace when known (CEL value), else null
     */
    public static AdmissionAttributes ofRequest(JsonNode request, Object object, Object oldObject,
            Object namespaceObject) {
        // the request variable: the envelope without the objects, which are variables of their own
        Map<String, Object> requestValue = new LinkedHashMap<>();
        request.properties().forEach(e -> {
            if (!e.getKey().equals("object") && !e.getKey().equals("oldObject")) {
                requestValue.put(e.getKey(), CelJson.toCel(e.getValue()));
            }
        });
        return ofRequest(request, requestValue, object, oldObject, namespaceObject);
    }

    /**
     * The attributes of an AdmissionReview's {@code request} whose objects and {@code request} variable were read as
     * CEL values already.
     *
     * @param request the {@code request} member of the review, for the attributes the match uses
     * @param requestValue the {@code request} variable: the request's members but its objects, as CEL values
     * @param object the new object as a CEL value, or null
     * @param oldObject the old object as a CEL value, or null
     * @param namespaceObject the namespace when known (CEL value), else null
     */
    public static AdmissionAttributes ofRequest(JsonNode request, Map<String, Object> requestValue, Object object,
            Object oldObject, Object namespaceObject) {
        JsonNode resource = request.path("resource");
        return new AdmissionAttributes(request.path("operation").asText(""), resource.path("group").asText(""),
                resource.path("version").asText(""), resource.path("resource").asText(""),
                request.path("subResource").asText(""), request.path("namespace").asText(""), object, oldObject,
                requestValue, namespaceObject);
    }

    /** A Namespace object labelled for enforcement, as a CEL value. */
    public static Object enforcedNamespace(String name) {
        Map<String, Object> labels = new LinkedHashMap<>();
        labels.put(Settings.MODE_LABEL, "enforce");
        labels.put("kubernetes.io/metadata.name", name);
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("name", name);
        metadata.put("labels", Map.copyOf(labels));
        Map<String, Object> ns = new LinkedHashMap<>();
        ns.put("apiVersion", "v1");
        ns.put("kind", "Namespace");
        ns.put("metadata", Map.copyOf(metadata));
        return Map.copyOf(ns);
    }
}
