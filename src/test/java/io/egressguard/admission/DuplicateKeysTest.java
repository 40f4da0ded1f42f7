package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A key that appears twice in one JSON object makes the review a 400, wherever it is: the validating path reads the
 * objects straight into CEL values and detects duplicates itself, the mutating path leaves it to the parser. A
 * reader that kept the last (or the first) of two values could judge a different object than the API server stores.
 */
class DuplicateKeysTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static AdmissionService service;
    static String review;

    @BeforeAll
    static void setUp() throws Exception {
        service = new AdmissionService(PolicyEngine.load(true, List.of(), Settings.defaults()),
                new SimpleMeterRegistry(), new NoClusterView());
        review = MAPPER.writeValueAsString(MAPPER.readTree(
                Files.readAllBytes(Path.of("src/test/resources/admission/create-pod.json"))));
    }

    /** The captured review with {@code insert} added right after the first occurrence of {@code after}. */
    static byte[] with(String after, String insert) {
        int at = review.indexOf(after);
        assertThat(at).as(after).isGreaterThanOrEqualTo(0);
        at += after.length();
        return (review.substring(0, at) + insert + review.substring(at)).getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "top|{|\"kind\":\"AdmissionReview\",",
        "request|\"request\":{|\"uid\":\"another\",",
        "operation|\"request\":{|\"operation\":\"DELETE\",",
        "userInfo|\"userInfo\":{|\"username\":\"someone-else\",",
        "object|\"request\":{|\"object\":{},",
        "object metadata|\"object\":{|\"metadata\":{},",
        "nested in the object|\"metadata\":{|\"name\":\"other\",",
        "container|\"containers\":[{|\"image\":\"evil\",",
    })
    void anywhereIsA400(String testCase) throws Exception {
        String[] parts = testCase.split("\\|", 3);
        byte[] body = with(parts[1], parts[2]);
        for (boolean mutate : new boolean[] {false, true}) {
            AdmissionService.Reply reply = mutate ? service.mutate(body, Mode.ENFORCE)
                    : service.validate(body, Mode.ENFORCE);
            JsonNode answer = MAPPER.readTree(reply.body());
            assertThat(reply.status()).as(parts[0] + (mutate ? " (mutate)" : " (validate)")).isEqualTo(400);
            assertThat(answer.path("message").asText()).as(parts[0]).contains("Duplicate field");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theSameKeyInDifferentObjectsIsFine(boolean mutate) throws Exception {
        byte[] body = review.getBytes(StandardCharsets.UTF_8);
        assertThat(review).contains("\"name\":");
        AdmissionService.Reply reply = mutate ? service.mutate(body, Mode.ENFORCE)
                : service.validate(body, Mode.ENFORCE);
        assertThat(reply.status()).isEqualTo(200);
    }
}
