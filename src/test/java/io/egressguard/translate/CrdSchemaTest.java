package io.egressguard.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every object the golden cases generate matches the OpenAPI schema of its kind (Istio's published CRDs, the
 * Kubernetes NetworkPolicy), strictly; every golden declaration matches Egress Guard's own CRDs.
 */
class CrdSchemaTest {

    private static final Set<String> DECLARATIONS = Set.of("ExternalService", "VirtualGateway", "AccessPolicy");

    private static CrdSchemas schemas;
    private final EgressTranslator translator = new EgressTranslator(Settings.defaults());

    @BeforeAll
    static void loadSchemas() {
        schemas = CrdSchemas.load();
    }

    @TestFactory
    Stream<DynamicTest> everyGeneratedObjectMatchesTheSchemaOfItsKind() throws IOException {
        return EgressTranslatorGoldenTest.cases().stream().map(dir -> DynamicTest.dynamicTest(
                dir.getFileName().toString(), () -> {
                    Translation translation = translate(dir);
                    assertThat(translation.objects()).as("objects of %s", dir).isNotEmpty();
                    for (ObjectNode object : translation.objects()) {
                        assertThat(schemas.validate(object)).as("%s %s/%s", object.path("kind").asText(),
                                object.at("/metadata/namespace").asText(), object.at("/metadata/name").asText())
                                .isEmpty();
                    }
                }));
    }

    @TestFactory
    Stream<DynamicTest> everyGoldenDeclarationMatchesEgressGuardCrds() throws IOException {
        return EgressTranslatorGoldenTest.cases().stream().map(dir -> DynamicTest.dynamicTest(
                dir.getFileName().toString(), () -> {
                    List<JsonNode> declarations = GoldenYaml.read(dir.resolve(EgressTranslatorGoldenTest.INPUT))
                            .stream().filter(d -> DECLARATIONS.contains(d.path("kind").asText())).toList();
                    assertThat(declarations).as("declarations of %s", dir).isNotEmpty();
                    for (JsonNode declaration : declarations) {
                        assertThat(schemas.validate(declaration)).as("%s %s", declaration.path("kind").asText(),
                                declaration.at("/metadata/name").asText()).isEmpty();
                    }
                }));
    }

    @Test
    void rejectsAGeneratedObjectWithAMisspelledField() {
        ObjectNode vs = seedObject("VirtualService");
        assertThat(schemas.validate(vs)).isEmpty();
        ObjectNode route = (ObjectNode) vs.at("/spec/http/0");
        route.set("routes", route.remove("route"));
        assertThat(schemas.validate(vs)).anyMatch(e -> e.contains("routes"));
    }

    @Test
    void rejectsAMisspelledFieldDeepInsideAGeneratedObject() {
        ObjectNode dr = seedObject("DestinationRule");
        ObjectNode tls = (ObjectNode) dr.at("/spec/trafficPolicy/portLevelSettings/0/tls");
        tls.put("snii", "httpbin.org");
        assertThat(schemas.validate(dr)).anyMatch(e -> e.contains("snii"));
    }

    @Test
    void rejectsAValueOutsideItsEnum() {
        ObjectNode se = seedObject("ServiceEntry");
        ((ObjectNode) se.get("spec")).put("resolution", "DNSS");
        assertThat(schemas.validate(se)).anyMatch(e -> e.contains("resolution"));
    }

    @Test
    void rejectsAMisspelledMetadataField() {
        ObjectNode ap = seedObject("AuthorizationPolicy");
        ((ObjectNode) ap.get("metadata")).set("annotation", ap.at("/metadata/annotations"));
        assertThat(schemas.validate(ap)).anyMatch(e -> e.contains("annotation"));
    }

