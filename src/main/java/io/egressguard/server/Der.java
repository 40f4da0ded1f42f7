package io.egressguard.server;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The few DER encodings (ITU-T X.690) that certificates and private keys need, and a reader for the structures found
 * in PEM private keys and public keys.
 *
 * <p>Each encoder returns a whole element: identifier octet, length, contents. Only single-octet tags (numbers up to
 * 30) are written and read; the reader takes definite lengths only, as DER requires.
 */
final class Der {

    static final int BOOLEAN = 0x01;
    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int OCTET_STRING = 0x04;
    static final int NULL = 0x05;
    static final int OBJECT_IDENTIFIER = 0x06;
    static final int UTF8_STRING = 0x0c;
    static final int IA5_STRING = 0x16;
    static final int UTC_TIME = 0x17;
    static final int GENERALIZED_TIME = 0x18;
    static final int SEQUENCE = 0x30;
    static final int SET = 0x31;

    private static final int CONTEXT = 0x80;
    private static final int CONSTRUCTED = 0x20;

    private static final DateTimeFormatter UTC_TIME_FORMAT = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter GENERALIZED_TIME_FORMAT = DateTimeFormatter
            .ofPattern("yyyyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);

    private Der() {
    }

    /**
     * One element read from DER.
     *
     * @param tag the identifier octet
     * @param contents the contents octets
     * @param encoding the whole element: identifier, length and contents
     */
    record Element(int tag, byte[] contents, byte[] encoding) {

        /** The elements inside, after checking that the tag is {@code expected} (such as {@link Der#SEQUENCE}). */
        List<Element> children(int expected) {
            return readAll(contents(expected));
        }

        /** The contents, after checking that the tag is {@code expected}. */
        byte[] contents(int expected) {
            if (tag != expected) {
                throw new IllegalArgumentException(String.format("expected tag 0x%02x, found 0x%02x", expected, tag));
            }
            return contents;
        }

        /** The bits of a BIT STRING whose length is a whole number of octets. */
        byte[] bitStringOctets() {
            byte[] bits = contents(BIT_STRING);
            if (bits.length == 0 || bits[0] != 0) {
                throw new IllegalArgumentException("a BIT STRING that is not a whole number of octets");
            }
            return Arrays.copyOfRange(bits, 1, bits.length);
        }

        /** Whether this is the context-specific tag {@code [number]}, constructed or not. */
        boolean isContext(int number) {
            return (tag & ~CONSTRUCTED) == (CONTEXT | number);
        }
    }

    /** An element: {@code tag}, the definite length of the contents, then the contents. */
    static byte[] element(int tag, byte[]... contents) {
        int length = 0;
        for (byte[] c : contents) {
            length += c.length;
        }
        byte[] lengthOctets = length(length);
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 + lengthOctets.length + length);
        out.write(tag);
        out.writeBytes(lengthOctets);
        for (byte[] c : contents) {
            out.writeBytes(c);
        }
        return out.toByteArray();
    }

