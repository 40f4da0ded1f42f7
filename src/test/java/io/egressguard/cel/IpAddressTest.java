package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpAddressTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0.0.0.0|0.0.0.0",
            "255.255.255.255|255.255.255.255",
            "::|::",
            "::1|::1",
            "1::|1::",
            "2001:DB8::68|2001:db8::68",
            "2001:0db8:0000:0000:0000:0000:0000:0068|2001:db8::68",
            "2001:db8:0:0:1:0:0:1|2001:db8::1:0:0:1",
            "2001:0:0:1:0:0:0:1|2001:0:0:1::1",
            "2001:db8:0:1:1:1:1:1|2001:db8:0:1:1:1:1:1",
            "0:0:0:0:0:0:0:0|::",
            "1:0:0:0:0:0:0:0|1::",
            "0:0:0:0:0:0:0:1|::1",
            "fe80:0:0:0:0:0:0:0|fe80::",
            "1:2:3:4:5:6:7:8|1:2:3:4:5:6:7:8",
            "::1.2.3.4|::102:304",
            "1:2:3:4:5:6:1.2.3.4|1:2:3:4:5:6:102:304",
            "64:ff9b::192.0.2.33|64:ff9b::c000:221",
            "0001:0002::0003|1:2::3",
    })
    void printsTheCanonicalFormGoPrints(String input, String canonical) {
        assertThat(IpAddress.parse(input)).hasToString(canonical);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "1", "1.2.3", "1.2.3.4.5", ".1.2.3", "1.2.3.", "1..2.3", "01.2.3.4", "1.2.3.04", "256.1.1.1",
            "1.2.3.4 ", " 1.2.3.4", "0x1.2.3.4", "1.2.3.-4", "1.2.3.4%eth0", "localhost", "::ffff:1.2.3.4",
            "::ffff:102:304", "0:0:0:0:0:ffff:1.2.3.4", "fe80::1%eth0", "fe80::1%", "%eth0", ":::1", "1:::2",
            "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::",
            "00001::", "1:2:3:4:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "1:",
            ":1", "1:2:", "g::", "[::1]", "::1/128", "1.2.3.4/32"})
    void rejectsWhatKubernetesRejects(String input) {
        assertThat(IpAddress.isValid(input)).isFalse();
        assertThatThrownBy(() -> IpAddress.parse(input)).isInstanceOf(NetParseException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.2.3.4", "::", "::1", "ffff:FFFF:ffff:ffff:ffff:ffff:ffff:ffff", "0000:0000::0000",
            "1::1.2.3.4", "::1:ffff:1:2", "::fffe:1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"})
    void acceptsWhatGoAccepts(String input) {
        assertThat(IpAddress.isValid(input)).isTrue();
    }

    @Test
    void reportsGoParseErrorsWithKubernetesContext() {
        assertThatThrownBy(() -> IpAddress.parse("192.168.0.1.0")).hasMessage(
                "IP Address \"192.168.0.1.0\" parse error during conversion from string: "
                        + "ParseAddr(\"192.168.0.1.0\"): IPv4 address too long");
        assertThatThrownBy(() -> IpAddress.parse("2001:db8:::68")).hasMessage(
                "IP Address \"2001:db8:::68\" parse error during conversion from string: "
                        + "ParseAddr(\"2001:db8:::68\"): each colon-separated field must have at least one digit "
                        + "(at \":68\")");
        assertThatThrownBy(() -> IpAddress.parse("192.168.001.1")).hasMessageEndingWith(
                "ParseAddr(\"192.168.001.1\"): IPv4 field has octet with leading zero");
        assertThatThrownBy(() -> IpAddress.parse("1.2.3.x")).hasMessageEndingWith(
                "ParseAddr(\"1.2.3.x\"): unexpected character (at \"x\")");
        assertThatThrownBy(() -> IpAddress.parse("nope")).hasMessageEndingWith(
                "ParseAddr(\"nope\"): unable to parse IP");
        assertThatThrownBy(() -> IpAddress.parse("12345::")).hasMessageEndingWith(
                "ParseAddr(\"12345::\"): each group must have 4 or less digits (at \"12345::\")");
        assertThatThrownBy(() -> IpAddress.parse("1:2:3:4:5:6:7:8:9")).hasMessageEndingWith(
                "ParseAddr(\"1:2:3:4:5:6:7:8:9\"): trailing garbage after address (at \"9\")");
        assertThatThrownBy(() -> IpAddress.parse("1:2:3:4:5:6:7:8::")).hasMessageEndingWith(
                "the :: must expand to at least one field of zeros");
        assertThatThrownBy(() -> IpAddress.parse("::1.2.3.256")).hasMessageEndingWith(
                "ParseAddr(\"::1.2.3.256\"): IPv4 field has value >255");
        assertThatThrownBy(() -> IpAddress.parse("a\tb")).hasMessage(
                "IP Address \"a\\tb\" parse error during conversion from string: ParseAddr(\"a\\tb\"): "
                        + "unable to parse IP");
    }

    @Test
    void rejectsZonesAndIpv4MappedAddressesWithKubernetesMessages() {
        assertThatThrownBy(() -> IpAddress.parse("fe80::1%eth0"))
                .hasMessage("IP address \"fe80::1%eth0\" with zone value is not allowed");
        assertThatThrownBy(() -> IpAddress.parse("::ffff:1.2.3.4"))
                .hasMessage("IPv4-mapped IPv6 address \"::ffff:1.2.3.4\" is not allowed");
        assertThatThrownBy(() -> IpAddress.parse("::ffff:102:304"))
                .hasMessage("IPv4-mapped IPv6 address \"::ffff:102:304\" is not allowed");
        assertThatThrownBy(() -> IpAddress.parse("fe80::1%"))
                .hasMessageEndingWith("ParseAddr(\"fe80::1%\"): zone must be a non-empty string");
    }

    @Test
    void classifiesAddressesLikeGo() {
        assertThat(IpAddress.parse("ff12::1").isLinkLocalMulticast()).isTrue();
        assertThat(IpAddress.parse("ff05::1").isLinkLocalMulticast()).isFalse();
        assertThat(IpAddress.parse("224.0.0.255").isLinkLocalMulticast()).isTrue();
        assertThat(IpAddress.parse("febf::1").isLinkLocalUnicast()).isTrue();
        assertThat(IpAddress.parse("fec0::1").isLinkLocalUnicast()).isFalse();
        assertThat(IpAddress.parse("10.0.0.1").isGlobalUnicast()).isTrue();
        assertThat(IpAddress.parse("fd00::1").isGlobalUnicast()).isTrue();
        assertThat(IpAddress.parse("0.0.0.0").isGlobalUnicast()).isFalse();
        assertThat(IpAddress.parse("::").isGlobalUnicast()).isFalse();
        assertThat(IpAddress.parse("127.1.2.3").isGlobalUnicast()).isFalse();
        assertThat(IpAddress.parse("239.1.1.1").isGlobalUnicast()).isFalse();
        assertThat(IpAddress.parse("169.254.1.1").isGlobalUnicast()).isFalse();
        assertThat(IpAddress.parse("127.255.255.255").isLoopback()).isTrue();
        assertThat(IpAddress.parse("::2").isLoopback()).isFalse();
    }

    @Test
    void equalityComparesFamilyAndAddress() {
        assertThat(IpAddress.parse("2001:DB8::1")).isEqualTo(IpAddress.parse("2001:db8:0::0:1"))
                .hasSameHashCodeAs(IpAddress.parse("2001:db8:0::0:1"));
        assertThat(IpAddress.parse("1.2.3.4")).isNotEqualTo(IpAddress.parse("1.2.3.5"));
        assertThat(IpAddress.parse("0.0.0.0")).isNotEqualTo(IpAddress.parse("::"));
        assertThat(IpAddress.parse("1.2.3.4")).isNotEqualTo(IpAddress.parse("::102:304"));
    }

    @Test
    void isItsOwnCelValueOfTypeNetIp() {
        IpAddress ip = IpAddress.parse("10.1.2.3");
        assertThat(ip.value()).isSameAs(ip);
        assertThat(ip.celType().name()).isEqualTo("net.IP");
        assertThat(ip.family()).isEqualTo(4);
    }
}
