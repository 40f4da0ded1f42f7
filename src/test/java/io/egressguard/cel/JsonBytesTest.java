package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.cel.common.values.NullValue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules of {@link JsonBytes} one by one; {@code JsonBytesDifferentialTest} holds it to Jackson on many inputs.
 */
class JsonBytesTest {

    static final JsonBytes.Limits LIMITS = new JsonBytes.Limits(200, 4 * 1024 * 1024, 100, 50_000);

    static Object read(String json) throws JsonBytes.Malformed {
        return read(json.getBytes(StandardCharsets.UTF_8));
    }

    static Object read(byte[] json) throws JsonBytes.Malformed {
        return JsonBytes.read(json, LIMITS).value();
    }

    static Object value(String json) throws JsonBytes.Malformed {
        return ((Map<?, ?>) read("{\"v\":" + json + "}")).get("v");
    }

    static JsonBytes.Malformed error(String json) {
        return error(json.getBytes(StandardCharsets.UTF_8), LIMITS);
    }

    static JsonBytes.Malformed error(byte[] json, JsonBytes.Limits limits) {
        try {
            Object value = JsonBytes.read(json, limits).value();
            return fail("read " + value + " from " + new String(json, StandardCharsets.ISO_8859_1));
        } catch (JsonBytes.Malformed e) {
            return e;
        }
    }

    static byte[] bytes(String before, int[] middle, String after) {
        byte[] b = before.getBytes(StandardCharsets.UTF_8);
        byte[] a = after.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[b.length + middle.length + a.length];
        System.arraycopy(b, 0, out, 0, b.length);
        for (int i = 0; i < middle.length; i++) {
            out[b.length + i] = (byte) middle[i];
        }
        System.arraycopy(a, 0, out, b.length + middle.length, a.length);
        return out;
    }

    // ---- values

    @Test
    void valuesAreCelValues() throws Exception {
        Map<?, ?> m = (Map<?, ?>) read("{\"s\":\"x\",\"t\":true,\"f\":false,\"n\":null,\"i\":42,\"d\":1.5,"
                + "\"o\":{\"a\":1},\"l\":[1,\"x\"]}");
        assertThat(m.get("s")).isEqualTo("x");
        assertThat(m.get("t")).isSameAs(Boolean.TRUE);
        assertThat(m.get("f")).isSameAs(Boolean.FALSE);
        assertThat(m.get("n")).isSameAs(NullValue.NULL_VALUE);
        assertThat(m.get("i")).isEqualTo(42L);
        assertThat(m.get("d")).isEqualTo(1.5);
        assertThat(m.get("o")).isEqualTo(Map.of("a", 1L));
        assertThat(m.get("l")).isEqualTo(List.of(1L, "x")).isInstanceOf(ArrayList.class);
    }

