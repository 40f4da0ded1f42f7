package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The DER encodings certificates and keys are made of, byte for byte, and the reader of PEM key structures. */
class DerTest {

    static String hex(byte[] bytes) {
        return HexFormat.of().withUpperCase().formatHex(bytes);
    }

    static byte[] bytes(String hex) {
        return HexFormat.of().parseHex(hex);
    }

    @ParameterizedTest
    @CsvSource({"0, 00", "1, 01", "127, 7F", "128, 8180", "255, 81FF", "256, 820100", "65535, 82FFFF",
        "65536, 83010000", "16777216, 8401000000"})
    void lengthsUnder128TakeTheShortFormTheOthersTheFewestOctetsOfTheLongForm(int length, String octets) {
        assertThat(hex(Der.length(length))).isEqualTo(octets);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 127, 128, 255, 256, 65535, 65536})
    void elementsOfEveryLengthFormReadBackWhole(int length) {
        byte[] contents = new byte[length];
        Arrays.fill(contents, (byte) 0x5a);

        byte[] element = Der.octetString(contents);

        assertThat(hex(element)).startsWith("04" + hex(Der.length(length)));
        assertThat(element).hasSize(1 + Der.length(length).length + length);
        Der.Element read = Der.read(element);
        assertThat(read.tag()).isEqualTo(Der.OCTET_STRING);
        assertThat(read.contents()).isEqualTo(contents);
        assertThat(read.encoding()).isEqualTo(element);
    }

    @Test
    void aSequenceHoldsItsElementsInOrder() {
        byte[] sequence = Der.sequence(Der.integer(1), Der.nul(), Der.bool(true), Der.bool(false));

        assertThat(hex(sequence)).isEqualTo("300B" + "020101" + "0500" + "0101FF" + "010100");
        assertThat(Der.read(sequence).children(Der.SEQUENCE)).extracting(Der.Element::tag)
                .containsExactly(Der.INTEGER, Der.NULL, Der.BOOLEAN, Der.BOOLEAN);
        assertThat(hex(Der.sequence())).isEqualTo("3000");
        assertThat(hex(Der.set(Der.nul()))).isEqualTo("31020500");
    }

    @ParameterizedTest
    @CsvSource({"0, 020100", "1, 020101", "127, 02017F", "128, 02020080", "255, 020200FF", "256, 02020100",
        "-1, 0201FF", "-128, 020180", "-129, 0202FF7F"})
    void integersAreMinimalTwosComplement(long value, String encoding) {
        assertThat(hex(Der.integer(value))).isEqualTo(encoding);
    }

    @Test
    void aPositiveIntegerWithItsTopBitSetGetsALeadingZeroOctet() {
        BigInteger serial = BigInteger.ONE.shiftLeft(126);

        assertThat(hex(Der.integer(serial))).isEqualTo("0210" + "40" + "00".repeat(15));
        assertThat(hex(Der.integer(BigInteger.ONE.shiftLeft(127)))).isEqualTo("0211" + "0080" + "00".repeat(15));
    }

    @ParameterizedTest
    @CsvSource({"2.5.4.3, 0603550403", "2.5.29.19, 0603551D13", "1.3.6.1.5.5.7.3.1, 06082B06010505070301",
        "1.2.840.10045.4.3.2, 06082A8648CE3D040302", "1.2.840.113549.1.1.11, 06092A864886F70D01010B",
        "1.2.840.10045.2.1, 06072A8648CE3D0201", "1.3.132.0.34, 06052B81040022", "2.999.3, 0603883703",
        "0.0, 060100", "1.39.4294967296, 06064F9080808000"})
    void objectIdentifiersAreWrittenInBase128AndReadBack(String dotted, String encoding) {
        byte[] oid = Der.oid(dotted);

        assertThat(hex(oid)).isEqualTo(encoding);
        assertThat(Der.oidString(Der.read(oid).contents(Der.OBJECT_IDENTIFIER))).isEqualTo(dotted);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "3.1", "1.40", "0.40.1", "1..2", "1.2.", "a.b", "1.-2", ""})
    void whatIsNotAnObjectIdentifierIsRefused(String dotted) {
        assertThatThrownBy(() -> Der.oid(dotted)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aTruncatedObjectIdentifierIsRefused() {
        assertThatThrownBy(() -> Der.oidString(bytes("2A86"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("truncated");
        assertThatThrownBy(() -> Der.oidString(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "0       | 03020780", // digitalSignature: 7 unused bits
        "0 5 6   | 03020186", // digitalSignature, keyCertSign, cRLSign: 1 unused bit
        "5 6     | 03020106",
        "7       | 03020001", // the last bit of the octet: no unused bits
        "8       | 0303070080", // decipherOnly: a second octet
        "0 8     | 0303078080",
        "''      | 030100"})
    void namedBitListsLeaveOutTheirTrailingZeroBits(String bits, String encoding) {
        int[] numbers = bits.isBlank() ? new int[0]
                : Arrays.stream(bits.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();

        assertThat(hex(Der.namedBits(numbers))).isEqualTo(encoding);
    }

    @Test
    void aBitStringOfWholeOctetsHasNoUnusedBits() {
        byte[] bitString = Der.bitString(bytes("0102FF"));

        assertThat(hex(bitString)).isEqualTo("0304000102FF");
        assertThat(Der.read(bitString).bitStringOctets()).isEqualTo(bytes("0102FF"));
        assertThatThrownBy(() -> Der.read(Der.namedBits(0)).bitStringOctets())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({
        "2026-11-27T05:20:03Z, 17, 261127052003Z",
        "2026-11-27T05:20:03.999Z, 17, 261127052003Z",
        "1950-01-01T00:00:00Z, 17, 500101000000Z",
        "2049-12-31T23:59:59Z, 17, 491231235959Z",
        "2050-01-01T00:00:00Z, 18, 20500101000000Z",
        "2060-06-15T12:30:45Z, 18, 20600615123045Z",
        "1949-12-31T23:59:59Z, 18, 19491231235959Z"})
    void timesBefore2050AreUtcTimeFrom2050GeneralizedTime(String instant, String tag, String text) {
        byte[] time = Der.time(Instant.parse(instant));

        Der.Element read = Der.read(time);
        assertThat(read.tag()).isEqualTo(Integer.parseInt(tag, 16));
        assertThat(new String(read.contents(), StandardCharsets.US_ASCII)).isEqualTo(text);
    }

    @Test
    void stringsAreUtf8OrIa5() {
        assertThat(hex(Der.utf8String("\u00e9"))).isEqualTo("0C02C3A9");
        assertThat(hex(Der.ia5String("a-1"))).isEqualTo("1603612D31");
        assertThatThrownBy(() -> Der.ia5String("\u00e9")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void explicitTagsWrapElementsImplicitTagsReplaceTheirTag() {
        assertThat(hex(Der.explicit(0, Der.integer(2)))).isEqualTo("A003020102");
        assertThat(hex(Der.explicit(3, Der.sequence()))).isEqualTo("A3023000");
        assertThat(hex(Der.implicit(2, Der.ia5String("a")))).isEqualTo("820161");
        assertThat(hex(Der.implicit(7, Der.octetString(new byte[] {127, 0, 0, 1})))).isEqualTo("87047F000001");
        assertThat(hex(Der.implicit(1, Der.sequence(Der.nul())))).isEqualTo("A1020500");
        assertThat(Der.read(bytes("A1020500")).isContext(1)).isTrue();
        assertThat(Der.read(bytes("820161")).isContext(2)).isTrue();
        assertThat(Der.read(bytes("820161")).isContext(1)).isFalse();
        assertThatThrownBy(() -> Der.explicit(31, Der.nul())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readAllReadsElementsOneAfterTheOther() {
        List<Der.Element> all = Der.readAll(bytes("0500" + "020101" + "3003020102"));

        assertThat(all).extracting(Der.Element::tag).containsExactly(Der.NULL, Der.INTEGER, Der.SEQUENCE);
        assertThat(all.get(2).children(Der.SEQUENCE).get(0).contents(Der.INTEGER)).isEqualTo(new byte[] {2});
        assertThat(Der.readAll(new byte[0])).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", // nothing
        "30", // no length
        "3004020101", // shorter than its length
        "308002010100 00", // indefinite length
        "1F0100", // a multi-octet tag
        "3084000000010000", // a four-octet length
        "3082", // a long length cut short
        "0500 0500"}) // two elements where one is expected
    void whatIsNotOneWholeDerElementIsRefused(String hex) {
        assertThatThrownBy(() -> Der.read(bytes(hex.replace(" ", "")))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aTagOtherThanTheExpectedOneIsRefused() {
        assertThatThrownBy(() -> Der.read(Der.nul()).children(Der.SEQUENCE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected tag 0x30, found 0x05");
    }
}
