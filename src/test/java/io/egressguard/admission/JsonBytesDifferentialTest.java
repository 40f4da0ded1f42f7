package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.cel.common.values.NullValue;
import io.egressguard.cel.CelJson;
import io.egressguard.cel.JsonBytes;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Holds {@link JsonBytes} to the Jackson-based reading it replaces, on every JSON file of the test resources, the
 * corpus manifests (as JSON, inside a review) and many mutated variants of them: byte flips, truncations, control
 * characters, invalid and odd UTF-8, escapes and surrogates in keys and values, numbers at and past the limits,
 * deep nesting, duplicate keys, odd envelopes, bytes before and after the document.
 *
 * <p>Two comparisons per input: the validating path's {@link AdmissionService#parseForValidation} against
 * {@link AdmissionService#parseForValidationWithJackson} (both reject, or both give the same envelope tree and the
 * same objects), and, for a body that starts with an object or an array, {@link JsonBytes#read} against Jackson's
 * parser with {@link CelJson#read}. "The same" is strict: same map key order, same types (a {@link Long} is not a
 * {@link Double}), same strings, and keys interned. {@code -Djson.mutants=N} mutants per seed (default 60),
 * {@code -Djson.seed=N} to replay.
 */
class JsonBytesDifferentialTest {

    static final int MUTANTS = Integer.getInteger("json.mutants", 60);
    static final long SEED = Long.getLong("json.seed", 20261127L);
    static final ObjectMapper JSON = new ObjectMapper();

    static final List<byte[]> seeds = new ArrayList<>();

    /** Counts, for the summary and the sanity checks. */
    static int inputs;
    static int accepted;
    static int rejected;
    static int readerCompared;

    @BeforeAll
    static void setUp() throws Exception {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(Path.of("src/test/resources"))) {
            files = walk.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path f : files) {
            byte[] bytes = Files.readAllBytes(f);
            seeds.add(JSON.readTree(bytes).has("request") ? bytes : review(bytes));
        }
        YAMLMapper yaml = new YAMLMapper();
        try (Stream<Path> walk = Files.walk(Path.of("src/test/resources/corpus"))) {
            int i = 0;
            for (Path f : walk.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                JsonNode manifest = yaml.readTree(Files.readAllBytes(f));
                // compact and indented, for the whitespace paths and line numbers
                seeds.add(review((i++ % 2 == 0 ? JSON.writer() : JSON.writerWithDefaultPrettyPrinter())
                        .writeValueAsBytes(manifest)));
            }
        }
        // objects with many keys, which the reader indexes
        StringBuilder big = new StringBuilder("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                + "\"name\":\"big\",\"labels\":{");
        for (int i = 0; i < 40; i++) {
            big.append(i == 0 ? "" : ",").append("\"example.com/label-").append(i).append("\":\"v").append(i)
                    .append('"');
        }
        big.append("}},\"data\":{");
        for (int i = 0; i < 120; i++) {
            big.append(i == 0 ? "" : ",").append("\"key").append(i).append("\":\"").append("x".repeat(i)).append('"');
        }
        seeds.add(review(utf8(big.append("}}").toString())));
        assertThat(files).hasSizeGreaterThan(60);
        assertThat(seeds).hasSizeGreaterThan(200);
    }

    /** A review of {@code object} (its bytes as they are). */
    static byte[] review(byte[] object) {
        return concat(utf8("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
                + "\"uid\":\"0\",\"operation\":\"CREATE\",\"resource\":{\"group\":\"\",\"version\":\"v1\","
                + "\"resource\":\"pods\"},\"object\":"), object, utf8("}}"));
    }

    @org.junit.jupiter.api.BeforeEach
    void resetCounts() {
        inputs = 0;
        accepted = 0;
        rejected = 0;
        readerCompared = 0;
    }

    static void printCounts(String what) {
        System.out.printf("JsonBytesDifferentialTest, %s: %d inputs, %d accepted and %d rejected by both; %d also "
                + "compared as bare values%n", what, inputs, accepted, rejected, readerCompared);
    }

    @Test
    void theReadersAgreeOnTheSeedsAndTheirMutants() throws Exception {
        Random random = new Random(SEED);
        for (byte[] seed : seeds) {
            check(seed);
            Shape shape = Shape.of(seed);
            for (int i = 0; i < MUTANTS; i++) {
                check(mutate(seed, shape, random));
            }
        }
        printCounts(seeds.size() + " seeds and " + MUTANTS + " mutants of each");
        assertThat(accepted).as("the mutants must include valid documents").isGreaterThan(inputs / 5);
        assertThat(rejected).as("and invalid ones").isGreaterThan(inputs / 5);
    }

    @Test
    void theReadersAgreeOnTargetedInputs() throws Exception {
        List<String> values = new ArrayList<>(List.of(VALUES));
        for (String value : values) {
            check(utf8("{\"request\":{\"object\":{\"x\":" + value + "}}}"));
            check(utf8("{\"request\":{\"object\":{\"x\":[" + value + "]}}}"));
            check(utf8("{\"request\":{\"uid\":" + value + "}}"));
            check(utf8("{\"k\":" + value + ",\"kind\":\"AdmissionReview\"}"));
        }
        for (String key : KEYS) {
            check(utf8("{\"request\":{\"object\":{" + key + ":1}}}"));
            check(utf8("{\"request\":{" + key + ":{}}}"));
        }
        for (String text : BODIES) {
            check(utf8(text));
        }
        byte[] pod = Files.readAllBytes(Path.of("src/test/resources/admission/create-pod.json"));
        check(concat(bytes(0xEF, 0xBB, 0xBF), pod));
        check(concat(bytes(0xEF, 0xBB), pod));
        for (String charset : new String[] {"UTF-16BE", "UTF-16LE", "UTF-32BE", "UTF-32LE"}) {
            check(new String(pod, StandardCharsets.UTF_8).getBytes(java.nio.charset.Charset.forName(charset)));
            check(("  " + new String(pod, StandardCharsets.UTF_8)).getBytes(java.nio.charset.Charset.forName(charset)));
        }
        for (byte[] bad : UTF8) {
            check(concat(utf8("{\"request\":{\"object\":{\"x\":\"a"), bad, utf8("b\"}}}")));
            check(concat(utf8("{\"request\":{\"object\":{\"a"), bad, utf8("b\":1}}}")));
            check(concat(utf8("{\"request\":{\"object\":{\"x\":\"a"), bad));
            check(concat(utf8("{\"request\":{\"object\":{\"a"), bad));
        }
        for (int depth = 195; depth <= 202; depth++) {
            check(utf8("{\"request\":{\"object\":{\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}}}"));
            check(utf8("{\"request\":{\"object\":" + "{\"a\":".repeat(depth) + "{}" + "}".repeat(depth) + "}}"));
        }
        check(utf8("{\"request\":{\"object\":{\"x\":" + "[".repeat(100_000)));
        int max = AdmissionService.LIMITS.maxStringLength();
        for (int length = max - 1; length <= max + 1; length++) {
            check(utf8("{\"request\":{\"object\":{\"x\":\"" + "a".repeat(length) + "\"}}}"));
            check(utf8("{\"request\":{\"object\":{\"x\":\"" + "a".repeat(length - 3) + "\\u00e9\\ud83d\\ude00\"}}}"));
            check(utf8("{\"request\":{\"object\":{\"x\":\"" + "a".repeat(length - 3) + "é😀\"}}}"));
        }
        int name = AdmissionService.LIMITS.maxNameLength();
        for (int length = name - 1; length <= name + 1; length++) {
            check(utf8("{\"request\":{\"object\":{\"" + "a".repeat(length) + "\":1}}}"));
            check(utf8("{\"request\":{\"object\":{\"" + "é".repeat(length / 2) + "a".repeat(length % 2) + "\":1}}}"));
            check(utf8("{\"request\":{\"object\":{\"" + "a".repeat(length - 6) + "\\u00e9\\ud83d\\ude00\":1}}}"));
        }
        printCounts("targeted inputs");
    }

    // ---- the comparison ---------------------------------------------------------------------------------------

    /** What a reading gave: the error message, or the envelope tree and the objects. */
    record Outcome(String error, JsonNode root, Object object, Object oldObject) {
    }

    static Outcome validation(byte[] body, boolean jackson) {
        AdmissionService.Objects objects = new AdmissionService.Objects();
        try {
            JsonNode root = jackson ? AdmissionService.parseForValidationWithJackson(body, objects)
                    : AdmissionService.parseForValidation(body, objects);
            return new Outcome(null, root, objects.object, objects.oldObject);
        } catch (AdmissionService.BadReview e) {
            return new Outcome(e.getMessage(), null, null, null);
        }
    }

    static final java.util.regex.Pattern LOCATED = java.util.regex.Pattern.compile("(?s).+ at line \\d+, column \\d+");

    static void check(byte[] body) throws Exception {
        inputs++;
        Outcome fast = validation(body, false);
        Outcome jackson = validation(body, true);
        if (fast.error() != null || jackson.error() != null) {
            if (fast.error() == null || jackson.error() == null) {
                fail("one reading rejects and the other accepts %s:%n  JsonBytes: %s%n  Jackson:   %s", preview(body),
                        fast.error(), jackson.error());
            }
            rejected++;
        } else {
            if (!fast.root().equals(jackson.root()) || !fast.root().toString().equals(jackson.root().toString())) {
                fail("the envelopes differ in %s:%n  JsonBytes: %s%n  Jackson:   %s", preview(body), fast.root(),
                        jackson.root());
            }
            same(fast.object(), jackson.object(), "object", body);
            same(fast.oldObject(), jackson.oldObject(), "oldObject", body);
            accepted++;
        }
        compareReaders(body);
    }

    /** {@link JsonBytes#read} against Jackson's parser and {@link CelJson#read}, on a body Jackson reads as UTF-8. */
    static void compareReaders(byte[] body) throws Exception {
        int p = 0;
        while (p < body.length && (body[p] == ' ' || body[p] == '\n' || body[p] == '\r' || body[p] == '\t')) {
            p++;
        }
        if (p == body.length || body[p] != '{' && body[p] != '[' || body[0] == 0 || body.length > 1 && body[1] == 0) {
            return;
        }
        readerCompared++;
        Object expected;
        String expectedError = null;
        try (JsonParser parser = AdmissionService.STREAM_MAPPER.createParser(body)) {
            parser.nextToken();
            expected = CelJson.read(parser);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            expected = null;
            expectedError = e.getOriginalMessage();
        }
        Object actual = null;
        String actualError = null;
        try {
            actual = JsonBytes.read(body, AdmissionService.LIMITS).value();
        } catch (JsonBytes.Malformed e) {
            actualError = e.getMessage();
            if (!LOCATED.matcher(actualError).matches()) {
                fail("no location in " + actualError);
            }
        }
        if (expectedError != null || actualError != null) {
            if (expectedError == null || actualError == null) {
                fail("one reader rejects and the other accepts %s:%n  JsonBytes: %s%n  Jackson:   %s", preview(body),
                        actualError, expectedError);
            }
            return;
        }
        same(actual, expected, "value", body);
    }

    /** Deep equality that also requires the same key order, the same number types, and interned keys. */
    static void same(Object actual, Object expected, String path, byte[] body) {
        String difference = difference(actual, expected, path);
        if (difference != null) {
            fail("the readers differ at %s in %s", difference, preview(body));
        }
    }

    /** Where {@code actual} differs from {@code expected}, or null. */
    static String difference(Object actual, Object expected, String path) {
        if (actual instanceof Map<?, ?> a && expected instanceof Map<?, ?> e) {
            if (a.size() != e.size() || !a.equals(e) || !e.equals(a) || a.hashCode() != e.hashCode()) {
                return path + ": " + a + " vs " + e;
            }
            Iterator<? extends Map.Entry<?, ?>> ea = a.entrySet().iterator();
            Iterator<? extends Map.Entry<?, ?>> ee = e.entrySet().iterator();
            while (ea.hasNext()) {
                Map.Entry<?, ?> x = ea.next();
                Map.Entry<?, ?> y = ee.next();
                if (!x.getKey().equals(y.getKey())) {
                    return path + ": key order " + a.keySet() + " vs " + e.keySet();
                }
                if (x.getKey() != ((String) x.getKey()).intern()) {
                    return path + ": key " + x.getKey() + " not interned";
                }
                String d = difference(x.getValue(), y.getValue(), path + "." + x.getKey());
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (actual instanceof List<?> a && expected instanceof List<?> e) {
            if (a.size() != e.size()) {
                return path + ": " + a + " vs " + e;
            }
            for (int i = 0; i < a.size(); i++) {
                String d = difference(a.get(i), e.get(i), path + "[" + i + "]");
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        if (actual == NullValue.NULL_VALUE || expected == NullValue.NULL_VALUE || actual == null
                || expected == null) {
            return actual == expected ? null : path + ": " + actual + " vs " + expected;
        }
        return actual.getClass() == expected.getClass() && actual.equals(expected) ? null
                : path + ": " + describe(actual) + " vs " + describe(expected);
    }

    static String describe(Object o) {
        return o.getClass().getSimpleName() + " " + (o instanceof String s ? s.chars()
                .mapToObj(c -> c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\u%04x", c))
                .collect(java.util.stream.Collectors.joining()) : o);
    }

    static String preview(byte[] body) {
        String s = new String(body, 0, Math.min(300, body.length), StandardCharsets.ISO_8859_1);
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            b.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02X", (int) c));
        }
        return "body of " + body.length + " bytes starting " + b;
    }

    // ---- inputs -----------------------------------------------------------------------------------------------

    /** Values, valid and not, for the places a value goes. */
    static final String[] VALUES = {
        "0", "-0", "0.0", "-0.0", "1E5", "1e5", "1e+5", "1e-5", "1.5E-3", "1e400", "-1e400", "1e-400", "4.9e-324",
        "2.2250738585072014E-308", "1.7976931348623157e308", "0.1", "123456789.123456789", "9007199254740993",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "9999999999999999999", "10000000000000000000",
        "18446744073709551616", "1" + "0".repeat(99), "1" + "0".repeat(100), "1." + "0".repeat(98),
        "1." + "0".repeat(99), "1e" + "1".repeat(99), "1" + "0".repeat(40) + "e" + "1".repeat(59), "1e1000000",
        "1e-1000000", "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1E-", "0x10", "1.5.2", "1e5e5", "--1",
        "NaN", "-NaN", "Infinity", "-Infinity", "true", "false", "null", "tru", "True", "nul", "nulll", "truex",
        "true1", "fals", "[]", "{}", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}",
        "{\"a\" 1}", "{'a':1}", "'a'", "\"\"", "\"a\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u0000\"",
        "\"\\u0041\\u00e9\\u20ac\\uffff\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude00\"", "\"\\ude00\\ud83d\"",
        "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\ud800x\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\U0041\"", "\"\\", "\"\\u", "\"\\u00", "\"a\tb\"", "\"a\nb\"", "\"a\u007fb\"", "\"é€😀\"", "/* c */1",
        "// c\n1", "# c\n1", "[1]//", "[[[[]]]]", "[{}, [], \"\", 0, null]", "{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}",
        "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"a\":2}}", "{\"a\":1,\"\\u0061\":2}", "{\"\":1,\"\":2}",
        " \t\r\n1 \t\r\n", "\r\n[\r1\r]", "\u00a01", "\f1", "1\u0000",
    };

    /** Keys, valid and not. */
    static final String[] KEYS = {
        "\"\"", "\"a\"", "\"metadata\"", "\"kubectl.kubernetes.io/last-applied-configuration\"", "\"" + "k".repeat(200)
            + "\"", "\"\\u0061\"", "\"a\\nb\"", "\"\\u00e9\"", "\"é\"", "\"€\"", "\"😀\"", "\"\\ud83d\\ude00\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800x\"", "\"\\ud800\\n\"", "\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"",
        "\"\\ude00\\ud83d\"", "\"\\u0000\"", "\"a\tb\"", "\"a\u007f\"", "'a'", "a", "1", "\"a", "\"a\\", "\"\\x\"",
    };

    /** Whole bodies: roots, envelopes, bytes around the document. */
    static final String[] BODIES = {
        "", " ", "{", "}", "[", "[]", "[{}]", "\"x\"", "1", "1x", "null", "true", " {}", "{}", "{} x", "{}}", "{}{",
        "{}\u0000", "{} /* c */", "\u0000{}", "\u0000\u0000{}", "{\u0000", "\f{}",
        "{\"kind\":\"AdmissionReview\"}", "{\"request\":5}", "{\"request\":null}", "{\"request\":[{\"object\":1}]}",
        "{\"request\":{\"object\":5}}", "{\"request\":{\"object\":[]}}", "{\"request\":{\"object\":\"x\"}}",
        "{\"request\":{\"object\":null,\"oldObject\":null}}", "{\"request\":{\"oldObject\":{\"a\":1}}}",
        "{\"request\":{\"object\":{},\"object\":{}}}", "{\"request\":{\"object\":null,\"object\":{}}}",
        "{\"request\":{\"uid\":\"u\",\"uid\":\"v\"}}", "{\"request\":{},\"request\":{}}",
        "{\"request\":{\"object\":5}, ]", "{\"request\":{\"options\":5}}", "{\"request\":{\"n\":12345678901234567890}}",
        "{\"request\":{\"n\":[1,2147483648,1.5,1e400,-0.0,-0,null,true,\"\"]}}",
        "{\"big\":123456789012345678901234567890,\"request\":{\"object\":{\"big\":1e999}}}",
        "{\"request\":{\"object\":{\"big\":123456789012345678901234567890}}}",
        "{\"request\":{\"userInfo\":{\"a\":null,\"a\":null}}}", "{\"request\":{\"object\":{\"a\":1}}} trailing",
        "{\"request\":{\"object\":{\"a\":1}}}}}}", "{\"request\":{\"object\":{\"a\":1}}", "{\"request\":{\"object\":",
        "{\"request\":{\"object\":{\"a\":1}} ,", "{\"a\":1 \"b\":2}", "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
    };

    static final byte[][] UTF8 = {
        bytes(0xC0, 0x80), bytes(0xC1, 0xBF), bytes(0xC2, 0x80), bytes(0xC2), bytes(0xC2, 0x22), bytes(0xC3, 0xA9),
        bytes(0xDF, 0xBF), bytes(0xE0, 0x80, 0x80), bytes(0xE0, 0x9F, 0xBF), bytes(0xE0, 0xA0, 0x80),
        bytes(0xE2, 0x82), bytes(0xE2, 0x82, 0xAC), bytes(0xE2, 0x28, 0xA1), bytes(0xED, 0x9F, 0xBF),
        bytes(0xED, 0xA0, 0x80), bytes(0xED, 0xBF, 0xBF), bytes(0xEE, 0x80, 0x80), bytes(0xEF, 0xBF, 0xBF),
        bytes(0xF0, 0x80, 0x80, 0x80), bytes(0xF0, 0x8F, 0xBF, 0xBF), bytes(0xF0, 0x90, 0x80, 0x80),
        bytes(0xF0, 0x9F, 0x98, 0x80), bytes(0xF0, 0x9F, 0x98), bytes(0xF4, 0x8F, 0xBF, 0xBF),
        bytes(0xF4, 0x90, 0x80, 0x80), bytes(0xF5, 0x80, 0x80, 0x80), bytes(0xF7, 0xBF, 0xBF, 0xBF),
        bytes(0xF8, 0x88, 0x80, 0x80, 0x80), bytes(0xFC, 0x84, 0x80, 0x80, 0x80, 0x80), bytes(0xFE), bytes(0xFF),
        bytes(0x80), bytes(0xBF), bytes(0x80, 0x80), bytes(0xC3, 0x5C), bytes(0xE2, 0x82, 0x5C),
    };

    /** Escapes and raw text for the inside of strings. */
    static final String[] STRING_INSERTS = {
        "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\ude00\\ud83d", "\\ud800\\u0041", "\\ud800\\n", "\\ud800\\ud800",
        "\\u0000", "\\u00e9", "\\uFFFF", "\\u20AC", "\\x", "\\u12", "\\uZZZZ", "\\/", "\\b\\f\\n\\r\\t", "\\\"",
        "\\\\", "\\", "é", "😀", "\t", "\u007f", "'",
    };

    // ---- mutations --------------------------------------------------------------------------------------------

    /** An object of a seed: where it opens and closes, and its own keys (with their quotes). */
    record Member(int start, int end, List<byte[]> keys) {
    }

    /** Where strings and objects are in a seed: the positions the targeted mutations use. */
    record Shape(List<Integer> keyStarts, List<Integer> valueStarts, List<Integer> objectStarts,
            List<Integer> objectDepths, List<Integer> numbers, List<Member> objects) {

        static Shape of(byte[] b) {
            List<Integer> keys = new ArrayList<>();
            List<Integer> values = new ArrayList<>();
            List<Integer> objectStarts = new ArrayList<>();
            List<Integer> depths = new ArrayList<>();
            List<Integer> numbers = new ArrayList<>();
            List<Member> objects = new ArrayList<>();
            java.util.ArrayDeque<Object[]> open = new java.util.ArrayDeque<>(); // {start, keys} or {start, null}
            for (int i = 0; i < b.length; i++) {
                byte c = b[i];
                if (c == '"') {
                    int start = i + 1;
                    int j = start;
                    while (j < b.length && b[j] != '"') {
                        j += b[j] == '\\' ? 2 : 1;
                    }
                    int k = j + 1;
                    while (k < b.length && (b[k] == ' ' || b[k] == '\n')) {
                        k++;
                    }
                    boolean key = k < b.length && b[k] == ':';
                    (key ? keys : values).add(start);
                    if (key && !open.isEmpty() && open.peek()[1] != null && j < b.length) {
                        @SuppressWarnings("unchecked")
                        List<byte[]> own = (List<byte[]>) open.peek()[1];
                        own.add(java.util.Arrays.copyOfRange(b, i, j + 1));
                    }
                    i = j;
                } else if (c == '{' || c == '[') {
                    open.push(new Object[] {i, c == '{' ? new ArrayList<byte[]>() : null});
                    if (c == '{') {
                        objectStarts.add(i);
                        depths.add(open.size());
                    }
                } else if (c == '}' || c == ']') {
                    Object[] top = open.pop();
                    if (top[1] != null) {
                        @SuppressWarnings("unchecked")
                        List<byte[]> own = (List<byte[]>) top[1];
                        objects.add(new Member((Integer) top[0], i, own));
                    }
                } else if (c >= '0' && c <= '9' || c == '-') {
                    numbers.add(i);
                }
            }
            return new Shape(keys, values, objectStarts, depths, numbers, objects);
        }
    }

    static byte[] mutate(byte[] seed, Shape shape, Random r) {
        switch (r.nextInt(16)) {
            case 0: { // byte flips
                byte[] b = seed.clone();
                for (int n = 1 + r.nextInt(3); n > 0; n--) {
                    b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                }
                return b;
            }
            case 1: { // bit flip
                byte[] b = seed.clone();
                b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                return b;
            }
            case 2: // truncation
                return java.util.Arrays.copyOf(seed, r.nextInt(seed.length));
            case 3: // a control character anywhere
                return insert(seed, r.nextInt(seed.length + 1), bytes(r.nextInt(0x20)));
            case 4: // invalid or odd UTF-8 in a key or a value
                return insert(seed, stringPosition(shape, seed, r), UTF8[r.nextInt(UTF8.length)]);
            case 5: // escapes and surrogates in a key or a value
                return insert(seed, stringPosition(shape, seed, r),
                        utf8(STRING_INSERTS[r.nextInt(STRING_INSERTS.length)]));
            case 6: { // a member with an odd value at the start of some object
                String value = r.nextInt(4) == 0 ? randomNumber(r) : VALUES[r.nextInt(VALUES.length)];
                return insert(seed, objectPosition(shape, r) + 1, utf8("\"zz\":" + value + ","));
            }
            case 7: { // a duplicate of one of an object's keys, at its start or at its end
                List<Member> withKeys = shape.objects().stream().filter(m -> !m.keys().isEmpty()).toList();
                if (withKeys.isEmpty()) {
                    return seed;
                }
                Member m = r.nextBoolean() ? withKeys.get(r.nextInt(withKeys.size()))
                        : withKeys.stream().max(java.util.Comparator.comparingInt(x -> x.keys().size())).orElseThrow();
                byte[] key = m.keys().get(r.nextInt(m.keys().size()));
                byte[] value = utf8(r.nextBoolean() ? "1" : "{\"x\":[]}");
                return r.nextBoolean() ? insert(seed, m.start() + 1, concat(key, utf8(":"), value, utf8(",")))
                        : insert(seed, m.end(), concat(utf8(","), key, utf8(":"), value));
            }
            case 8: { // nesting around the limit, counted from where it goes
                int i = r.nextInt(shape.objectStarts().size());
                int depth = AdmissionService.MAX_DEPTH - shape.objectDepths().get(i) - 1 + r.nextInt(4);
                String nest = r.nextBoolean() ? "[".repeat(depth) + "]".repeat(depth)
                        : "{\"n\":".repeat(depth) + "0" + "}".repeat(depth);
                return insert(seed, shape.objectStarts().get(i) + 1, utf8("\"deep\":" + nest + ","));
            }
            case 9: { // a number replaced
                if (shape.numbers().isEmpty()) {
                    return seed;
                }
                int at = shape.numbers().get(r.nextInt(shape.numbers().size()));
                int end = at;
                while (end < seed.length && "0123456789+-.eE".indexOf(seed[end]) >= 0) {
                    end++;
                }
                return replace(seed, at, end, utf8(randomNumber(r)));
            }
            case 10: { // bytes around the document
                byte[] junk = r.nextBoolean() ? utf8(BODIES[r.nextInt(BODIES.length)])
                        : bytes(r.nextInt(256), r.nextInt(256));
                return r.nextBoolean() ? concat(seed, junk) : concat(junk, seed);
            }
            case 11: { // a byte deleted or doubled
                int at = r.nextInt(seed.length);
                return r.nextBoolean() ? replace(seed, at, at + 1, new byte[0])
                        : insert(seed, at, bytes(seed[at] & 0xFF));
            }
            case 12: // structural punctuation somewhere
                return insert(seed, r.nextInt(seed.length + 1),
                        utf8(String.valueOf(PUNCTUATION.charAt(r.nextInt(PUNCTUATION.length())))));
            case 13: { // the objects of the request turned into something else
                String[] fields = {"\"object\":", "\"oldObject\":", "\"options\":", "\"request\":", "\"uid\":"};
                String field = fields[r.nextInt(fields.length)];
                int at = indexOf(seed, utf8(field));
                if (at < 0) {
                    return seed;
                }
                String[] replacements = {"5,\"was\":", "null,\"was\":", "[],\"was\":", "\"x\",\"was\":",
                    "12345678901234567890123,\"was\":", "{},\"was\":"};
                return insert(seed, at + field.length(), utf8(replacements[r.nextInt(replacements.length)]));
            }
            case 14: { // whitespace, odd and not, between tokens
                String[] spaces = {" ", "\n", "\r\n", "\r", "\t", "\f", "\u00a0", "\u000b"};
                return insert(seed, r.nextInt(seed.length + 1), utf8(spaces[r.nextInt(spaces.length)]));
            }
            default: { // a string value replaced by a long one
                if (shape.valueStarts().isEmpty()) {
                    return seed;
                }
                int at = shape.valueStarts().get(r.nextInt(shape.valueStarts().size()));
                String content = "x".repeat(r.nextInt(200)) + STRING_INSERTS[r.nextInt(STRING_INSERTS.length)]
                        + "y".repeat(r.nextInt(40));
                return insert(seed, at, utf8(content));
            }
        }
    }

    static final String PUNCTUATION = ",:[]{}\"\\ 0";

    static String randomNumber(Random r) {
        StringBuilder b = new StringBuilder();
        if (r.nextInt(3) == 0) {
            b.append('-');
        }
        int digits = switch (r.nextInt(4)) {
            case 0 -> 1 + r.nextInt(18);
            case 1 -> 18 + r.nextInt(4);
            case 2 -> 95 + r.nextInt(8);
            default -> 1 + r.nextInt(120);
        };
        b.append(r.nextInt(10) == 0 ? '0' : (char) ('1' + r.nextInt(9)));
        for (int i = 1; i < digits; i++) {
            b.append((char) ('0' + r.nextInt(10)));
        }
        if (r.nextInt(3) == 0) {
            b.append('.');
            for (int i = r.nextInt(r.nextInt(10) == 0 ? 60 : 8); i >= 0; i--) {
                b.append((char) ('0' + r.nextInt(10)));
            }
        }
        if (r.nextInt(3) == 0) {
            b.append(r.nextBoolean() ? 'e' : 'E').append(r.nextBoolean() ? "" : r.nextBoolean() ? "+" : "-");
            for (int i = r.nextInt(r.nextInt(10) == 0 ? 8 : 3); i >= 0; i--) {
                b.append((char) ('0' + r.nextInt(10)));
            }
        }
        return b.toString();
    }

    /** Just inside a key or a value, somewhere along it. */
    static int stringPosition(Shape shape, byte[] seed, Random r) {
        List<Integer> starts = r.nextBoolean() && !shape.keyStarts().isEmpty() ? shape.keyStarts()
                : shape.valueStarts().isEmpty() ? shape.keyStarts() : shape.valueStarts();
        if (starts.isEmpty()) {
            return r.nextInt(seed.length + 1);
        }
        int at = starts.get(r.nextInt(starts.size()));
        int end = indexOf(seed, (byte) '"', at);
        return end <= at ? at : at + r.nextInt(end - at + 1);
    }

    static int objectPosition(Shape shape, Random r) {
        return shape.objectStarts().get(r.nextInt(shape.objectStarts().size()));
    }

    static int indexOf(byte[] b, byte c, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    static int indexOf(byte[] b, byte[] s) {
        outer:
        for (int i = 0; i + s.length <= b.length; i++) {
            for (int j = 0; j < s.length; j++) {
                if (b[i + j] != s[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static byte[] insert(byte[] b, int at, byte[] what) {
        return replace(b, at, at, what);
    }

    static byte[] replace(byte[] b, int from, int to, byte[] what) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + what.length);
        out.write(b, 0, from);
        out.write(what, 0, what.length);
        out.write(b, to, b.length - to);
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
