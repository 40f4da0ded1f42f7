package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Feeds the webhook's decode-evaluate-encode path with mutated AdmissionReviews and manifests: byte flips, invalid
 * UTF-8, truncation, deep nesting, huge strings, out-of-range numbers, duplicate keys, wrong types. Every input must
 * get a well-formed AdmissionReview or a clear 4xx JSON error, quickly; a violating object must never be admitted in
 * enforce mode whatever is changed around the violation. {@code -Dfuzz.iterations=100000} for the long run (the
 * default, used in CI, is shorter); {@code -Dfuzz.seed=N} to replay.
 */
class AdmissionFuzzTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final int ITERATIONS = Integer.getInteger("fuzz.iterations", 10_000);
    static final long SEED = Long.getLong("fuzz.seed", 20261126L);
    static final long SLOW_NANOS = 2_000_000_000L;

    static AdmissionService service;
    static List<byte[]> seeds = new ArrayList<>();
    static List<ObjectNode> violating = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        service = new AdmissionService(engine, new SimpleMeterRegistry(), new NoClusterView());
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/admission"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                seeds.add(Files.readAllBytes(f));
            }
        }
        ObjectNode deployment = (ObjectNode) MAPPER.readTree(
                Files.readAllBytes(Path.of("src/test/resources/admission/create-deployment.json")));
        ObjectNode hostNetwork = deployment.deepCopy();
        ((ObjectNode) hostNetwork.path("request").path("object").path("spec").path("template").path("spec"))
                .put("hostNetwork", true);
        violating.add(hostNetwork);
        ObjectNode optOut = deployment.deepCopy();
        ((ObjectNode) optOut.path("request").path("object").path("spec").path("template").path("metadata"))
                .putObject("annotations").put("sidecar.istio.io/inject", "false");
        violating.add(optOut);
        ObjectNode networkPolicy = (ObjectNode) MAPPER.readTree(
                Files.readAllBytes(Path.of("src/test/resources/admission/create-networkpolicy.json")));
        ObjectNode open = networkPolicy.deepCopy();
        ObjectNode spec = (ObjectNode) open.path("request").path("object").path("spec");
        spec.putArray("policyTypes").add("Egress");
        spec.putArray("egress").addObject().putArray("to").addObject().putObject("ipBlock").put("cidr", "0.0.0.0/0");
        violating.add(open);
        for (ObjectNode v : violating) {
            seeds.add(MAPPER.writeValueAsBytes(v));
            assertThat(allowed(service.validate(MAPPER.writeValueAsBytes(v), Mode.ENFORCE))).isFalse();
        }
    }

    static boolean allowed(AdmissionService.Reply reply) throws Exception {
        return MAPPER.readTree(reply.body()).path("response").path("allowed").asBoolean();
    }

    /** The reply is a well-formed AdmissionReview (200) or a JSON Status with a 4xx code and a message. */
    static void assertWellFormed(byte[] input, AdmissionService.Reply reply) throws Exception {
        JsonNode body = MAPPER.readTree(reply.body());
        if (reply.status() == 200) {
            assertThat(body.path("kind").asText()).isEqualTo("AdmissionReview");
            assertThat(body.path("response").path("uid").isTextual()).isTrue();
            assertThat(body.path("response").has("allowed")).isTrue();
        } else {
            assertThat(reply.status()).as(preview(input)).isBetween(400, 499);
            assertThat(body.path("code").asInt()).isEqualTo(reply.status());
            assertThat(body.path("message").asText()).isNotBlank();
        }
    }

    static String preview(byte[] input) {
        String s = new String(input, 0, Math.min(200, input.length), StandardCharsets.UTF_8);
        return "input starting " + s;
    }

    @Test
    void mutatedInputsGetWellFormedAnswersQuickly() throws Exception {
        Random random = new Random(SEED);
        int answered = 0;
        int rejected = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] input = mutate(seeds.get(random.nextInt(seeds.size())), random);
            long start = System.nanoTime();
            AdmissionService.Reply reply;
            try {
                reply = (i % 2 == 0) ? service.validate(input, Mode.ENFORCE) : service.mutate(input, Mode.ENFORCE);
            } catch (RuntimeException e) {
                fail("iteration " + i + " (seed " + SEED + ") threw " + e + " on " + preview(input));
                return;
            }
            long elapsed = System.nanoTime() - start;
            assertThat(elapsed).as("iteration %d took %d ms on %s", i, elapsed / 1_000_000, preview(input))
                    .isLessThan(SLOW_NANOS);
            assertWellFormed(input, reply);
            if (reply.status() == 200) {
                answered++;
            } else {
                rejected++;
            }
        }
        assertThat(answered + rejected).isEqualTo(ITERATIONS);
        assertThat(answered).as("the mutations must also produce valid reviews").isGreaterThan(ITERATIONS / 10);
        assertThat(rejected).as("and invalid ones").isGreaterThan(ITERATIONS / 10);
    }

    @Test
    void aViolationIsNeverAdmittedWhateverChangesAroundIt() throws Exception {
        Random random = new Random(SEED + 1);
        int iterations = Math.max(1000, ITERATIONS / 5);
        for (int i = 0; i < iterations; i++) {
            ObjectNode review = violating.get(random.nextInt(violating.size())).deepCopy();
            ObjectNode object = (ObjectNode) review.path("request").path("object");
            for (int k = 1 + random.nextInt(4); k > 0; k--) {
                decorate(object, random);
            }
            byte[] input = MAPPER.writeValueAsBytes(review);
            AdmissionService.Reply reply = service.validate(input, Mode.ENFORCE);
            assertWellFormed(input, reply);
            assertThat(reply.status() == 200 && allowed(reply)).as("iteration %d admitted %s", i,
                    object.toString()).isFalse();
        }
    }

    // ---- mutations ----------------------------------------------------------------------------------------------

    static byte[] mutate(byte[] seed, Random r) throws Exception {
        switch (r.nextInt(10)) {
            case 0: return flipBytes(seed, r);
            case 1: return Arrays2.truncate(seed, r);
            case 2: return invalidUtf8(seed, r);
            case 3: return duplicateKey(seed, r);
            case 4: return deepNesting(r);
            default: return treeMutation(seed, r);
        }
    }

    static byte[] flipBytes(byte[] seed, Random r) {
        byte[] b = seed.clone();
        for (int n = 1 + r.nextInt(8); n > 0; n--) {
            b[r.nextInt(b.length)] = (byte) r.nextInt(256);
        }
        return b;
    }

    static byte[] invalidUtf8(byte[] seed, Random r) {
        String s = new String(seed, StandardCharsets.UTF_8);
        int at = s.indexOf("\"name\":\"");
        byte[] bad = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF, (byte) 0xFE, (byte) 0xED, (byte) 0xA0, (byte) 0x80};
        int pos = at < 0 ? r.nextInt(seed.length) : s.substring(0, at + 8).getBytes(StandardCharsets.UTF_8).length;
        byte[] out = new byte[seed.length + bad.length];
        System.arraycopy(seed, 0, out, 0, pos);
        System.arraycopy(bad, 0, out, pos, bad.length);
        System.arraycopy(seed, pos, out, pos + bad.length, seed.length - pos);
        return out;
    }

    static byte[] duplicateKey(byte[] seed, Random r) {
        String s = new String(seed, StandardCharsets.UTF_8);
        String[] keys = {"\"kind\":\"Pod\",", "\"uid\":\"x\",", "\"operation\":\"DELETE\",", "\"allowed\":true,"};
        int brace = s.indexOf('{', 1 + r.nextInt(Math.max(1, s.length() / 2)));
        if (brace < 0) {
            brace = 0;
        }
        return (s.substring(0, brace + 1) + keys[r.nextInt(keys.length)] + s.substring(brace + 1))
                .getBytes(StandardCharsets.UTF_8);
    }

    static byte[] deepNesting(Random r) {
        int depth = 150 + r.nextInt(20_000);
        StringBuilder sb = new StringBuilder("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                + "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"resource\":{\"group\":\"\",\"version\":\"v1\","
                + "\"resource\":\"pods\"},\"object\":{\"kind\":\"Pod\",\"spec\":");
        sb.append("[".repeat(depth)).append("]".repeat(depth)).append("}}}");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static byte[] treeMutation(byte[] seed, Random r) throws Exception {
        JsonNode root;
        try {
            root = MAPPER.readTree(seed);
        } catch (Exception e) {
            return seed;
        }
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode target = containers.get(r.nextInt(containers.size()));
        JsonNode replacement = strange(r);
        if (target instanceof ObjectNode o && o.size() > 0) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = names.get(r.nextInt(names.size()));
            if (r.nextInt(4) == 0) {
                o.remove(name);
            } else {
                o.set(name, replacement);
            }
        } else if (target instanceof ArrayNode a && a.size() > 0) {
            a.set(r.nextInt(a.size()), replacement);
        }
        String text = MAPPER.writeValueAsString(root);
        if (replacement.isTextual() && replacement.asText().equals("NUMBER")) {
            String[] numbers = {"1e400", "-9223372036854775809", "123456789012345678901234567890", "-0", "1.0e-400",
                "18446744073709551616", "0.1e99999"};
            text = text.replace("\"NUMBER\"", numbers[r.nextInt(numbers.length)]);
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            for (Iterator<JsonNode> it = n.elements(); it.hasNext(); ) {
                collect(it.next(), out);
            }
        }
    }

    static JsonNode strange(Random r) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (r.nextInt(9)) {
            case 0: return f.textNode("x".repeat(1 + r.nextInt(1_000_000)));
            case 1: return f.nullNode();
            case 2: return f.numberNode(r.nextLong());
            case 3: return f.textNode("NUMBER");
            case 4: return f.booleanNode(r.nextBoolean());
            case 5: return f.arrayNode().add(f.objectNode()).add(f.nullNode()).add(f.numberNode(1.5));
            case 6: return f.textNode("\u0000\uFFFF\uD83D\uDE00 \u202E" + r.nextInt());
            case 7: return f.objectNode().put("sidecar.istio.io/inject", r.nextBoolean() ? "false" : "true");
            default: return f.numberNode(r.nextDouble() * 1e300);
        }
    }

    /** Adds or changes fields that have nothing to do with the violation the review carries. */
    static void decorate(ObjectNode object, Random r) {
        ObjectNode meta = object.has("metadata") && object.get("metadata").isObject()
                ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
        switch (r.nextInt(6)) {
            case 0 -> meta.with("labels").put("fuzz-" + r.nextInt(1000), "v" + r.nextInt());
            case 1 -> meta.with("annotations").put("example.com/note-" + r.nextInt(100),
                    "\u00e9\u4e2d\uD83D\uDE00".repeat(1 + r.nextInt(50)));
            case 2 -> object.put("x-unknown-" + r.nextInt(100), r.nextLong());
            case 3 -> meta.put("generateName", "n" + r.nextInt(10_000) + "-");
            case 4 -> object.with("status").put("phase", "Pending");
            default -> meta.putArray("finalizers").add("example.com/f" + r.nextInt(10));
        }
    }

    /** Truncation helper. */
    static final class Arrays2 {
        static byte[] truncate(byte[] seed, Random r) {
            return java.util.Arrays.copyOf(seed, r.nextInt(seed.length));
        }
    }
}
