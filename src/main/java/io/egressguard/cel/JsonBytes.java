package io.egressguard.cel;

import dev.cel.common.values.NullValue;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads JSON from bytes straight into the CEL values {@link CelJson} describes, without a tokenizer or a tree in
 * between: objects become maps in document order, arrays lists, strings {@link String}, {@code true}/{@code false}
 * {@link Boolean}, integers that fit in 64 bits {@link Long}, other numbers {@link Double}, {@code null}
 * {@link NullValue#NULL_VALUE}; empty objects and arrays are the shared immutable empty collections.
 *
 * <p>It accepts and rejects what Jackson's UTF-8 parser (2.21, default features, duplicate keys rejected) accepts
 * and rejects under the same {@link Limits}, and it decodes what it accepts to the same values, down to Jackson's
 * handling of odd input: strict RFC 8259 syntax (no comments, NaN, leading zeros, single quotes, trailing commas or
 * unescaped control characters); UTF-8 decoded as Jackson decodes it, which rejects bad lead and continuation bytes,
 * truncated sequences and encoded surrogates but lets overlong forms through; {@code \\uXXXX} escapes taken one by
 * one in string values (a lone surrogate stays), in pairs in names (a lone one is an error); number lengths counted
 * as Jackson counts them (the digits of a float's integer, fraction and exponent parts); name lengths in UTF-8
 * bytes. The differential test ({@code JsonBytesDifferentialTest}) holds the two readers to this.
 *
 * <p>Objects are immutable {@link ArrayMap}s (or, for keys whose hash codes collide too much,
 * {@link java.util.LinkedHashMap}s); arrays {@link ArrayList}s; the caller must not change either while an evaluation
 * uses them (as {@link CelJson}'s).
 *
 * <p>Object keys are canonical: equal key text gives the same, interned, {@link String} instance (as Jackson
 * interns names), so lookups with interned names, as {@link FastProgram}'s, hit by identity. A small table keyed
 * by the key's bytes finds the instance without calling {@link String#intern()} for keys seen before.
 *
 * <p>Every error is a {@link Malformed} that says what is wrong and where (line and column, counted in bytes as
 * Jackson counts them); nesting is bounded by {@link Limits#maxDepth()}, so the recursion is too.
 */
public final class JsonBytes {

    /**
     * The reader's limits, as Jackson's {@code StreamReadConstraints}.
     *
     * @param maxDepth the deepest nesting of objects and arrays (the outermost container is depth 1)
     * @param maxStringLength the longest string value, in UTF-16 chars
     * @param maxNumberLength the most digits in a number (a float's integer, fraction and exponent digits)
     * @param maxNameLength the longest object key, in UTF-8 bytes
     */
    public record Limits(int maxDepth, int maxStringLength, int maxNumberLength, int maxNameLength) {
    }

    /**
     * A value read.
     *
     * @param value the CEL value
     * @param end the position just after the value
     * @param bigInteger whether an integer literal outside the range of {@code long} was read as a {@link Double}
     */
    public record Result(Object value, int end, boolean bigInteger) {
    }

    /** Input that is not JSON, or exceeds a limit. */
    public static final class Malformed extends Exception {
        private final String problem;
        private final int line;
        private final int column;

        Malformed(String problem, int line, int column) {
            super(problem + " at line " + line + ", column " + column, null, false, false);
            this.problem = problem;
            this.line = line;
            this.column = column;
        }

        /** What is wrong, without the location. */
        public String problem() {
            return problem;
        }

        /** The line of the offending byte, from 1. */
        public int line() {
            return line;
        }

        /** The column of the offending byte, from 1, in bytes. */
        public int column() {
            return column;
        }
    }

    private static final String VALUE_EXPECTED =
            "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

    private final byte[] buf;
    private final int end;
    private final Limits limits;
    /** The next byte to read. */
    private int pos;
    /** The entries of the containers being read: key, value pairs for objects, values for arrays. */
    private Object[] stack = new Object[256];
    private int sp;
    /** The chars of a string being decoded (one with escapes or non-ASCII bytes). */
    private char[] chars = new char[64];
    private boolean bigInteger;

    private JsonBytes(byte[] buf, Limits limits) {
        this.buf = buf;
        this.end = buf.length;
        this.limits = limits;
    }

    /**
     * Reads the value that starts at the first non-whitespace byte. Bytes after the value are not looked at, as a
     * streaming parser that stops at the value's end does not look at them.
     */
    public static Result read(byte[] body, Limits limits) throws Malformed {
        JsonBytes reader = new JsonBytes(body, limits);
        reader.pos = reader.skipWhitespace(0);
        Object value = reader.value(0);
        return new Result(value, reader.pos, reader.bigInteger);
    }

    /** Whether the first byte of {@code body} that is not JSON whitespace opens an object. */
    public static boolean startsWithObject(byte[] body) {
        int p = 0;
        while (p < body.length && isWhitespace(body[p])) {
            p++;
        }
        return p < body.length && body[p] == '{';
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    private int skipWhitespace(int p) {
        byte[] buf = this.buf;
        int end = this.end;
        while (p < end) {
            byte b = buf[p];
            if (b > ' ' || !isWhitespace(b)) {
                return p;
            }
            p++;
        }
        return p;
    }

    /** The value at {@code pos}, which is not whitespace; leaves {@code pos} just after it. */
    private Object value(int depth) throws Malformed {
        if (pos >= end) {
            throw eof("expected a value");
        }
        byte b = buf[pos];
        switch (b) {
            case '"':
                return string();
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case 't':
                literal("true");
                return Boolean.TRUE;
            case 'f':
                literal("false");
                return Boolean.FALSE;
            case 'n':
                literal("null");
                return NullValue.NULL_VALUE;
            case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
            case '9':
                return number();
            default:
                throw unexpected(pos, VALUE_EXPECTED);
        }
    }

    private Object object(int depth) throws Malformed {
        if (depth > limits.maxDepth()) {
            throw tooDeep(depth);
        }
        byte[] buf = this.buf;
        int p = skipWhitespace(pos + 1);
        if (p < end && buf[p] == '}') {
            pos = p + 1;
            return Collections.emptyMap();
        }
        int base = sp;
        Set<String> seen = null;
        while (true) {
            if (p >= end) {
                throw eof("expected a field name or the end of the Object");
            }
            if (buf[p] != '"') {
                throw unexpected(p, "was expecting double-quote to start field name");
            }
            int keyAt = p;
            pos = p + 1;
            String key = name();
            // keys are interned, so identity is equality
            if (seen == null) {
                for (int i = base; i < sp; i += 2) {
                    if (stack[i] == key) {
                        throw duplicate(key, keyAt);
                    }
                }
                if (sp - base >= 32) {
                    seen = new HashSet<>();
                    for (int i = base; i < sp; i += 2) {
                        seen.add((String) stack[i]);
                    }
                    seen.add(key);
                }
            } else if (!seen.add(key)) {
                throw duplicate(key, keyAt);
            }
            p = skipWhitespace(pos);
            if (p >= end) {
                throw eof("expected a colon to separate field name and value");
            }
            if (buf[p] != ':') {
                throw unexpected(p, "was expecting a colon to separate field name and value");
            }
            p = skipWhitespace(p + 1);
            pos = p;
            Object value = p < end && buf[p] == '"' ? string() : value(depth);
            Object[] entries = stack;
            int top = sp;
            if (top + 2 > entries.length) {
                entries = grow();
            }
            entries[top] = key;
            entries[top + 1] = value;
            sp = top + 2;
            if (closes('}', "Object")) {
                break;
            }
            p = pos;
        }
        Map<String, Object> map = ArrayMap.of(stack, base, sp);
        sp = base;
        return map;
    }

    private Object array(int depth) throws Malformed {
        if (depth > limits.maxDepth()) {
            throw tooDeep(depth);
        }
        byte[] buf = this.buf;
        int p = skipWhitespace(pos + 1);
        if (p < end && buf[p] == ']') {
            pos = p + 1;
            return Collections.emptyList();
        }
        int base = sp;
        while (true) {
            pos = p;
            push(value(depth));
            if (closes(']', "Array")) {
                break;
            }
            p = pos;
        }
        List<Object> list = new ArrayList<>(sp - base);
        for (int i = base; i < sp; i++) {
            list.add(stack[i]);
        }
        sp = base;
        return list;
    }

    /**
     * After an entry of an Object or Array ({@code kind}): true at its {@code close} (then {@link #pos} is just after
     * it), false at a comma (then {@link #pos} is at the next entry, after whitespace).
     */
    private boolean closes(char close, String kind) throws Malformed {
        int p = skipWhitespace(pos);
        if (p >= end) {
            throw eof("expected close marker for " + kind);
        }
        byte b = buf[p];
        if (b == ',') {
            pos = skipWhitespace(p + 1);
            return false;
        }
        if (b == close) {
            pos = p + 1;
            return true;
        }
        throw unexpected(p, "was expecting comma to separate " + kind + " entries");
    }

    private void push(Object o) {
        if (sp == stack.length) {
            grow();
        }
        stack[sp++] = o;
    }

    private Object[] grow() {
        stack = Arrays.copyOf(stack, stack.length * 2);
        return stack;
    }

    private void literal(String word) throws Malformed {
        int p = pos;
        int n = word.length();
        for (int i = 1; i < n; i++) {
            if (p + i >= end || buf[p + i] != word.charAt(i)) {
                throw unrecognizedToken(p);
            }
        }
        if (p + n < end && isTokenPart(buf[p + n])) {
            throw unrecognizedToken(p);
        }
        pos = p + n;
    }

    private static boolean isTokenPart(byte b) {
        return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '$';
    }

    private Malformed unrecognizedToken(int at) {
        int p = at;
        while (p < end && p - at < 256 && isTokenPart(buf[p])) {
            p++;
        }
        String token = new String(buf, at, Math.max(p - at, 1), StandardCharsets.ISO_8859_1);
        return error("Unrecognized token '" + token + "': was expecting (JSON String, Number, Array, Object or "
                + "token 'null', 'true' or 'false')", at);
    }

    // ---- numbers

    private Object number() throws Malformed {
        byte[] buf = this.buf;
        int end = this.end;
        int start = pos;
        int p = start;
        boolean negative = buf[p] == '-';
        if (negative) {
            p++;
        }
        int intStart = p;
        if (p >= end) {
            throw eof("in a Number value");
        }
        byte b = buf[p];
        if (b == '0') {
            p++;
            if (p < end && isDigit(buf[p])) {
                throw error("Invalid numeric value: Leading zeroes not allowed", p);
            }
        } else if (isDigit(b)) {
            p++;
            while (p < end && isDigit(buf[p])) {
                p++;
            }
        } else {
            throw unexpected(p, "in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value");
        }
        int intLength = p - intStart;
        int fractionLength = 0;
        int exponentLength = 0;
        boolean floating = false;
        if (p < end && buf[p] == '.') {
            p++;
            int fractionStart = p;
            while (p < end && isDigit(buf[p])) {
                p++;
            }
            fractionLength = p - fractionStart;
            if (fractionLength == 0) {
                throw unexpectedOrEof(p, "in numeric value: Decimal point not followed by a digit");
            }
            floating = true;
        }
        if (p < end && (buf[p] == 'e' || buf[p] == 'E')) {
            p++;
            if (p < end && (buf[p] == '+' || buf[p] == '-')) {
                p++;
            }
            int exponentStart = p;
            while (p < end && isDigit(buf[p])) {
                p++;
            }
            exponentLength = p - exponentStart;
            if (exponentLength == 0) {
                throw unexpectedOrEof(p, "in numeric value: Exponent indicator not followed by a digit");
            }
            floating = true;
        }
        pos = p;
        if (floating) {
            int length = intLength + fractionLength + exponentLength;
            if (length > limits.maxNumberLength()) {
                throw numberTooLong(length, start);
            }
            return Double.parseDouble(new String(buf, start, p - start, StandardCharsets.ISO_8859_1));
        }
        if (intLength > limits.maxNumberLength()) {
            throw numberTooLong(intLength, start);
        }
        if (intLength <= 18) {
            long value = 0;
            for (int i = intStart; i < p; i++) {
                value = value * 10 + (buf[i] - '0');
            }
            return negative ? -value : value;
        }
        if (intLength == 19 && fitsLong(intStart, negative)) {
            // accumulated negatively, as Long.parseLong does, to reach Long.MIN_VALUE
            long value = 0;
            for (int i = intStart; i < p; i++) {
                value = value * 10 - (buf[i] - '0');
            }
            return negative ? value : -value;
        }
        bigInteger = true;
        return Double.parseDouble(new String(buf, start, p - start, StandardCharsets.ISO_8859_1));
    }

    private static final byte[] LONG_MAX_DIGITS = "9223372036854775807".getBytes(StandardCharsets.ISO_8859_1);

    /** Whether the 19 digits at {@code p} are at most 2^63 - 1 (2^63 when negative). */
    private boolean fitsLong(int p, boolean negative) {
        for (int i = 0; i < 19; i++) {
            int d = buf[p + i] - LONG_MAX_DIGITS[i];
            if (d != 0) {
                return d < 0 || i == 18 && negative && d == 1;
            }
        }
        return true;
    }

    private static boolean isDigit(byte b) {
        return b >= '0' && b <= '9';
    }

    // ---- strings

    /** A string value; {@code pos} is at its opening quote. */
    private String string() throws Malformed {
        int start = pos + 1;
        int p = plainEnd(start, "in a String value");
        if (buf[p] != '"') {
            return decodeString(start, p);
        }
        int length = p - start;
        if (length > limits.maxStringLength()) {
            throw stringTooLong(length, start);
        }
        pos = p + 1;
        return new String(buf, start, length, StandardCharsets.ISO_8859_1);
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    /** The 8 bytes at {@code p}, the first in the lowest bits. */
    static long word(byte[] buf, int p) {
        return (long) LONGS.get(buf, p);
    }

    /**
     * The high bit of each byte of {@code w} that ends a plain (ASCII, unescaped) string: a quote, a backslash, a
     * control character or a byte of a multibyte sequence. Only the lowest bit set is exact: a byte equal to the
     * quote or the backslash becomes 0 in their XORs, whose subtraction of 1 then sets its high bit; a control
     * character's subtraction of 0x20 does; a non-ASCII byte has it already; the subtractions' borrows only reach
     * the bytes above such a byte; and an ASCII byte that is none of these keeps its high bit clear in each term.
     */
    static long special(long w) {
        long quote = w ^ 0x2222222222222222L;
        long backslash = w ^ 0x5C5C5C5C5C5C5C5CL;
        return ((quote - ONES) | (backslash - ONES) | (w - 0x2020202020202020L) | w) & HIGH_BITS;
    }

    /**
     * The position of the first byte from {@code p} on that ends a plain string (see {@link #special}), eight
     * bytes at a time.
     *
     * @param context where the string is, for the error at the end of the input
     */
    private int plainEnd(int p, String context) throws Malformed {
        byte[] buf = this.buf;
        int end = this.end;
        while (p + 8 <= end) {
            long special = special(word(buf, p));
            if (special != 0) {
                return p + (Long.numberOfTrailingZeros(special) >>> 3);
            }
            p += 8;
        }
        while (p < end) {
            byte b = buf[p];
            if (b == '"' || b < 0x20 || b == '\\') { // negative: not ASCII
                return p;
            }
            p++;
        }
        throw eof(context);
    }

    /** A string value with escapes or non-ASCII bytes from {@code p} on, decoded as Jackson decodes it. */
    private String decodeString(int start, int p) throws Malformed {
        byte[] buf = this.buf;
        int n = p - start;
        char[] out = chars(n + 16);
        for (int i = 0; i < n; i++) {
            out[i] = (char) buf[start + i];
        }
        while (true) {
            int plain = plainEnd(p, "in a String value");
            if (n + (plain - p) + 2 > out.length) {
                out = chars(n + (plain - p) + 2);
            }
            for (; p < plain; p++) {
                out[n++] = (char) buf[p];
            }
            int c = buf[p] & 0xFF;
            if (c == '"') {
                p++;
                break;
            }
            if (c == '\\') {
                out[n++] = (char) escape(p);
                p = pos;
            } else if (c < 0x20) {
                throw controlCharacter(c, p, "string value");
            } else if ((c & 0xE0) == 0xC0) {
                out[n++] = (char) (((c & 0x1F) << 6) | continuation(p + 1));
                p += 2;
            } else if ((c & 0xF0) == 0xE0) {
                int ch = ((c & 0x0F) << 12) | (continuation(p + 1) << 6) | continuation(p + 2);
                if (ch >= 0xD800 && ch <= 0xDFFF) {
                    throw error("Invalid UTF-8: Illegal surrogate character 0x" + Integer.toHexString(ch), p);
                }
                out[n++] = (char) ch;
                p += 3;
            } else if ((c & 0xF8) == 0xF0) {
                // no range check, as in Jackson: F5 to F7 and overlong forms decode to what the bits say
                int ch = (((c & 0x07) << 18) | (continuation(p + 1) << 12) | (continuation(p + 2) << 6)
                        | continuation(p + 3)) - 0x10000;
                out[n++] = (char) (0xD800 | (ch >> 10));
                out[n++] = (char) (0xDC00 | (ch & 0x3FF));
                p += 4;
            } else {
                throw error("Invalid UTF-8 start byte 0x" + Integer.toHexString(c), p);
            }
        }
        if (n > limits.maxStringLength()) {
            throw stringTooLong(n, start);
        }
        pos = p;
        chars = out;
        return new String(out, 0, n);
    }

    /** The payload bits of the UTF-8 continuation byte at {@code p}. */
    private int continuation(int p) throws Malformed {
        if (p >= end) {
            throw eof("in a String value");
        }
        int b = buf[p] & 0xFF;
        if ((b & 0xC0) != 0x80) {
            throw error("Invalid UTF-8 middle byte 0x" + Integer.toHexString(b), p);
        }
        return b & 0x3F;
    }

    /** The char of the escape whose backslash is at {@code p}; leaves {@code pos} just after the escape. */
    private int escape(int p) throws Malformed {
        if (p + 1 >= end) {
            throw eof("in character escape sequence");
        }
        byte e = buf[p + 1];
        pos = p + 2;
        switch (e) {
            case '"':
            case '\\':
            case '/':
                return e;
            case 'b':
                return '\b';
            case 'f':
                return '\f';
            case 'n':
                return '\n';
            case 'r':
                return '\r';
            case 't':
                return '\t';
            case 'u':
                break;
            default:
                throw error("Unrecognized character escape " + describe(e & 0xFF), p + 1);
        }
        int value = 0;
        for (int i = p + 2; i < p + 6; i++) {
            if (i >= end) {
                throw eof("in character escape sequence");
            }
            int digit = hexDigit(buf[i]);
            if (digit < 0) {
                throw unexpected(i, "expected a hex-digit for character escape sequence");
            }
            value = (value << 4) | digit;
        }
        pos = p + 6;
        return value;
    }

    private static int hexDigit(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    private char[] chars(int needed) {
        if (chars.length < needed) {
            chars = Arrays.copyOf(chars, Math.max(needed, chars.length * 2));
        }
        return chars;
    }

    // ---- names

    /** An object key; {@code pos} is just after its opening quote. */
    private String name() throws Malformed {
        byte[] buf = this.buf;
        int start = pos;
        if (start + 16 <= end) {
            // a plain key of up to 16 bytes that was read before: found by its words, not scanned twice
            long first = word(buf, start);
            long special = special(first);
            int length = -1;
            long last = 0;
            if (special != 0) {
                length = Long.numberOfTrailingZeros(special) >>> 3;
                first &= (1L << (length << 3)) - 1;
            } else {
                special = special(word(buf, start + 8));
                if (special != 0) {
                    length = 8 + (Long.numberOfTrailingZeros(special) >>> 3);
                    last = word(buf, start + length - 8);
                }
            }
            if (length >= 0 && buf[start + length] == '"') {
                String known = Names.find(first, last, length);
                if (known != null) {
                    pos = start + length + 1;
                    return known;
                }
            }
        }
        int p = plainEnd(start, "in field name");
        if (buf[p] != '"') {
            return decodeName(start, p);
        }
        int length = p - start;
        if (length > limits.maxNameLength()) {
            throw nameTooLong(length, start);
        }
        pos = p + 1;
        return Names.canonical(buf, start, length);
    }

    /**
     * A key with escapes or non-ASCII bytes from {@code p} on. Jackson turns escapes into UTF-8 bytes (a surrogate
     * pair, which must be complete, into one four-byte sequence) and then decodes the key's bytes; its length limit
     * counts those bytes.
     */
    private String decodeName(int start, int p) throws Malformed {
        byte[] buf = this.buf;
        int n = p - start;
        int bytes = n;
        char[] out = chars(n + 16);
        for (int i = 0; i < n; i++) {
            out[i] = (char) buf[start + i];
        }
        while (true) {
            int plain = plainEnd(p, "in field name");
            if (n + (plain - p) + 2 > out.length) {
                out = chars(n + (plain - p) + 2);
            }
            bytes += plain - p;
            for (; p < plain; p++) {
                out[n++] = (char) buf[p];
            }
            int c = buf[p] & 0xFF;
            if (c == '"') {
                p++;
                break;
            }
            if (c == '\\') {
                int ch = escape(p);
                p = pos;
                if (ch >= 0xD800 && ch <= 0xDBFF) {
                    if (p >= end) {
                        throw eof("in field name");
                    }
                    if (buf[p] != '\\') {
                        throw error("Broken surrogate pair in field name: expected '\\' to start low surrogate, "
                                + "got 0x" + Integer.toHexString(buf[p] & 0xFF), p);
                    }
                    int low = escape(p);
                    if (low < 0xDC00 || low > 0xDFFF) {
                        throw error(String.format("Broken surrogate pair in field name: expected low surrogate, "
                                + "got 0x%04X", low), p);
                    }
                    p = pos;
                    out[n++] = (char) ch;
                    out[n++] = (char) low;
                    bytes += 4;
                } else if (ch >= 0xDC00 && ch <= 0xDFFF) {
                    throw error("Unexpected low surrogate in field name: 0x" + Integer.toHexString(ch), p);
                } else {
                    out[n++] = (char) ch;
                    bytes += ch < 0x80 ? 1 : ch < 0x800 ? 2 : 3;
                }
            } else if (c < 0x20) {
                throw controlCharacter(c, p, "name");
            } else if ((c & 0xE0) == 0xC0) {
                out[n++] = (char) (((c & 0x1F) << 6) | nameContinuation(p + 1));
                bytes += 2;
                p += 2;
            } else if ((c & 0xF0) == 0xE0) {
                int ch = ((c & 0x0F) << 12) | (nameContinuation(p + 1) << 6) | nameContinuation(p + 2);
                if (ch >= 0xD800 && ch <= 0xDFFF) {
                    throw error("Invalid UTF-8: Illegal surrogate character 0x" + Integer.toHexString(ch), p);
                }
                out[n++] = (char) ch;
                bytes += 3;
                p += 3;
            } else if ((c & 0xF8) == 0xF0) {
                int ch = (((c & 0x07) << 18) | (nameContinuation(p + 1) << 12) | (nameContinuation(p + 2) << 6)
                        | nameContinuation(p + 3)) - 0x10000;
                // Jackson's name decoding adds where its string decoding ors: they differ for overlong forms
                out[n++] = (char) (0xD800 + (ch >> 10));
                out[n++] = (char) (0xDC00 | (ch & 0x3FF));
                bytes += 4;
                p += 4;
            } else {
                throw error("Invalid UTF-8 start byte 0x" + Integer.toHexString(c), p);
            }
        }
        if (bytes > limits.maxNameLength()) {
            throw nameTooLong(bytes, start);
        }
        pos = p;
        chars = out;
        return new String(out, 0, n).intern();
    }

    /** As {@link #continuation}, in a key, where the closing quote ends the key's bytes. */
    private int nameContinuation(int p) throws Malformed {
        if (p < end && buf[p] == '"') {
            throw error("Unexpected end-of-input in field name", p);
        }
        return continuation(p);
    }

    /**
     * The canonical instances of keys: a fixed table of recently read keys, each with its interned string, by a hash
     * of the key's length and its first and last eight bytes (all of a key of up to 16 bytes). Entries are
     * immutable and replace each other on collision, so the table needs no lock.
     */
    static final class Names {
        private static final int SLOT_BITS = 12;
        private static final int LONGEST_CACHED = 96;
        private static final Name[] TABLE = new Name[1 << SLOT_BITS];

        private Names() {
        }

        private static final class Name {
            final int length;
            final long first;
            final long last;
            /** The bytes, for keys longer than 16 bytes, whose middle the words leave out. */
            final byte[] bytes;
            final String string;

            Name(int length, long first, long last, byte[] bytes, String string) {
                this.length = length;
                this.first = first;
                this.last = last;
                this.bytes = bytes;
                this.string = string;
            }
        }

        private static int slot(long first, long last, int length) {
            return (int) (((first + length) * 0x9E3779B97F4A7C15L ^ last * 0xC2B2AE3D27D4EB4FL) >>> (64 - SLOT_BITS));
        }

        /**
         * The interned string of a key of at most 16 bytes if the table has it: {@code first} is its first eight
         * bytes (all of them, the rest zero, when shorter), {@code last} its last eight when longer, else 0.
         */
        static String find(long first, long last, int length) {
            Name name = TABLE[slot(first, last, length)];
            return name != null && name.length == length && name.first == first && name.last == last
                    ? name.string : null;
        }

        /** The interned string of the ASCII bytes {@code buf[start, start + length)}. */
        static String canonical(byte[] buf, int start, int length) {
            long first;
            long last;
            if (length >= 8) {
                first = word(buf, start);
                last = word(buf, start + length - 8);
            } else {
                first = start + 8 <= buf.length ? word(buf, start) & ((1L << (length << 3)) - 1)
                        : bytesAt(buf, start, length);
                last = 0;
            }
            int slot = slot(first, last, length);
            Name name = TABLE[slot];
            if (name != null && name.length == length && name.first == first && name.last == last
                    && (length <= 16 || Arrays.equals(name.bytes, 8, length - 8, buf, start + 8, start + length - 8))) {
                return name.string;
            }
            String string = new String(buf, start, length, StandardCharsets.ISO_8859_1).intern();
            if (length <= LONGEST_CACHED) {
                TABLE[slot] = new Name(length, first, last,
                        length <= 16 ? null : Arrays.copyOfRange(buf, start, start + length), string);
            }
            return string;
        }

        /** Up to 7 bytes as the low bytes of a long, near the end of the array. */
        private static long bytesAt(byte[] buf, int start, int length) {
            long w = 0;
            for (int i = length - 1; i >= 0; i--) {
                w = (w << 8) | (buf[start + i] & 0xFF);
            }
            return w;
        }
    }

    // ---- errors

    private Malformed error(String problem, int at) {
        int line = 1;
        int lineStart = 0;
        int limit = Math.min(at, end);
        for (int i = 0; i < limit; i++) {
            byte b = buf[i];
            if (b == '\n' || b == '\r' && (i + 1 >= end || buf[i + 1] != '\n')) {
                line++;
                lineStart = i + 1;
            }
        }
        return new Malformed(problem, line, at - lineStart + 1);
    }

    private Malformed eof(String context) {
        return error("Unexpected end-of-input: " + context, end);
    }

    private Malformed unexpected(int at, String expectation) {
        if (at >= end) {
            return eof(expectation);
        }
        int b = buf[at] & 0xFF;
        if (b < 0x20 && !isWhitespace(buf[at])) {
            return error("Illegal character (" + describe(b) + "): only regular white space (\\r, \\n, \\t) is "
                    + "allowed between tokens", at);
        }
        return error("Unexpected character (" + describe(b) + "): " + expectation, at);
    }

    private Malformed unexpectedOrEof(int at, String expectation) {
        return at >= end ? eof(expectation) : unexpected(at, expectation);
    }

    private static String describe(int b) {
        if (b < 0x20 || b == 0x7F) {
            return "(CTRL-CHAR, code " + b + ")";
        }
        if (b >= 0x80) {
            return "byte 0x" + Integer.toHexString(b);
        }
        return "'" + (char) b + "' (code " + b + ")";
    }

    private Malformed controlCharacter(int c, int at, String where) {
        return error("Illegal unquoted character (" + describe(c) + "): has to be escaped using backslash to be "
                + "included in " + where, at);
    }

    private Malformed duplicate(String key, int at) {
        return error("Duplicate field '" + key + "'", at);
    }

    private Malformed tooDeep(int depth) {
        return error("Document nesting depth (" + depth + ") exceeds the maximum allowed (" + limits.maxDepth()
                + ")", pos);
    }

    private Malformed numberTooLong(int length, int at) {
        return error("Number value length (" + length + ") exceeds the maximum allowed ("
                + limits.maxNumberLength() + ")", at);
    }

    private Malformed stringTooLong(int length, int at) {
        return error("String value length (" + length + ") exceeds the maximum allowed ("
                + limits.maxStringLength() + ")", at);
    }

    private Malformed nameTooLong(int length, int at) {
        return error("Name length (" + length + ") exceeds the maximum allowed (" + limits.maxNameLength() + ")",
                at);
    }
}
