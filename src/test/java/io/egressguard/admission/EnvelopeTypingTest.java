package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The envelope's typed read without Jackson's bean deserializer ({@link AdmissionService#plainRequest}) against
 * Jackson's ({@code treeToValue} with the same mapper): on every captured review, and on variants of them with each
 * field, and each field of the nested objects, replaced by values of every JSON type, removed, or joined by an unknown
 * field. Whenever the plain read gives a result, Jackson gives an equal one; when it gives none, the caller uses
 * Jackson's, so the two paths cannot differ.
 */
class EnvelopeTypingTest {

    static final JsonNodeFactory F = JsonNodeFactory.instance;

    static List<ObjectNode> capturedRequests() throws IOException {
        List<ObjectNode> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/admission"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                JsonNode request = AdmissionService.MAPPER.readTree(p.toFile()).get("request");
                out.add((ObjectNode) request);
            }
        }
        return out;
    }

    /** Jackson's typed read of the envelope, as {@code checkEnvelope} does it when the plain read gives up. */
    static Object jackson(ObjectNode request) {
        ObjectNode copy = F.objectNode();
        request.properties().forEach(e -> {
            if (!AdmissionService.RAW_FIELDS.contains(e.getKey())) {
                copy.set(e.getKey(), e.getValue());
            }
        });
        try {
            return AdmissionService.MAPPER.treeToValue(copy, AdmissionRequest.class);
        } catch (Exception e) {
            return e;
        }
    }

    static List<JsonNode> replacements() {
        ArrayNode strings = F.arrayNode().add("a").add("");
        ArrayNode mixed = F.arrayNode().add("a").add(1);
        ObjectNode extra = F.objectNode();
        extra.set("k", F.arrayNode().add("v"));
        ObjectNode gvk = F.objectNode().put("group", "apps").put("version", "v1").put("kind", "Deployment");
        ObjectNode gvr = F.objectNode().put("group", "").put("version", "v1").put("resource", "pods");
        return List.of(F.textNode("x"), F.textNode(""), F.numberNode(7), F.numberNode(1.5), F.booleanNode(true),
                F.nullNode(), F.objectNode(), F.arrayNode(), strings, mixed, extra, gvk, gvr,
                F.objectNode().put("group", 1), F.objectNode().put("unknown", "u"),
                F.objectNode().set("extra", F.objectNode().put("k", "v")));
    }

    /** Every variant of a request: each field replaced by each value, removed, and an unknown field added. */
    static List<ObjectNode> variants(ObjectNode request) {
        List<ObjectNode> out = new ArrayList<>();
        out.add(request);
        List<String> fields = new ArrayList<>();
        request.fieldNames().forEachRemaining(fields::add);
        for (String field : fields) {
            ObjectNode removed = request.deepCopy();
            removed.remove(field);
            out.add(removed);
            for (JsonNode value : replacements()) {
                ObjectNode changed = request.deepCopy();
                changed.set(field, value.deepCopy());
                out.add(changed);
            }
            JsonNode nested = request.get(field);
            if (nested != null && nested.isObject()) {
                List<String> inner = new ArrayList<>();
                nested.fieldNames().forEachRemaining(inner::add);
                for (String n : inner) {
                    for (JsonNode value : replacements()) {
                        ObjectNode changed = request.deepCopy();
                        ((ObjectNode) changed.get(field)).set(n, value.deepCopy());
                        out.add(changed);
                    }
                    ObjectNode removed2 = request.deepCopy();
                    ((ObjectNode) removed2.get(field)).remove(n);
                    out.add(removed2);
                }
                ObjectNode added = request.deepCopy();
                ((ObjectNode) added.get(field)).put("added", "a");
                out.add(added);
            }
        }
        ObjectNode unknown = request.deepCopy();
        unknown.put("somethingNew", "x");
        out.add(unknown);
        return out;
    }

    @Test
    void capturedReviewsTakeThePlainReadAndMatchJackson() throws IOException {
        List<ObjectNode> requests = capturedRequests();
        assertThat(requests).hasSizeGreaterThan(20);
        for (ObjectNode request : requests) {
            AdmissionRequest plain = AdmissionService.plainRequest(request);
            assertThat(plain).as("plain read of %s", request.path("uid")).isNotNull();
            Object jackson = jackson(request);
            assertThat(jackson).isInstanceOf(AdmissionRequest.class);
            assertThat(plain).isEqualTo(jackson);
            assertThat(AdmissionService.MAPPER.valueToTree(plain).toString())
                    .isEqualTo(AdmissionService.MAPPER.valueToTree(jackson).toString());
        }
    }

    @Test
    void everyVariantThePlainReadAcceptsJacksonReadsEqually() throws IOException {
        int plainCount = 0;
        int fallbackCount = 0;
        for (ObjectNode request : capturedRequests()) {
            for (ObjectNode variant : variants(request)) {
                AdmissionRequest plain = AdmissionService.plainRequest(variant);
                if (plain == null) {
                    fallbackCount++;
                    continue;
                }
                plainCount++;
                Object jackson = jackson(variant);
                assertThat(jackson).as("Jackson on %s", variant).isInstanceOf(AdmissionRequest.class);
                assertThat(plain).as("%s", variant).isEqualTo(jackson);
                assertThat(AdmissionService.MAPPER.valueToTree(plain).toString()).as("%s", variant)
                        .isEqualTo(AdmissionService.MAPPER.valueToTree(jackson).toString());
            }
        }
        // both paths are exercised: the plain read accepts the well-formed variants and gives up on the others
        assertThat(plainCount).isGreaterThan(500);
        assertThat(fallbackCount).isGreaterThan(500);
    }

    @Test
    void randomPlainEnvelopesMatchJackson() {
        Random random = new Random(7);
        String[] texts = {"", "a", "pods", "CREATE", "system:masters", "ü", "x\ny", "\"q\""};
        for (int i = 0; i < 2000; i++) {
            ObjectNode request = F.objectNode();
            if (random.nextBoolean()) {
                request.put("uid", texts[random.nextInt(texts.length)]);
            }
            if (random.nextBoolean()) {
                request.put("dryRun", random.nextBoolean());
            }
            for (String f : new String[] {"name", "namespace", "operation", "subResource", "requestSubResource"}) {
                if (random.nextInt(3) == 0) {
                    request.put(f, texts[random.nextInt(texts.length)]);
                }
            }
            for (String f : new String[] {"kind", "requestKind", "resource", "requestResource"}) {
                if (random.nextBoolean()) {
                    ObjectNode o = request.putObject(f);
                    for (String n : f.endsWith("ind") ? new String[] {"group", "version", "kind"}
                            : new String[] {"group", "version", "resource"}) {
                        if (random.nextInt(4) != 0) {
                            o.put(n, texts[random.nextInt(texts.length)]);
                        }
                    }
                }
            }
            if (random.nextBoolean()) {
                ObjectNode user = request.putObject("userInfo");
                if (random.nextBoolean()) {
                    user.put("username", texts[random.nextInt(texts.length)]);
                }
                if (random.nextBoolean()) {
                    user.put("uid", texts[random.nextInt(texts.length)]);
                }
                if (random.nextBoolean()) {
                    ArrayNode groups = user.putArray("groups");
                    for (int g = random.nextInt(4); g > 0; g--) {
                        groups.add(texts[random.nextInt(texts.length)]);
                    }
                }
                if (random.nextBoolean()) {
                    ObjectNode extra = user.putObject("extra");
                    for (int x = random.nextInt(3); x > 0; x--) {
                        ArrayNode values = extra.putArray("k" + x);
                        for (int v = random.nextInt(3); v > 0; v--) {
                            values.add(texts[random.nextInt(texts.length)]);
                        }
                    }
                }
            }
            AdmissionRequest plain = AdmissionService.plainRequest(request);
            assertThat(plain).as("%s", request).isNotNull();
            assertThat(plain).as("%s", request).isEqualTo(jackson(request));
            assertThat(AdmissionService.MAPPER.valueToTree(plain).toString()).as("%s", request)
                    .isEqualTo(AdmissionService.MAPPER.valueToTree(jackson(request)).toString());
        }
    }
}
