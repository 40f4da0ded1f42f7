package io.egressguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestReader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code render} through the picocli entry point, on the seed scenario's declarations. */
class RenderCommandTest {

    static final String SEED = "src/test/resources/translate/seed/input.yaml";

    @Test
    void rendersTheSeedScenarioAsYaml() throws Exception {
        CheckCommandTest.Run r = CheckCommandTest.run("render", SEED);
        assertThat(r.exit()).as(r.err()).isEqualTo(0);
        List<ManifestDocument> docs = ManifestReader.parse(r.out(), "render", false);
        JsonNode vs = docs.stream().map(ManifestDocument::tree)
                .filter(o -> o.path("kind").asText().equals("VirtualService")).findFirst().orElseThrow();
        assertThat(vs.path("spec").path("hosts").toString()).isEqualTo("[\"httpbin.org\"]");
        assertThat(vs.path("spec").path("gateways").get(1).asText()).isEqualTo("mesh");
        JsonNode gatewayLeg = vs.path("spec").path("http").get(1);
        assertThat(gatewayLeg.path("match").get(0).path("port").asInt()).isEqualTo(443);
        assertThat(gatewayLeg.path("route").get(0).path("destination").path("host").asText()).isEqualTo("httpbin.org");
        assertThat(gatewayLeg.path("route").get(0).path("destination").path("port").path("number").asInt())
                .isEqualTo(443);
        JsonNode authz = docs.stream().map(ManifestDocument::tree)
                .filter(o -> o.path("kind").asText().equals("AuthorizationPolicy")).findFirst().orElseThrow();
        assertThat(authz.path("spec").path("rules").get(0).path("from").get(0).path("source").path("principals")
                .toString()).isEqualTo("[\"cluster.local/ns/bookinfo/sa/bookinfo-productpage\"]");
        assertThat(docs).allSatisfy(d -> assertThat(d.tree().path("metadata").path("labels")
                .path("app.kubernetes.io/managed-by").asText()).isEqualTo("egress-guard"));
    }

    @Test
    void rendersJsonList() throws Exception {
        CheckCommandTest.Run r = CheckCommandTest.run("render", "-o", "json", SEED);
        JsonNode list = new ObjectMapper().readTree(r.out());
        assertThat(list.path("kind").asText()).isEqualTo("List");
        assertThat(list.path("items").size()).isGreaterThan(5);
    }

    @Test
    void refusedFieldsExit1AndAreNamedOnStderr() {
        CheckCommandTest.Run r = CheckCommandTest.run("render", "src/test/resources/translate/refused-fields/input.yaml");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("error: ExternalService/global/mtls-partner: "
                + "spec.ports[0].clientsideTls.clientCertificate: not supported by Egress Guard; remove it");
    }

    @Test
    void unreadableInputExits2() {
        CheckCommandTest.Run r = CheckCommandTest.run("render", "src/test/resources/cli/broken.yaml");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: src/test/resources/cli/broken.yaml:5:");
    }
}