    /** The length octets: the short form below 128, else the long form in as few octets as the length needs. */
    static byte[] length(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("negative length " + length);
        }
        if (length < 0x80) {
            return new byte[] {(byte) length};
        }
        int octets = (Integer.SIZE - Integer.numberOfLeadingZeros(length) + 7) / 8;
        byte[] out = new byte[1 + octets];
        out[0] = (byte) (0x80 | octets);
        for (int i = 0; i < octets; i++) {
            out[octets - i] = (byte) (length >>> (8 * i));
        }
        return out;
    }

    static byte[] sequence(byte[]... elements) {
        return element(SEQUENCE, elements);
    }

    static byte[] set(byte[]... elements) {
        return element(SET, elements);
    }

    static byte[] integer(BigInteger value) {
        return element(INTEGER, value.toByteArray());
    }

    static byte[] integer(long value) {
        return integer(BigInteger.valueOf(value));
    }

    static byte[] bool(boolean value) {
        return element(BOOLEAN, new byte[] {value ? (byte) 0xff : 0});
    }

    static byte[] nul() {
        return element(NULL);
    }

    static byte[] octetString(byte[] octets) {
        return element(OCTET_STRING, octets);
    }

    /** A BIT STRING of whole octets (no unused bits). */
    static byte[] bitString(byte[] octets) {
        return element(BIT_STRING, new byte[] {0}, octets);
    }

    /**
     * A BIT STRING of named bits (bit 0 is the first octet's most significant bit) with the trailing zero bits left
     * out, as DER requires of named bit lists (X.690 11.2.2): the first contents octet counts the unused bits of the
     * last.
     */
    static byte[] namedBits(int... bits) {
        if (Arrays.stream(bits).anyMatch(bit -> bit < 0)) {
            throw new IllegalArgumentException("a negative bit number in " + Arrays.toString(bits));
        }
        int highest = Arrays.stream(bits).max().orElse(-1);
        if (highest < 0) {
            return element(BIT_STRING, new byte[] {0});
        }
        byte[] octets = new byte[highest / 8 + 1];
        for (int bit : bits) {
            octets[bit / 8] |= (byte) (0x80 >>> (bit % 8));
        }
        return element(BIT_STRING, new byte[] {(byte) (7 - highest % 8)}, octets);
    }

    /** An OBJECT IDENTIFIER from its dotted form, such as {@code 2.5.29.19}. */
    static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.", -1);
        if (parts.length < 2) {
            throw new IllegalArgumentException("an OID needs two arcs at least: " + dotted);
        }
        long[] arcs = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                arcs[i] = Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not an OID: " + dotted, e);
            }
            if (arcs[i] < 0) {
                throw new IllegalArgumentException("not an OID: " + dotted);
            }
        }
        if (arcs[0] > 2 || arcs[0] < 2 && arcs[1] >= 40) {
            throw new IllegalArgumentException("not an OID: " + dotted);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writeBase128(out, Math.addExact(arcs[0] * 40, arcs[1]));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("not an OID: " + dotted, e);
        }
        for (int i = 2; i < arcs.length; i++) {
            writeBase128(out, arcs[i]);
        }
        return element(OBJECT_IDENTIFIER, out.toByteArray());
    }

    /** The dotted form of an OBJECT IDENTIFIER's contents. */
    static String oidString(byte[] contents) {
        StringBuilder out = new StringBuilder();
        long value = 0;
        for (int i = 0; i < contents.length; i++) {
            if (value > Long.MAX_VALUE >>> 7) {
                throw new IllegalArgumentException("an OID arc too large to read");
            }
            value = value << 7 | contents[i] & 0x7f;
            if ((contents[i] & 0x80) != 0) {
                if (i == contents.length - 1) {
                    throw new IllegalArgumentException("a truncated OID");
                }
                continue;
            }
            if (out.isEmpty()) {
                long first = Math.min(value / 40, 2);
                out.append(first).append('.').append(value - first * 40);
            } else {
                out.append('.').append(value);
            }
            value = 0;
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("an empty OID");
        }
        return out.toString();
    }

    static byte[] utf8String(String value) {
        return element(UTF8_STRING, value.getBytes(StandardCharsets.UTF_8));
    }

    /** An IA5String (ASCII). */
    static byte[] ia5String(String value) {
        if (!StandardCharsets.US_ASCII.newEncoder().canEncode(value)) {
            throw new IllegalArgumentException("not ASCII: " + value);
        }
        return element(IA5_STRING, value.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A certificate time (RFC 5280 4.1.2.5), to the second: UTCTime for the years 1950 to 2049, GeneralizedTime for
     * the others.
     */
    static byte[] time(Instant instant) {
        int year = instant.atZone(ZoneOffset.UTC).getYear();
        if (year >= 1950 && year <= 2049) {
            return element(UTC_TIME, UTC_TIME_FORMAT.format(instant).getBytes(StandardCharsets.US_ASCII));
        }
        return element(GENERALIZED_TIME, GENERALIZED_TIME_FORMAT.format(instant).getBytes(StandardCharsets.US_ASCII));
    }

    /** The constructed context-specific element {@code [number]} around whole elements (explicit tagging). */
    static byte[] explicit(int number, byte[]... elements) {
        return element(CONTEXT | CONSTRUCTED | tagNumber(number), elements);
    }

    /**
     * {@code element} tagged {@code [number]} in place of its own tag (implicit tagging): the same contents under the
     * context-specific tag, constructed when {@code element} is.
     */
    static byte[] implicit(int number, byte[] element) {
        Element e = read(element);
        return element(CONTEXT | e.tag() & CONSTRUCTED | tagNumber(number), e.contents());
    }

    /**
     * The one element that {@code der} holds.
     *
     * @throws IllegalArgumentException when {@code der} is not one whole DER element
     */
    static Element read(byte[] der) {
        List<Element> all = readAll(der);
        if (all.size() != 1) {
            throw new IllegalArgumentException("expected one DER element, found " + all.size());
        }
        return all.get(0);
    }

    /**
     * The elements that {@code der} holds one after the other.
     *
     * @throws IllegalArgumentException when {@code der} is not a series of whole DER elements
     */
    static List<Element> readAll(byte[] der) {
        List<Element> out = new ArrayList<>();
        int offset = 0;
        while (offset < der.length) {
            int start = offset;
            int tag = der[offset++] & 0xff;
            if ((tag & 0x1f) == 0x1f) {
                throw new IllegalArgumentException("a multi-octet tag at offset " + start);
            }
            if (offset >= der.length) {
                throw new IllegalArgumentException("no length at offset " + offset);
            }
            int length = der[offset++] & 0xff;
            if (length == 0x80) {
                throw new IllegalArgumentException("an indefinite length at offset " + start);
            }
            if (length > 0x80) {
                int octets = length & 0x7f;
                if (octets > 3 || offset + octets > der.length) {
                    throw new IllegalArgumentException("a bad length at offset " + start);
                }
                length = 0;
                for (int i = 0; i < octets; i++) {
                    length = length << 8 | der[offset++] & 0xff;
                }
            }
            if (length > der.length - offset) {
                throw new IllegalArgumentException("an element past the end of the data at offset " + start);
            }
            out.add(new Element(tag, Arrays.copyOfRange(der, offset, offset + length),
                    Arrays.copyOfRange(der, start, offset + length)));
            offset += length;
        }
        return out;
    }

    private static int tagNumber(int number) {
        if (number < 0 || number > 30) {
            throw new IllegalArgumentException("tag number out of range: " + number);
        }
        return number;
    }

    private static void writeBase128(ByteArrayOutputStream out, long value) {
        int groups = Math.max(1, (Long.SIZE - Long.numberOfLeadingZeros(value) + 6) / 7);
        for (int i = groups - 1; i >= 0; i--) {
            int group = (int) (value >>> (7 * i)) & 0x7f;
            out.write(i == 0 ? group : group | 0x80);
        }
    }
}
