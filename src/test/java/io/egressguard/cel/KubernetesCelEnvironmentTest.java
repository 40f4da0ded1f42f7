package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelEvaluationException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KubernetesCelEnvironmentTest {

    /** Extensions that Kubernetes does not enable for admission policies. */
    @ParameterizedTest
    @ValueSource(strings = {
            "math.greatest(1, 2)",
            "math.abs(-1)",
            "cel.bind(x, 1, x)",
            "'abc'.reverse()",
            "base64.encode(b'abc')",
            "regex.extract('abc', 'b')",
            "[3, 1, 2].sort()",
            "[[1], [2]].flatten()",
            "[1, 2].distinct()",
            "lists.range(3)",
            "[1, 2].all(i, v, v > i)",
            "{'a': 1}.transformMap(k, v, v + 1)",
            "'%s'.format(['a'])"})
    void disabledExtensionsDoNotCompile(String expression) {
        assertThatThrownBy(() -> CelHarness.compile(expression)).isInstanceOf(CelValidationException.class);
    }

    /** What Kubernetes does enable: strings (v2), optionals, sets, standard macros. */
    @ParameterizedTest
    @ValueSource(strings = {
            "'a,b,c'.split(',') == ['a', 'b', 'c']",
            "'ABC'.lowerAscii() == 'abc'",
            "'abc'.upperAscii() == 'ABC'",
            "'  x '.trim() == 'x'",
            "['a', 'b'].join('-') == 'a-b'",
            "'hello'.charAt(1) == 'e'",
            "'hello'.substring(1, 3) == 'el'",
            "'a.b'.replace('.', '-') == 'a-b'",
            "strings.quote('a\"b') == '\"a\\\\\"b\"'",
            "sets.contains([1, 2, 3], [1, 3])",
            "sets.intersects([1, 2], [2, 5])",
            "sets.equivalent([1, 1, 2], [2, 1])",
            "optional.of(1).hasValue()",
            "optional.none().orValue(5) == 5",
            "[1, 2, 3].exists_one(x, x == 2)",
            "[1, 2, 3].filter(x, x > 1).map(x, x * 10) == [20, 30]",
            "'abc'.matches('^a.c$')",
            "1 < 1.5 && 2u > 1",
            "duration('1h') > duration('59m')"})
    void enabledLibrariesWork(String expression) throws Exception {
        assertThat(CelHarness.eval(expression)).isEqualTo(true);
    }

    @Test
    void literalValidatorsRejectBadLiterals() {
        assertThatThrownBy(() -> CelHarness.compile("duration('one hour') > duration('1s')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("duration");
        assertThatThrownBy(() -> CelHarness.compile("timestamp('yesterday') < timestamp('2024-01-01T00:00:00Z')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("timestamp");
        assertThatThrownBy(() -> CelHarness.compile("[1, 'a'].size() == 2"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("expected type 'int'");
        assertThatThrownBy(() -> CelHarness.compile("{'a': 1, 'b': 'x'}.size() == 2"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("expected type 'int'");
        assertThatThrownBy(() -> CelHarness.compile("'x'.matches('[')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("invalid regular expression");
    }

    @Test
    void aggregateLiteralsJoinTypesLikeCelGo() throws Exception {
        // cel-go joinTypes: dyn is assignable both ways, so once a dyn element is seen the rest are accepted
        assertThat(CelHarness.eval("['a', dyn(1)].size() == 2")).isEqualTo(true);
        assertThat(CelHarness.eval("{'c': dyn({}), 'a': 'x', 'b': true}.size() == 3")).isEqualTo(true);
        assertThat(CelHarness.eval("[[1], [dyn('a')]].size() == 2")).isEqualTo(true);
        assertThatThrownBy(() -> CelHarness.compile("{'a': 'x', 'b': true}.size() == 2"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("expected type 'string' but found 'bool'");
        assertThatThrownBy(() -> CelHarness.compile("{'c': {}, 'path': ''}.size() == 2"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("but found 'string'");
        assertThatThrownBy(() -> CelHarness.compile("[[1], ['a']].size() == 2"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("but found 'list(string)'");
    }

    @Test
    void validateReturnsAValidAstUnchanged() throws Exception {
        CelAbstractSyntaxTree ast = CelHarness.CEL.compile("object.spec.replicas <= 5").getAst();
        assertThat(KubernetesCel.validate(CelHarness.CEL, ast)).isSameAs(ast);
    }

    @Test
    void comprehensionIterationsAreBounded() throws Exception {
        Cel cel = KubernetesCel.newBuilder(10).addVar("object", SimpleType.DYN).build();
        CelAbstractSyntaxTree ast = cel.compile("object.items.all(i, i > 0)").getAst();
        assertThat(cel.createProgram(ast).eval(Map.of("object", Map.of("items", List.of(1L, 2L, 3L)))))
                .isEqualTo(true);
        List<Long> many = java.util.stream.LongStream.rangeClosed(1, 11).boxed().toList();
        assertThatThrownBy(() -> cel.createProgram(ast).eval(Map.of("object", Map.of("items", many))))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("Iteration budget exceeded");
    }

    @Test
    void errorsInsideLogicalOperatorsAreAbsorbedAsInKubernetes() throws Exception {
        assertThat(CelHarness.eval("ip('bad').family() == 4 || true")).isEqualTo(true);
        assertThat(CelHarness.eval("false && cidr('bad').prefixLength() == 1")).isEqualTo(false);
    }

    @Test
    void netTypesResolveByNameAndAtRuntimeThroughDyn() throws Exception {
        assertThat(KubernetesCel.typeProvider().findType("net.IP")).contains(IpAddress.TYPE);
        assertThat(KubernetesCel.typeProvider().findType("net.CIDR")).contains(Cidr.TYPE);
        assertThat(KubernetesCel.typeProvider().findType("net.Other")).isEmpty();
        assertThat(CelHarness.eval("type(dyn(ip('1.2.3.4'))) == net.IP")).isEqualTo(true);
        assertThat(CelHarness.eval("type(dyn(cidr('::/0'))) == net.CIDR")).isEqualTo(true);
        assertThat(CelHarness.eval("type(ip('1.2.3.4')) != net.CIDR")).isEqualTo(true);
    }

    @Test
    void ipAndCidrWorkOnAdmissionObjects() throws Exception {
        Map<String, Object> object = Map.of("spec", Map.of(
                "ipBlock", Map.of("cidr", "10.0.0.0/8", "except", List.of("10.1.0.0/16", "10.2.0.0/16")),
                "podIP", "10.1.2.3",
                "excludeOutboundIPRanges", "10.0.0.0/8,192.168.0.0/16, bad"));
        Map<String, Object> vars = Map.of("object", object);
        assertThat(CelHarness.eval(
                "object.spec.ipBlock.except.all(e, cidr(object.spec.ipBlock.cidr).containsCIDR(e))", vars))
                .isEqualTo(true);
        assertThat(CelHarness.eval("cidr(object.spec.ipBlock.cidr).containsIP(object.spec.podIP)", vars))
                .isEqualTo(true);
        assertThat(CelHarness.eval(
                "object.spec.excludeOutboundIPRanges.split(',').map(r, r.trim()).filter(r, !isCIDR(r))", vars))
                .isEqualTo(List.of("bad"));
        assertThat(CelHarness.eval(
                "object.spec.ipBlock.except.map(e, cidr(e).prefixLength()).max()", vars)).isEqualTo(16L);
    }

    @Test
    void ipAndCidrErrorsCarryKubernetesMessages() {
        assertThatThrownBy(() -> CelHarness.eval("ip('10.0.0.256')"))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessage("IP Address \"10.0.0.256\" parse error during conversion from string: "
                        + "ParseAddr(\"10.0.0.256\"): IPv4 field has value >255");
        assertThatThrownBy(() -> CelHarness.eval("cidr('10.0.0.0/33')"))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessage("network address parse error during conversion from string: "
                        + "network address parse error during conversion from string: "
                        + "netip.ParsePrefix(\"10.0.0.0/33\"): prefix length out of range");
        assertThatThrownBy(() -> CelHarness.eval("cidr('::ffff:1.2.3.4/128')"))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessage("network address parse error during conversion from string: "
                        + "IPv4-mapped IPv6 address \"::ffff:1.2.3.4/128\" is not allowed");
        assertThatThrownBy(() -> CelHarness.eval("cidr('10.0.0.0/8').containsCIDR('10.0.0.0')"))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessageContaining("netip.ParsePrefix(\"10.0.0.0\"): no '/'");
    }
}
