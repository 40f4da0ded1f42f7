package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CidrTest {

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/8", "0.0.0.0/0", "192.168.0.1/16", "1.2.3.4/32", "::/0", "::1/128",
            "2001:db8::/32", "2001:db8::1/64", "fd00::/8"})
    void acceptsPrefixesWithOrWithoutHostBits(String input) {
        assertThat(Cidr.isValid(input)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/33",
            "::/129", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/8 ", "010.0.0.0/8", "fe80::%eth0/64",
            "::ffff:1.2.3.4/120", "::ffff:0:0/96", "/8", "10.0.0.0/99999999999999999999", "10.0.0.0/1e1"})
    void rejectsWhatKubernetesRejects(String input) {
        assertThat(Cidr.isValid(input)).isFalse();
        assertThatThrownBy(() -> Cidr.parse(input)).isInstanceOf(NetParseException.class);
    }

    @Test
    void reportsGoParseErrors() {
        assertThatThrownBy(() -> Cidr.parse("192.168.0.0/")).hasMessage(
                "network address parse error during conversion from string: "
                        + "netip.ParsePrefix(\"192.168.0.0/\"): bad bits after slash: \"\"");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0/08")).hasMessageEndingWith(
                "netip.ParsePrefix(\"10.0.0.0/08\"): bad bits after slash: \"08\"");
        assertThatThrownBy(() -> Cidr.parse("10.0.0.0")).hasMessageEndingWith(
                "netip.ParsePrefix(\"10.0.0.0\"): no '/'");
        assertThatThrownBy(() -> Cidr.parse("::/129")).hasMessageEndingWith(
                "netip.ParsePrefix(\"::/129\"): prefix length out of range");
        assertThatThrownBy(() -> Cidr.parse("fe80::%eth0/64")).hasMessageEndingWith(
                "netip.ParsePrefix(\"fe80::%eth0/64\"): IPv6 zones cannot be present in a prefix");
        assertThatThrownBy(() -> Cidr.parse("1.2.3.256/24")).hasMessageEndingWith(
                "netip.ParsePrefix(\"1.2.3.256/24\"): ParseAddr(\"1.2.3.256\"): IPv4 field has value >255");
        assertThatThrownBy(() -> Cidr.parse("::ffff:1.2.3.4/120"))
                .hasMessage("IPv4-mapped IPv6 address \"::ffff:1.2.3.4/120\" is not allowed");
    }

    @Test
    void keepsHostBitsUntilMasked() {
        Cidr cidr = Cidr.parse("192.168.7.9/20");
        assertThat(cidr).hasToString("192.168.7.9/20");
        assertThat(cidr.ip()).isEqualTo(IpAddress.parse("192.168.7.9"));
        assertThat(cidr.masked()).hasToString("192.168.0.0/20");
        assertThat(cidr.masked()).isEqualTo(Cidr.parse("192.168.0.0/20")).isNotEqualTo(cidr);
        assertThat(Cidr.parse("2001:db8:abcd:12::1/50").masked()).hasToString("2001:db8:abcd::/50");
        assertThat(Cidr.parse("1.2.3.4/0").masked()).hasToString("0.0.0.0/0");
        assertThat(Cidr.parse("::1/128").masked()).hasToString("::1/128");
    }

    @Test
    void containsIpComparesThePrefixBitsOfTheSameFamily() {
        Cidr cidr = Cidr.parse("10.1.2.3/16");
        assertThat(cidr.containsIp(IpAddress.parse("10.1.255.255"))).isTrue();
        assertThat(cidr.containsIp(IpAddress.parse("10.2.0.0"))).isFalse();
        assertThat(Cidr.parse("0.0.0.0/0").containsIp(IpAddress.parse("255.1.1.1"))).isTrue();
        assertThat(Cidr.parse("0.0.0.0/0").containsIp(IpAddress.parse("::1"))).isFalse();
        assertThat(Cidr.parse("::/0").containsIp(IpAddress.parse("1.2.3.4"))).isFalse();
        assertThat(Cidr.parse("2001:db8::/127").containsIp(IpAddress.parse("2001:db8::1"))).isTrue();
        assertThat(Cidr.parse("2001:db8::/127").containsIp(IpAddress.parse("2001:db8::2"))).isFalse();
        assertThat(Cidr.parse("2001:db8::/65").containsIp(IpAddress.parse("2001:db8::7fff:0:0:0"))).isTrue();
        assertThat(Cidr.parse("2001:db8::/65").containsIp(IpAddress.parse("2001:db8::8000:0:0:0"))).isFalse();
    }

    @Test
    void containsCidrUsesTheKubernetes133OverlapRule() {
        Cidr network = Cidr.parse("192.168.0.0/16");
        assertThat(network.containsCidr(Cidr.parse("192.168.10.0/24"))).isTrue();
        assertThat(network.containsCidr(Cidr.parse("192.168.10.7/24"))).isTrue();
        assertThat(network.containsCidr(Cidr.parse("192.168.0.0/16"))).isTrue();
        assertThat(network.containsCidr(Cidr.parse("192.168.0.0/15"))).isFalse();
        assertThat(network.containsCidr(Cidr.parse("192.169.0.0/24"))).isFalse();
        assertThat(Cidr.parse("192.168.1.1/16").containsCidr(Cidr.parse("192.168.200.0/24"))).isTrue();
        assertThat(Cidr.parse("0.0.0.0/0").containsCidr(Cidr.parse("::/0"))).isFalse();
        assertThat(Cidr.parse("::/0").containsCidr(Cidr.parse("2001:db8::/32"))).isTrue();
    }

    @Test
    void equalityIncludesHostBitsAndLength() {
        assertThat(Cidr.parse("10.0.0.1/8")).isEqualTo(Cidr.parse("10.0.0.1/8"))
                .hasSameHashCodeAs(Cidr.parse("10.0.0.1/8"));
        assertThat(Cidr.parse("10.0.0.1/8")).isNotEqualTo(Cidr.parse("10.0.0.0/8"));
        assertThat(Cidr.parse("10.0.0.0/8")).isNotEqualTo(Cidr.parse("10.0.0.0/9"));
        assertThat(Cidr.parse("2001:DB8::/32")).isEqualTo(Cidr.parse("2001:db8:0::/32"));
        assertThat(Cidr.parse("2001:db8::/32").celType().name()).isEqualTo("net.CIDR");
    }
}