    @Test
    void integersThatFitInALongAreLongsLargerOnesDoubles() throws Exception {
        assertThat(value("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
        assertThat(value("-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
        assertThat(value("-0")).isEqualTo(0L);
        assertThat(value("1000000000000000000")).isEqualTo(1_000_000_000_000_000_000L);
        assertThat(value("9223372036854775808")).isEqualTo(9.223372036854775808E18);
        assertThat(value("-9223372036854775809")).isEqualTo(-9.223372036854775809E18);
        assertThat(value("99999999999999999999")).isEqualTo(1e20);
        assertThat(JsonBytes.read("[9223372036854775807]".getBytes(StandardCharsets.UTF_8), LIMITS).bigInteger())
                .isFalse();
        assertThat(JsonBytes.read("[9223372036854775808]".getBytes(StandardCharsets.UTF_8), LIMITS).bigInteger())
                .isTrue();
    }

    @Test
    void numbersWithAFractionOrAnExponentAreDoubles() throws Exception {
        assertThat(value("1E5")).isEqualTo(100000.0);
        assertThat(value("1e+5")).isEqualTo(100000.0);
        assertThat(value("0.1")).isEqualTo(0.1);
        assertThat(value("-0.0")).isEqualTo(-0.0).isNotEqualTo(0.0);
        assertThat(value("-0e0")).isEqualTo(-0.0);
        assertThat(value("1e400")).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(value("-1e400")).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(value("1e-400")).isEqualTo(0.0);
        assertThat(value("4.9e-324")).isEqualTo(Double.MIN_VALUE);
        assertThat(value("9007199254740993.0")).isEqualTo(9007199254740992.0);
    }

    @Test
    void emptyContainersAreTheSharedEmptyCollections() throws Exception {
        assertThat(read("{}")).isSameAs(Collections.emptyMap());
        assertThat(read("[]")).isSameAs(Collections.emptyList());
        assertThat(value("{ }")).isSameAs(Collections.emptyMap());
        assertThat(value("[\n]")).isSameAs(Collections.emptyList());
    }

    @Test
    void objectsKeepDocumentOrderAndCannotBeChanged() throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) read("{\"z\":1,\"a\":2,\"m\":3}");
        assertThat(m.keySet()).containsExactly("z", "a", "m");
        assertThatThrownBy(() -> m.put("b", 4L)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void keysAreInterned() throws Exception {
        String metadata = new String("metadata".toCharArray());
        for (String json : new String[] {"{\"metadata\":1}", "{\"\\u006detadata\":1}", "{\"metad\\u0061ta\":1}"}) {
            Map<?, ?> m = (Map<?, ?>) read(json);
            assertThat(m.keySet().iterator().next()).isSameAs("metadata");
            assertThat(m.get(metadata)).isEqualTo(1L);
        }
        String longKey = "k".repeat(300);
        for (String key : new String[] {"é", "😀", "a\nb", "", longKey, "x".repeat(16), "y".repeat(17)}) {
            String json = "{\"" + key.replace("\n", "\\n") + "\":1}";
            Object first = ((Map<?, ?>) read(json)).keySet().iterator().next();
            Object second = ((Map<?, ?>) read(json)).keySet().iterator().next();
            assertThat(first).isEqualTo(key).isSameAs(key.intern()).isSameAs(second);
        }
    }

    @Test
    void stringsDecodeEscapesAndUtf8() throws Exception {
        assertThat(value("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"")).isEqualTo("\"\\/\b\f\n\r\t");
        assertThat(value("\"\\u0041\\u00e9\\u20AC\\uffff\\u0000\"")).isEqualTo("Aé€\uffff\u0000");
        assertThat(value("\"é€😀\u007f\"")).isEqualTo("é€😀\u007f");
        assertThat(value("\"\\ud83d\\ude00\"")).isEqualTo("😀");
        assertThat(value("\"" + "plain ascii".repeat(20) + "é\"")).isEqualTo("plain ascii".repeat(20) + "é");
    }

    @Test
    void aLoneSurrogateEscapeStaysInAValueAndIsAnErrorInAKeyAsInJackson() throws Exception {
        assertThat(value("\"\\ud800\"")).isEqualTo("\ud800");
        assertThat(value("\"\\udc00x\"")).isEqualTo("\udc00x");
        assertThat(value("\"\\ude00\\ud83d\"")).isEqualTo("\ude00\ud83d");
        assertThat(error("{\"\\ud800\":1}").problem())
                .isEqualTo("Broken surrogate pair in field name: expected '\\' to start low surrogate, got 0x22");
        assertThat(error("{\"\\ud800\\u0041\":1}").problem())
                .isEqualTo("Broken surrogate pair in field name: expected low surrogate, got 0x0041");
        assertThat(error("{\"\\udc00\":1}").problem()).isEqualTo("Unexpected low surrogate in field name: 0xdc00");
        assertThat(((Map<?, ?>) read("{\"\\ud83d\\ude00\":1}")).keySet().iterator().next()).isEqualTo("😀");
    }

    @Test
    void utf8IsDecodedAsJacksonDecodesItOverlongFormsIncluded() throws Exception {
        assertThat(read(bytes("[\"", new int[] {0xC0, 0x80}, "\"]"))).isEqualTo(List.of("\u0000"));
        assertThat(read(bytes("[\"", new int[] {0xE0, 0x80, 0xAF}, "\"]"))).isEqualTo(List.of("/"));
        assertThat(read(bytes("[\"", new int[] {0xF0, 0x80, 0x80, 0x80}, "\"]"))).isEqualTo(List.of("\uffc0\udc00"));
        assertThat(read(bytes("[\"", new int[] {0xF5, 0x80, 0x80, 0x80}, "\"]"))).isEqualTo(List.of("\udcc0\udc00"));
        // Jackson's key decoding computes the high surrogate differently from its value decoding
        assertThat(((Map<?, ?>) read(bytes("{\"", new int[] {0xF0, 0x80, 0x80, 0x80}, "\":1}"))).keySet().iterator()
                .next()).isEqualTo("\ud7c0\udc00");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "FF|Invalid UTF-8 start byte 0xff", "80|Invalid UTF-8 start byte 0x80",
        "F8 88 80 80 80|Invalid UTF-8 start byte 0xf8", "C3 28|Invalid UTF-8 middle byte 0x28",
        "E2 82|Invalid UTF-8 middle byte 0x22", "ED A0 80|Invalid UTF-8: Illegal surrogate character 0xd800",
        "ED BF BF|Invalid UTF-8: Illegal surrogate character 0xdfff",
    })
    void invalidUtf8IsRejected(String testCase) {
        String[] parts = testCase.split("\\|");
        String[] hex = parts[0].split(" ");
        int[] middle = new int[hex.length];
        for (int i = 0; i < hex.length; i++) {
            middle[i] = Integer.parseInt(hex[i], 16);
        }
        assertThat(error(bytes("[\"a", middle, "\"]"), LIMITS).problem()).isEqualTo(parts[1]);
        assertThat(error(bytes("{\"a", middle, "\":1}"), LIMITS).getMessage()).contains("at line 1");
        assertThat(error(bytes("[\"a", middle, ""), LIMITS).getMessage()).contains("at line 1");
    }

    @Test
    void theWordTestFindsTheFirstByteThatEndsAPlainString() {
        java.util.Random random = new java.util.Random(7);
        byte[] word = new byte[8];
        for (int i = 0; i < 200_000; i++) {
            for (int j = 0; j < 8; j++) {
                // mostly plain ASCII, with every byte value somewhere
                word[j] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : 0x20 + random.nextInt(0x60));
            }
            int expected = 8;
            for (int j = 0; j < 8; j++) {
                int b = word[j] & 0xFF;
                if (b == '"' || b == '\\' || b < 0x20 || b >= 0x80) {
                    expected = j;
                    break;
                }
            }
            long special = JsonBytes.special(JsonBytes.word(word, 0));
            assertThat(special == 0 ? 8 : Long.numberOfTrailingZeros(special) >>> 3).isEqualTo(expected);
        }
    }

    // ---- syntax

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":NaN}", "[Infinity]", "[-Infinity]", "['a']", "{'a':1}",
        "{a:1}", "[1,]", "{\"a\":1,}", "[,1]", "[1 2]", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "/*c*/{}", "[1/*c*/]",
        "# c\n{}", "{\"a\":\"\t\"}", "{\"a\":\"\n\"}", "{\"a\u0001\":1}", "[tru]", "[truex]",
        "[nul]", "[True]", "[+1]", "[.5]", "[1.]", "[1e]", "[1e+]", "[-]", "[0x10]", "[1.5.2]", "[\"\\x\"]",
        "[\"\\u12\"]", "[\"\\u12G4\"]", "[\"\\U0041\"]", "[", "{", "{\"a\"", "{\"a\":", "[\"abc", "[\"\\",
        "[\"\\u00", "{\"a\":1", "[1", "[\f1]", "[\u00a01]", "[\u0000]", "\u0000{}", "x", "",
    })
    void onlyStrictJsonIsRead(String json) {
        JsonBytes.Malformed e = error(json);
        assertThat(e.getMessage()).matches("(?s).+ at line \\d+, column \\d+");
    }

    @Test
    void duplicateKeysAreRejectedAtEveryLevel() throws Exception {
        assertThat(error("{\"a\":1,\"a\":2}").getMessage()).isEqualTo("Duplicate field 'a' at line 1, column 8");
        assertThat(error("{\"o\":{\"b\":[{\"c\":1,\"c\":1}]}}").problem()).isEqualTo("Duplicate field 'c'");
        assertThat(error("{\"a\":1,\"\\u0061\":2}").problem()).isEqualTo("Duplicate field 'a'");
        assertThat(error("{\"\":1,\"\":2}").problem()).isEqualTo("Duplicate field ''");
        StringBuilder many = new StringBuilder("{");
        for (int i = 0; i < 40; i++) {
            many.append("\"k").append(i).append("\":").append(i).append(',');
        }
        assertThat(((Map<?, ?>) read(many + "\"k40\":40}")).size()).isEqualTo(41);
        assertThat(error(many + "\"k3\":3}").problem()).isEqualTo("Duplicate field 'k3'");
        assertThat(error(many + "\"k39\":3}").problem()).isEqualTo("Duplicate field 'k39'");
        assertThat(read("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}")).isNotNull();
    }

    @Test
    void objectsWithManyKeysWhoseHashCodesCollideAreReadQuickly() throws Exception {
        List<String> keys = ArrayMapTest.colliding(15);
        StringBuilder json = new StringBuilder("{");
        for (int i = 0; i < keys.size(); i++) {
            json.append(i == 0 ? "" : ",").append('"').append(keys.get(i)).append("\":").append(i);
        }
        long start = System.nanoTime();
        Map<?, ?> m = (Map<?, ?>) read(json + "}");
        assertThat(m).hasSize(keys.size());
        assertThat(m.get(keys.get(30_000))).isEqualTo(30_000L);
        assertThat(error(json + ",\"" + keys.get(20_000) + "\":1}").problem())
                .isEqualTo("Duplicate field '" + keys.get(20_000) + "'");
        assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
    }

    @Test
    void nestingDeeperThanTheLimitIsRejectedWithoutOverflowingTheStack() throws Exception {
        assertThat(read("[".repeat(200) + "]".repeat(200))).isNotNull();
        assertThat(read("{\"a\":".repeat(199) + "[]" + "}".repeat(199))).isNotNull();
        assertThat(error("[".repeat(201) + "]".repeat(201)).problem())
                .isEqualTo("Document nesting depth (201) exceeds the maximum allowed (200)");
        assertThat(error("{\"a\":".repeat(200) + "{}" + "}".repeat(200)).problem()).startsWith("Document nesting");
        assertThat(error("[".repeat(1_000_000)).problem()).startsWith("Document nesting depth (201)");
        assertThat(error("[{\"a\":".repeat(500_000)).problem()).startsWith("Document nesting depth (201)");
    }

    @Test
    void stringNumberAndNameLengthsAreLimited() throws Exception {
        JsonBytes.Limits small = new JsonBytes.Limits(10, 5, 3, 4);
        String fits = "[\"abcde\",\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"😀😀é\"]";
        assertThat(JsonBytes.read(utf8(fits), small).value())
                .isEqualTo(List.of("abcde", "ééééé", "😀😀é"));
        assertThat(error(utf8("[\"abcdef\"]"), small).problem())
                .isEqualTo("String value length (6) exceeds the maximum allowed (5)");
        assertThat(error(utf8("[\"😀😀éé\"]"), small).problem()).startsWith("String value length (6)");
        assertThat(error(utf8("[\"abcd\\n\\n\"]"), small).problem()).startsWith("String value length (6)");
        assertThat(JsonBytes.read(utf8("[123,-123,1.23,1e12,-1.2e3]"), small).value()).isNotNull();
        assertThat(error(utf8("[1234]"), small).problem())
                .isEqualTo("Number value length (4) exceeds the maximum allowed (3)");
        assertThat(error(utf8("[1.234]"), small).problem()).startsWith("Number value length (4)");
        assertThat(error(utf8("[1.2e+34]"), small).problem()).startsWith("Number value length (4)");
        assertThat(JsonBytes.read(utf8("{\"abcd\":1,\"éé\":2,\"\\u00e9a\":3}"), small).value()).isNotNull();
        assertThat(error(utf8("{\"abcde\":1}"), small).problem())
                .isEqualTo("Name length (5) exceeds the maximum allowed (4)");
        assertThat(error(utf8("{\"ééa\":1}"), small).problem()).startsWith("Name length (5)");
        assertThat(error(utf8("{\"\\u00e9\\u00e9a\":1}"), small).problem()).startsWith("Name length (5)");
        assertThat(error(utf8("{\"😀a\":1}"), small).problem()).startsWith("Name length (5)");
    }

    @Test
    void whatFollowsTheValueIsNotRead() throws Exception {
        JsonBytes.Result r = JsonBytes.read(utf8("  {\"a\":[1]} }garbage\u0000"), LIMITS);
        assertThat(r.value()).isEqualTo(Map.of("a", List.of(1L)));
        assertThat(r.end()).isEqualTo(11);
    }

    @Test
    void startsWithObjectLooksPastJsonWhitespaceOnly() {
        assertThat(JsonBytes.startsWithObject(utf8(" \t\r\n{"))).isTrue();
        assertThat(JsonBytes.startsWithObject(utf8("\f{"))).isFalse();
        assertThat(JsonBytes.startsWithObject(utf8("[{}]"))).isFalse();
        assertThat(JsonBytes.startsWithObject(utf8("  "))).isFalse();
        assertThat(JsonBytes.startsWithObject(new byte[0])).isFalse();
    }

    // ---- errors

    @Test
    void errorsSayWhatAndWhere() {
        JsonBytes.Malformed e = error("{\n  \"a\": 01\n}");
        assertThat(e.getMessage()).isEqualTo("Invalid numeric value: Leading zeroes not allowed at line 2, column 9");
        assertThat(e.problem()).isEqualTo("Invalid numeric value: Leading zeroes not allowed");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.column()).isEqualTo(9);
        assertThat(e.getStackTrace()).isEmpty();
        assertThat(error("{\r\n\"a\":1,\r\n\"a\":2}").getMessage())
                .isEqualTo("Duplicate field 'a' at line 3, column 1");
        assertThat(error("{\r\"a\":1,\r\"a\":2}").getMessage()).isEqualTo("Duplicate field 'a' at line 3, column 1");
        assertThat(error("[1,\n2,\n").getMessage()).isEqualTo("Unexpected end-of-input: expected a value at line 3, "
                + "column 1");
        assertThat(error("[1;2]").getMessage()).isEqualTo("Unexpected character (';' (code 59)): was expecting comma "
                + "to separate Array entries at line 1, column 3");
        assertThat(error("{\"a\":\"x\ty\"}").getMessage()).isEqualTo("Illegal unquoted character ((CTRL-CHAR, code "
                + "9)): has to be escaped using backslash to be included in string value at line 1, column 8");
        assertThat(error("[\u0001]").getMessage()).isEqualTo("Illegal character ((CTRL-CHAR, code 1)): only regular "
                + "white space (\\r, \\n, \\t) is allowed between tokens at line 1, column 2");
        assertThat(error("[tru]").problem()).startsWith("Unrecognized token 'tru'");
        assertThat(error("[\"\\q\"]").problem()).isEqualTo("Unrecognized character escape 'q' (code 113)");
    }

    @Test
    void everyTruncationAndEveryByteAnywhereGivesAValueOrAMalformed() throws Exception {
        byte[] review = Files.readAllBytes(Path.of("src/test/resources/admission/create-pod.json"));
        for (int length = 0; length < review.length; length++) {
            readOrMalformed(java.util.Arrays.copyOf(review, length));
        }
        byte[] small = utf8("{\"a\":[\"x\\n\",1.5e3,-2,true,null,{\"é\":\"😀\"}],\"b\":{}}");
        for (int at = 0; at < small.length; at++) {
            for (int b = 0; b < 256; b++) {
                byte[] changed = small.clone();
                changed[at] = (byte) b;
                readOrMalformed(changed);
            }
        }
    }

    static void readOrMalformed(byte[] json) {
        try {
            JsonBytes.read(json, LIMITS);
        } catch (JsonBytes.Malformed e) {
            assertThat(e.getMessage()).matches("(?s).+ at line \\d+, column \\d+");
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
