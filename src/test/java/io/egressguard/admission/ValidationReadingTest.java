package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** How the validating path reads a review with {@link io.egressguard.cel.JsonBytes}: answers and envelope. */
class ValidationReadingTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static AdmissionService service;
    static byte[] pod;

    @BeforeAll
    static void setUp() throws Exception {
        service = new AdmissionService(PolicyEngine.load(true, List.of(), Settings.defaults()),
                new SimpleMeterRegistry(), new NoClusterView());
        pod = Files.readAllBytes(Path.of("src/test/resources/admission/create-pod.json"));
    }

    static JsonNode reply(byte[] body) throws Exception {
        AdmissionService.Reply r = service.validate(body, Mode.ENFORCE);
        JsonNode json = MAPPER.readTree(r.body());
        if (r.status() != 200) {
            assertThat(json.path("code").asInt()).isEqualTo(r.status());
        }
        return json;
    }

    static String message(String body) throws Exception {
        return reply(body.getBytes(StandardCharsets.UTF_8)).path("message").asText();
    }

    @Test
    void malformedJsonSaysWhatAndWhere() throws Exception {
        assertThat(message("{\"kind\":\"AdmissionReview\",\n \"request\": {\"uid\": 01}}"))
                .isEqualTo("malformed JSON: Invalid numeric value: Leading zeroes not allowed at line 2, column 22");
        assertThat(message("{\"request\":{\"object\":{\"a\":1,\"a\":2}}}"))
                .isEqualTo("malformed JSON: Duplicate field 'a' at line 1, column 29");
        assertThat(message("{\"kind\": \"AdmissionReview\", ")).startsWith("malformed JSON: Unexpected end-of-input");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "\"x\"", "1", "null", " [{\"kind\":\"AdmissionReview\"}]"})
    void aTopLevelThatIsNotAnObjectIsStillA400(String body) throws Exception {
        assertThat(message(body)).isEqualTo("expected a JSON object of kind AdmissionReview");
    }

    @ParameterizedTest
    @ValueSource(strings = {"object|5", "object|\"x\"", "object|[]", "oldObject|true", "oldObject|[{}]"})
    void objectsThatAreNotObjectsOrNullAre400(String testCase) throws Exception {
        String[] parts = testCase.split("\\|");
        String body = new String(pod, StandardCharsets.UTF_8)
                .replaceFirst("\"request\":\\s*\\{", "\"request\":{\"" + parts[0] + "\":" + parts[1] + ",");
        body = body.replaceFirst("\"" + parts[0] + "\":\\s*(\\{|null)", "\"was\":$1");
        assertThat(message(body)).isEqualTo("request." + parts[0] + " must be an object or null");
    }

    @Test
    void theObjectsAreImmutableMapsWithInternedKeysAndTheEnvelopeATree() throws Exception {
        AdmissionService.Objects objects = new AdmissionService.Objects();
        JsonNode root = AdmissionService.parseForValidation(pod, objects);
        assertThat(objects.object).isInstanceOf(io.egressguard.cel.ArrayMap.class);
        assertThat(objects.oldObject).isNull();
        @SuppressWarnings("unchecked")
        Map<String, Object> object = (Map<String, Object>) objects.object;
        assertThat(object.keySet().iterator().next()).isSameAs(object.keySet().iterator().next().intern());
        assertThatThrownBy(() -> object.put("x", 1L)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(root.path("request").has("object")).isFalse();
        assertThat(root.path("request").path("uid").isTextual()).isTrue();
        assertThat(root).isEqualTo(AdmissionService.parseForValidationWithJackson(pod, new AdmissionService.Objects()));
    }

    /**
     * The {@code request} variable as the reader hands it over (its CEL values) equals the one built from the
     * envelope's tree, on every captured review and on one with numbers, nulls and nesting in the envelope.
     */
    @Test
    void theRequestVariableFromTheReaderEqualsTheOneFromTheTree() throws Exception {
        List<byte[]> bodies = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> files = Files.list(Path.of("src/test/resources/admission"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                bodies.add(Files.readAllBytes(p));
            }
        }
        bodies.add(("{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"u\","
                + "\"n\":7,\"big\":9007199254740993,\"f\":1.5e3,\"z\":null,\"t\":true,\"e\":{},\"l\":[],"
                + "\"deep\":{\"a\":[1,{\"b\":null}]},\"object\":{\"kind\":\"Pod\"}}}").getBytes(StandardCharsets.UTF_8));
        for (byte[] body : bodies) {
            AdmissionService.Objects objects = new AdmissionService.Objects();
            JsonNode request = AdmissionService.parseForValidation(body, objects).get("request");
            assertThat(objects.request).isNotNull();
            Map<String, Object> fromTree = io.egressguard.policy.AdmissionAttributes
                    .ofRequest(request, objects.object, objects.oldObject, null).request();
            assertThat(objects.request).isEqualTo(fromTree);
            assertThat(objects.request.keySet()).containsExactlyElementsOf(fromTree.keySet());
        }
    }

    @Test
    void anIntegerBeyondLongKeepsItsDigitsInTheEnvelope() throws Exception {
        byte[] body = ("{\"kind\":\"AdmissionReview\",\"request\":{\"n\":123456789012345678901234567890,"
                + "\"object\":{\"n\":123456789012345678901234567890}}}").getBytes(StandardCharsets.UTF_8);
        AdmissionService.Objects objects = new AdmissionService.Objects();
        JsonNode root = AdmissionService.parseForValidation(body, objects);
        assertThat(root.path("request").path("n").bigIntegerValue())
                .isEqualTo(new BigInteger("123456789012345678901234567890"));
        assertThat(((Map<?, ?>) objects.object).get("n")).isEqualTo(1.2345678901234568E29);
    }

    @ParameterizedTest
    @ValueSource(strings = {"UTF-8", "UTF-16BE", "UTF-16LE", "UTF-32BE", "UTF-32LE"})
    void aReviewInAnyEncodingJacksonDetectsIsAnswered(String charset) throws Exception {
        byte[] body = new String(pod, StandardCharsets.UTF_8).getBytes(Charset.forName(charset));
        JsonNode answer = reply(body);
        assertThat(answer.path("response").path("uid").asText())
                .isEqualTo(MAPPER.readTree(pod).path("request").path("uid").asText());
        byte[] withBom = new byte[pod.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(pod, 0, withBom, 3, pod.length);
        assertThat(reply(withBom).path("response").has("allowed")).isTrue();
    }

    @Test
    void whatFollowsTheReviewIsNotRead() throws Exception {
        byte[] body = (new String(pod, StandardCharsets.UTF_8).trim() + " }}garbage").getBytes(StandardCharsets.UTF_8);
        assertThat(reply(body).path("response").has("allowed")).isTrue();
    }
}