    @Test
    void rejectsANetworkPolicyWithAMisspelledField() {
        ObjectNode np = seedObject("NetworkPolicy");
        assertThat(schemas.validate(np)).isEmpty();
        ObjectNode peer = (ObjectNode) np.at("/spec/egress/0/to/0");
        peer.set("namespaceSelecter", peer.remove("namespaceSelector"));
        assertThat(schemas.validate(np)).anyMatch(e -> e.contains("namespaceSelecter"));
    }

    @Test
    void rejectsADeclarationWithAMisspelledField() {
        JsonNode es = seedInput("ExternalService");
        ObjectNode port = (ObjectNode) es.at("/spec/ports/0");
        ((ObjectNode) port.get("egressGatewayRoutes")).set("portmatch",
                ((ObjectNode) port.get("egressGatewayRoutes")).remove("portMatch"));
        assertThat(schemas.validate(es)).anyMatch(e -> e.contains("portmatch"));
    }

    @Test
    void rejectsADeclarationWithAnUnknownProtocol() {
        JsonNode es = seedInput("ExternalService");
        ((ObjectNode) es.at("/spec/ports/0")).put("protocol", "GRPC");
        assertThat(schemas.validate(es)).anyMatch(e -> e.contains("protocol"));
    }

    @Test
    void egressGuardCrdsAreStructuralWithStatusAndPrinterColumns() {
        for (String file : List.of("externalservices.yaml", "virtualgateways.yaml", "accesspolicies.yaml")) {
            JsonNode crd = GoldenYaml.read(CrdSchemas.EGRESS_GUARD_CRDS.resolve(file)).get(0);
            assertThat(crd.at("/spec/group").asText()).isEqualTo(EgressTranslator.GROUP);
            JsonNode version = crd.at("/spec/versions/0");
            assertThat(version.path("name").asText()).isEqualTo(EgressTranslator.VERSION);
            assertThat(version.at("/subresources/status").isObject()).as("%s status subresource", file).isTrue();
            List<String> columns = new ArrayList<>();
            version.path("additionalPrinterColumns").forEach(c -> columns.add(c.path("name").asText()));
            assertThat(columns).as("%s printer columns", file).contains("Accepted", "Programmed", "Age");
            JsonNode conditions = version.at("/schema/openAPIV3Schema/properties/status/properties/conditions");
            assertThat(conditions.at("/items/required")).as("%s metav1.Condition", file).hasSize(5);
            assertThat(version.at("/schema/openAPIV3Schema/properties/status/properties/observedGeneration/type")
                    .asText()).isEqualTo("integer");
            List<String> untyped = new ArrayList<>();
            untypedNodes(version.at("/schema/openAPIV3Schema"), "", untyped);
            assertThat(untyped).as("%s schema nodes without a type (not structural)", file).isEmpty();
        }
    }

    private static void untypedNodes(JsonNode schema, String path, List<String> out) {
        if (!schema.has("type") && !schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            out.add(path.isEmpty() ? "." : path);
        }
        schema.path("properties").fields().forEachRemaining(e -> untypedNodes(e.getValue(), path + "." + e.getKey(),
                out));
        if (schema.path("items").isObject()) {
            untypedNodes(schema.path("items"), path + "[]", out);
        }
        if (schema.path("additionalProperties").isObject()) {
            untypedNodes(schema.path("additionalProperties"), path + ".*", out);
        }
    }

    private Translation translate(Path dir) {
        return translator.translate(GoldenYaml.read(dir.resolve(EgressTranslatorGoldenTest.INPUT)));
    }

    private ObjectNode seedObject(String kind) {
        return translate(EgressTranslatorGoldenTest.CASES.resolve("seed")).objects().stream()
                .filter(o -> o.path("kind").asText().equals(kind)).findFirst().orElseThrow().deepCopy();
    }

    private static JsonNode seedInput(String kind) {
        return GoldenYaml.read(EgressTranslatorGoldenTest.CASES.resolve("seed").resolve(EgressTranslatorGoldenTest.INPUT))
                .stream().filter(o -> o.path("kind").asText().equals(kind)).findFirst().orElseThrow();
    }

}
