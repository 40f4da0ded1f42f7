package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.common.CelValidationException;
import dev.cel.runtime.CelEvaluationException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every row of the {@code ip}/{@code cidr} test table: Kubernetes' own tests ({@code ip_test.go},
 * {@code cidr_test.go}), the library godoc examples that the Kubernetes code agrees with, and cases derived from Go's
 * {@code net/netip}.
 */
class IpCidrReferenceTableTest {

    /** What evaluating a table expression must produce. */
    sealed interface Expected permits Value, Ip, Net, EvalError, CompileError {
    }

    /** A plain CEL value (Boolean, Long, String). */
    record Value(Object value) implements Expected {
    }

    /** A {@code net.IP} whose canonical text is {@code text}. */
    record Ip(String text) implements Expected {
    }

    /** A {@code net.CIDR} whose text is {@code text}. */
    record Net(String text) implements Expected {
    }

    /** Compiles, then fails to evaluate with a message containing {@code fragment}. */
    record EvalError(String fragment) implements Expected {
    }

    /** Does not compile; the message contains {@code fragment}. */
    record CompileError(String fragment) implements Expected {
    }

    static Stream<Arguments> table() {
        return Stream.of(
                row("ip(\"192.168.0.1\")", new Ip("192.168.0.1")),
                row("ip(\"192.168.0.1.0\")", new EvalError("IPv4 address too long")),
                row("isIP(\"192.168.0.1\")", new Value(true)),
                row("isIP(\"192.168.0.1.0\")", new Value(false)),
                row("ip('127.0.0.256')", new EvalError("IPv4 field has value >255")),
                row("isIP(':::1')", new Value(false)),
                row("ip.isCanonical(\"127.0.0.1\")", new Value(true)),
                row("ip.isCanonical(\"127.0.0.1.0\")", new EvalError("IPv4 address too long")),
                row("ip.isCanonical(\"2001:db8::68\")", new Value(true)),
                row("ip.isCanonical(\"2001:DB8::68\")", new Value(false)),
                row("ip.isCanonical('2001:db8::0:0:0:abcd')", new Value(false)),
                row("ip.isCanonical(\"2001:db8:::68\")",
                        new EvalError("each colon-separated field must have at least one digit")),
                row("ip(\"192.168.0.1\").family()", new Value(4L)),
                row("ip(\"2001:db8::68\").family()", new Value(6L)),
                row("ip(\"0.0.0.0\").isUnspecified()", new Value(true)),
                row("ip(\"127.0.0.1\").isUnspecified()", new Value(false)),
                row("ip(\"::\").isUnspecified()", new Value(true)),
                row("ip(\"::1\").isUnspecified()", new Value(false)),
                row("ip(\"127.0.0.1\").isLoopback()", new Value(true)),
                row("ip(\"1.2.3.4\").isLoopback()", new Value(false)),
                row("ip(\"::1\").isLoopback()", new Value(true)),
                row("ip(\"2001:db8::abcd\").isLoopback()", new Value(false)),
                row("ip(\"224.0.0.1\").isLinkLocalMulticast()", new Value(true)),
                row("ip(\"224.0.1.1\").isLinkLocalMulticast()", new Value(false)),
                row("ip(\"ff02::1\").isLinkLocalMulticast()", new Value(true)),
                row("ip(\"fd00::1\").isLinkLocalMulticast()", new Value(false)),
                row("ip(\"169.254.169.254\").isLinkLocalUnicast()", new Value(true)),
                row("ip(\"192.168.0.1\").isLinkLocalUnicast()", new Value(false)),
                row("ip(\"fe80::1\").isLinkLocalUnicast()", new Value(true)),
                row("ip(\"fd80::1\").isLinkLocalUnicast()", new Value(false)),
                row("ip(\"192.168.0.1\").isGlobalUnicast()", new Value(true)),
                row("ip(\"255.255.255.255\").isGlobalUnicast()", new Value(false)),
                row("ip(\"2001:db8::abcd\").isGlobalUnicast()", new Value(true)),
                row("ip(\"ff00::1\").isGlobalUnicast()", new Value(false)),
                row("isIP(cidr(\"192.168.0.0/24\"))",
                        new CompileError("found no matching overload for 'isIP' applied to '(net.CIDR)'")),
                row("string(ip(\"192.168.0.1\"))", new Value("192.168.0.1")),
                row("type(ip(\"192.168.0.1\")) == net.IP", new Value(true)),
                row("cidr(192168)", new CompileError("found no matching overload for 'cidr'")),
                row("cidr(\"192.168.0.0/\")", new EvalError("bad bits after slash")),
                row("cidr('192.168.0.0/33')", new EvalError("prefix length out of range")),
                row("isCIDR('::1/129')", new Value(false)),
                row("cidr(\"192.168.0.0/24\").containsIP(ip(\"192.168.0.1\"))", new Value(true)),
                row("cidr(\"192.168.0.0/24\").containsIP(\"192.168.1.1\")", new Value(false)),
                row("cidr(\"2001:db8::/32\").containsIP(\"2001:dc8::1\")", new Value(false)),
                row("cidr(\"192.168.0.0/24\").containsCIDR(cidr(\"192.168.0.0/25\"))", new Value(true)),
                row("cidr(\"192.168.0.0/24\").containsCIDR(\"192.168.0.0/23\")", new Value(false)),
                row("cidr(\"192.168.0.0/24\").containsCIDR(cidr(\"192.168.0.1/32\"))", new Value(true)),
                row("cidr(\"192.168.0.0/24\").containsCIDR(cidr(\"192.169.0.1/32\"))", new Value(false)),
                row("cidr('192.168.0.0/16').containsCIDR('192.168.10.0/24')", new Value(true)),
                row("cidr(\"2001:db8::/32\").containsCIDR(\"2001:db8::/31\")", new Value(false)),
                row("cidr(\"192.168.0.0/24\").ip()", new Ip("192.168.0.0")),
                row("cidr('::1/128').ip().family()", new Value(6L)),
                row("cidr(\"192.168.0.1/24\").masked()", new Net("192.168.0.0/24")),
                row("cidr(\"2001:db8:1::/32\").masked()", new Net("2001:db8::/32")),
                row("cidr('192.168.0.1/24') == cidr('192.168.0.1/24').masked()", new Value(false)),
                row("cidr(\"2001:db8::/32\").prefixLength()", new Value(32L)),
                row("string(cidr(\"192.168.0.0/24\"))", new Value("192.168.0.0/24")),
                row("type(cidr(\"192.168.0.0/24\")) == net.CIDR", new Value(true)),
                row("isIP('::ffff:1.2.3.4')", new Value(false)),
                row("isIP('fe80::1%eth0')", new Value(false)),
                row("isIP('192.168.001.1')", new Value(false)),
                row("isCIDR('10.0.0.0/08')", new Value(false)),
                row("isCIDR('192.168.0.1/16')", new Value(true)),
                row("cidr('10.0.0.0/8').containsIP('2001:db8::1')", new Value(false)),
                row("cidr('10.0.0.0/8').containsIP('nope')", new EvalError("no such overload")),
                row("ip.isCanonical('::1.2.3.4')", new Value(false)),
                row("ip.isCanonical('2001:db8::1:0:0:1')", new Value(true)),
                row("ip('ff00::1').isLinkLocalMulticast()", new Value(false)));
    }

    private static Arguments row(String expression, Expected expected) {
        return Arguments.of(expression, expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("table")
    void expressionEvaluatesAsKubernetesDoes(String expression, Expected expected) throws Exception {
        if (expected instanceof CompileError compileError) {
            assertThatThrownBy(() -> CelHarness.compile(expression))
                    .isInstanceOf(CelValidationException.class)
                    .hasMessageContaining(compileError.fragment());
            return;
        }
        if (expected instanceof EvalError evalError) {
            assertThatThrownBy(() -> CelHarness.eval(expression))
                    .isInstanceOf(CelEvaluationException.class)
                    .hasMessageContaining(evalError.fragment());
            return;
        }
        Object result = CelHarness.eval(expression);
        if (expected instanceof Value value) {
            assertThat(result).isEqualTo(value.value());
        } else if (expected instanceof Ip ip) {
            assertThat(result).isInstanceOf(IpAddress.class).hasToString(ip.text());
            assertThat(result).isEqualTo(IpAddress.parse(ip.text()));
        } else if (expected instanceof Net net) {
            assertThat(result).isInstanceOf(Cidr.class).hasToString(net.text());
            assertThat(result).isEqualTo(Cidr.parse(net.text()));
        }
    }
}
