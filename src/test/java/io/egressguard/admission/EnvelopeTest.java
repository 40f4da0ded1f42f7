package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The envelope of a review is checked against fabric8's AdmissionRequest model, except for the fields that carry
 * whole objects (object, oldObject and options), which must be JSON objects or null and are never decoded as typed
 * models.
 */
class EnvelopeTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static AdmissionService service;
    static ObjectNode review;

    @BeforeAll
    static void setUp() throws Exception {
        service = new AdmissionService(PolicyEngine.load(true, List.of(), Settings.defaults()),
                new SimpleMeterRegistry(), new NoClusterView());
        review = (ObjectNode) MAPPER.readTree(Files.readAllBytes(Path.of("src/test/resources/admission/create-pod.json")));
    }

    static JsonNode reply(Consumer<ObjectNode> change, boolean mutate) throws Exception {
        ObjectNode copy = review.deepCopy();
        change.accept((ObjectNode) copy.get("request"));
        byte[] body = MAPPER.writeValueAsBytes(copy);
        AdmissionService.Reply r = mutate ? service.mutate(body, Mode.ENFORCE) : service.validate(body, Mode.ENFORCE);
        JsonNode json = MAPPER.readTree(r.body());
        if (r.status() != 200) {
            assertThat(json.path("code").asInt()).isEqualTo(r.status());
        }
        return json;
    }

    @Test
    void theCapturedReviewCarriesOptions() {
        assertThat(review.path("request").path("options").path("kind").asText()).isEqualTo("CreateOptions");
    }

    @Test
    void optionsOfAnyKindAreAccepted() throws Exception {
        for (boolean mutate : new boolean[] {false, true}) {
            JsonNode r = reply(req -> req.putObject("options").put("apiVersion", "meta.k8s.io/v1")
                    .put("kind", "SomethingNew").put("fieldManager", "kubectl"), mutate);
            assertThat(r.path("response").path("uid").asText()).as("mutate=%s", mutate)
                    .isEqualTo(review.path("request").path("uid").asText());
            r = reply(req -> req.putNull("options"), mutate);
            assertThat(r.has("response")).as("mutate=%s", mutate).isTrue();
        }
    }

    @Test
    void optionsThatAreNotAnObjectAre400() throws Exception {
        for (boolean mutate : new boolean[] {false, true}) {
            JsonNode r = reply(req -> req.put("options", "dryRun"), mutate);
            assertThat(r.path("code").asInt()).isEqualTo(400);
            assertThat(r.path("message").asText()).contains("request.options must be an object or null");
        }
    }

    @Test
    void mistypedEnvelopeFieldsAre400() throws Exception {
        for (boolean mutate : new boolean[] {false, true}) {
            JsonNode r = reply(req -> req.put("userInfo", "admin"), mutate);
            assertThat(r.path("code").asInt()).isEqualTo(400);
            assertThat(r.path("message").asText()).contains("request is not an AdmissionRequest");
            r = reply(req -> req.putArray("kind").add("Pod"), mutate);
            assertThat(r.path("code").asInt()).isEqualTo(400);
        }
    }
}
