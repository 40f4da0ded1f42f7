package io.egressguard.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Strict JSON Schemas for Kubernetes objects, made from CRD {@code openAPIV3Schema}s (and schemas written in the same
 * dialect), keyed by apiVersion and kind.
 *
 * <p>The conversion makes the check stricter than the API server's pruning: every object schema that neither lists
 * {@code additionalProperties} nor sets {@code x-kubernetes-preserve-unknown-fields} gets
 * {@code additionalProperties: false}, so a misspelled field fails instead of being dropped. {@code nullable} becomes a
 * {@code null} type, {@code x-kubernetes-int-or-string} an integer-or-string, other {@code x-kubernetes-*} keywords
 * (list types, CEL validation rules) and {@code format} are left out. The root also checks apiVersion, kind and a
 * metadata with only name, namespace, labels and annotations.
 */
final class CrdSchemas {

    static final Path ISTIO_CRDS = Path.of("src/test/resources/istio-crds/customresourcedefinitions.gen.yaml");
    static final Path EGRESS_GUARD_CRDS = Path.of("webhook-config/base/crds");
    static final Path NETWORK_POLICY = Path.of("src/test/resources/schemas/networkpolicy-v1.yaml");

    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7);

    private final Map<String, Schema> schemas = new HashMap<>();

    /** Istio's CRDs, Egress Guard's CRDs (also under Gloo Mesh's apiVersions) and the NetworkPolicy schema. */
    static CrdSchemas load() {
        CrdSchemas s = new CrdSchemas();
        GoldenYaml.read(ISTIO_CRDS).forEach(s::addCrd);
        for (String file : List.of("externalservices.yaml", "virtualgateways.yaml", "accesspolicies.yaml")) {
            for (JsonNode crd : GoldenYaml.read(EGRESS_GUARD_CRDS.resolve(file))) {
                s.addCrd(crd);
                String kind = crd.at("/spec/names/kind").asText();
                String gloo = kind.equals("AccessPolicy") ? EgressTranslator.GLOO_SECURITY_API_VERSION
                        : EgressTranslator.GLOO_NETWORKING_API_VERSION;
                s.add(gloo, kind, crd.at("/spec/versions/0/schema/openAPIV3Schema"));
            }
        }
        s.add("networking.k8s.io/v1", "NetworkPolicy", GoldenYaml.read(NETWORK_POLICY).get(0));
        return s;
    }

    private void addCrd(JsonNode crd) {
        String group = crd.at("/spec/group").asText();
        String kind = crd.at("/spec/names/kind").asText();
        for (JsonNode version : crd.at("/spec/versions")) {
            add(group + "/" + version.path("name").asText(), kind, version.at("/schema/openAPIV3Schema"));
        }
    }

    private void add(String apiVersion, String kind, JsonNode openApi) {
        schemas.put(apiVersion + " " + kind, REGISTRY.getSchema(strict(openApi, apiVersion, kind)));
    }

    boolean knows(JsonNode object) {
        return schemas.containsKey(object.path("apiVersion").asText() + " " + object.path("kind").asText());
    }

    /** The violations of {@code object}, one line each; empty when it is valid. */
    List<String> validate(JsonNode object) {
        Schema schema = schemas.get(object.path("apiVersion").asText() + " " + object.path("kind").asText());
        if (schema == null) {
            return List.of("no schema for " + object.path("apiVersion").asText() + " " + object.path("kind").asText());
        }
        return schema.validate(object).stream().map(Object::toString).sorted().toList();
    }

    /** The JSON Schema (draft 7) of a whole object whose spec and status {@code openApi} describes. */
    static ObjectNode strict(JsonNode openApi, String apiVersion, String kind) {
        ObjectNode root = (ObjectNode) convert(openApi.deepCopy());
        ObjectNode properties = root.with("properties");
        properties.set("apiVersion", GoldenYaml.YAML.createObjectNode().set("enum",
                GoldenYaml.YAML.createArrayNode().add(apiVersion)));
        properties.set("kind", GoldenYaml.YAML.createObjectNode().set("enum",
                GoldenYaml.YAML.createArrayNode().add(kind)));
        properties.set("metadata", objectMeta());
        root.put("type", "object");
        root.put("additionalProperties", false);
        ArrayNode required = GoldenYaml.YAML.createArrayNode().add("apiVersion").add("kind").add("metadata");
        root.path("required").forEach(r -> {
            if (!List.of("apiVersion", "kind", "metadata").contains(r.asText())) {
                required.add(r);
            }
        });
        root.set("required", required);
        return root;
    }

    private static ObjectNode objectMeta() {
        ObjectNode meta = GoldenYaml.YAML.createObjectNode();
        meta.put("type", "object");
        meta.putArray("required").add("name");
        ObjectNode props = meta.putObject("properties");
        props.putObject("name").put("type", "string");
        props.putObject("namespace").put("type", "string");
        for (String map : List.of("labels", "annotations")) {
            ObjectNode m = props.putObject(map);
            m.put("type", "object");
            m.putObject("additionalProperties").put("type", "string");
        }
        meta.put("additionalProperties", false);
        return meta;
    }

    private static JsonNode convert(JsonNode node) {
        if (!node.isObject()) {
            return node;
        }
        ObjectNode schema = (ObjectNode) node;
        boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
        if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            schema.remove("type");
            if (!schema.has("anyOf")) {
                ArrayNode anyOf = schema.putArray("anyOf");
                anyOf.addObject().put("type", "integer");
                anyOf.addObject().put("type", "string");
            }
        }
        List<String> drop = new ArrayList<>();
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (key.startsWith("x-kubernetes-") || key.equals("format")) {
                drop.add(key);
            }
        }
        schema.remove(drop);
        if (schema.path("nullable").asBoolean(false) && schema.has("type")) {
            String type = schema.path("type").asText();
            schema.set("type", GoldenYaml.YAML.createArrayNode().add(type).add("null"));
        }
        schema.remove("nullable");
        boolean isObject = schema.path("type").asText().equals("object") || schema.has("properties");
        if (isObject && !preserve && !schema.has("additionalProperties")) {
            schema.put("additionalProperties", false);
        }
        for (String key : List.of("properties", "definitions")) {
            if (schema.path(key).isObject()) {
                schema.path(key).fields().forEachRemaining(e -> convert(e.getValue()));
            }
        }
        for (String key : List.of("items", "additionalProperties", "not")) {
            if (schema.path(key).isObject()) {
                convert(schema.path(key));
            }
        }
        for (String key : List.of("anyOf", "oneOf", "allOf")) {
            schema.path(key).forEach(CrdSchemas::convert);
        }
        return schema;
    }
}
