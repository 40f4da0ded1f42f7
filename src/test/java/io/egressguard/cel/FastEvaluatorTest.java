package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.runtime.CelEvaluationException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The constructs the fast evaluator runs itself, each through {@link CelHarness#eval}, which fails when its answer
 * differs from cel-java's interpreter; and the constructs it leaves to cel-java.
 */
class FastEvaluatorTest {

    static final Map<String, Object> POD = Map.of("object", Map.of(
            "kind", "Pod",
            "metadata", Map.of("name", "p", "labels", Map.of("app", "web")),
            "spec", Map.of("containers", List.of(
                    Map.of("name", "app", "image", "nginx", "ports", List.of(Map.of("containerPort", 80L))),
                    Map.of("name", "istio-proxy", "args", List.of("proxy", "sidecar"))))));

    @ParameterizedTest
    @ValueSource(strings = {
        // selection, presence, optional chaining
        "object.spec.containers[1].name",
        "has(object.metadata.labels) && !has(object.metadata.annotations)",
        "object.?metadata.?annotations.orValue({}).size()",
        "object.?metadata.?labels.app.orValue('none')",
        "object.?spec.?containers.hasValue() && object.?status.hasValue() == false",
        "object.?status.or(optional.of('x')).value()",
        "object.metadata.?labels.or(optional.none()).orValue({})",
        "has(object.?metadata.labels)",
        "[?object.?metadata.?labels.app, ?object.?metadata.?missing].size()",
        "{?'a': object.?metadata.?labels.app, ?'b': optional.none()}",
        "object.spec.containers.map(c, c.name)",
        "object.spec.containers.filter(c, has(c.args)).map(c, c.args.join(' '))",
        "object.spec.containers.map(c, c.?ports.orValue([]).size() > 0, c.name)",
        "object.spec.containers.exists_one(c, c.name.startsWith('istio'))",
        "object.spec.containers.all(c, c.image.contains('q'))",
        // errors absorbed by the logical operators, from either side, and inside comprehensions
        "object.spec.missing == 1 || true",
        "true || object.spec.missing == 1",
        "object.spec.missing == 1 && false",
        "false && object.spec.missing == 1",
        "object.spec.containers.exists(c, c.image == 'nginx')",
        "object.spec.containers.exists(c, c.image.startsWith('nginx'))",
        "object.spec.containers.all(c, c.name != 'db')",
        "[dyn(1), dyn('a')].exists(x, x == 1)",
        // membership, equality across types, arithmetic and strings
        "'app' in object.metadata.labels && !('x' in object.metadata.labels)",
        "'istio-proxy' in object.spec.containers.map(c, c.name)",
        "dyn(1) in [1.0, 2.0] && dyn(2.0) in {2: 'two'}",
        "dyn(1) == 1.0 && dyn(1u) == 1 && dyn('a') != 1 && null != object",
        "object.metadata == {'name': dyn('p'), 'labels': dyn({'app': 'web'})}",
        "object.spec.containers[0].ports[0].containerPort + 1 > 80 ? 'up' : 'down'",
        "size(object.spec.containers) * 2 - 1",
        "'%s'.size() + 'p'.indexOf('p') + ['b', 'a'].indexOf('a')",
        "object.spec.containers.map(c, c.name).join(',').split(',')",
        "string(object.spec.containers[0].ports[0].containerPort) + string(true)",
        "['a', 'b'] + ['c'] == ['a', 'b', 'c']",
        "sets.contains(['a', 'b'], ['a'])",
        "'10.0.0.1'.matches('^10[.]') && '10.0.0.0/8'.findAll('[0-9]+').size() == 5",
        "isCIDR('10.0.0.0/8') && cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))",
        "[3, 1, 2].max() + [1, 2].sum()",
        // indexing: maps by string key, lists by int, and the rest through cel-java's bindings
        "object.metadata['labels']['app'] + object.spec.containers[0]['name']",
        "[10, 20, 30][2] + [10, 20][dyn(1.0)] + {1: 5}[1] + {1: 5}[dyn(1.0)] + {1: 5}[dyn(1u)]",
        "optional.of([1, 2])[1] == optional.of(2) && optional.of({'a': 1})['a'] == optional.of(1)",
        "[1, 2][?5].orValue(0) + {'a': 1}[?'a'].orValue(0) + {'a': 1}[?'b'].orValue(7)",
        // one call site, arguments of changing classes: the remembered overload must follow them
        "[dyn(1), dyn('a'), dyn(2.5), dyn(1), dyn(true), dyn('b')].map(x, string(x))",
        "[dyn([1]), dyn('ab'), dyn({'k': 1}), dyn([1, 2]), dyn('abc')].map(x, size(x))",
        "[dyn(1), dyn(2u), dyn(1.5), dyn(3)].map(x, x + x)",
        // optional selection with orValue, fused: maps, optionals, null values, non-string keys
        "object.?metadata.?labels.orValue(null) == null || object.?missing.orValue(null) == null",
        "object.metadata.?labels.orValue({}).size() + object.?spec.?missing.orValue([]).size()",
        "dyn({'a': null}).?a.orValue(1) == null && dyn({'a': null}).?b.orValue(1) == 1",
        "optional.of({'a': 1}).?a.orValue(2) + optional.none().?a.orValue(2)",
        "optional.of({'a': 1}).?b.orValue(3) + dyn({1: 2}).?a.orValue(4)",
        "object.spec.containers.map(c, c.?ports.orValue(null) == null)",
        "object.?metadata.name.orValue('') == 'p' && object.?metadata.missing.orValue('') == ''",
        "object.?metadata.?labels.?app.orValue('') + object.?spec.?missing.?deeper.?still.orValue('none')",
        "object.?metadata.?labels.?missing.orValue('x') + object.?missing.?labels.?app.orValue('y')",
        "dyn({'a': {'b': null}}).?a.?b.orValue(1) == null && dyn({'a': {'b': 2}}).?a.?b.orValue(1) == 2",
        "optional.of({'a': {'b': 2}}).?a.?b.orValue(1) + optional.none().?a.?b.orValue(3)",
        "optional.of(dyn({'a': 5})).?b.?c.orValue(4) + dyn({'a': 6}).?b.?c.orValue(7)",
        // null equality
        "null == null && !(null != null) && dyn(null) == null && object.?x.orValue(null) != object",
        "dyn(null) == dyn(null) && dyn(null) != {} && [] != dyn(null) && dyn(null) != 0",
        // map and filter: empty ranges, map keys, nested comprehensions with their own accumulators
        "[].map(x, x + 1) == [] && [].filter(x, x > 1) == [] && {}.map(k, k) == []",
        "{'b': 1, 'a': 2}.map(k, k + k) + {'b': 1, 'a': 2}.filter(k, k == 'a')",
        "[1, 2, 3].map(x, x > 1, x * 10) + [1, 2, 3].filter(x, x != 2)",
        "[[1, 2], [3], []].map(l, l.filter(x, x > 1).map(x, [x].map(y, y + 1)))",
        "[[1], [2, 3]].filter(l, l.exists(x, x > 2) || l.all(x, x < 2)).map(l, l.map(x, l.size()))",
        "[dyn(1), dyn('a'), dyn(2.5), dyn(1u)].filter(x, x == 1)",
        // exists and all: errors absorbed by a later dominant value, from any position
        "[1, 0, 2].exists(x, 1 / x == 1) && [0, 1].exists(x, 1 / x == 1)",
        "![0, 1].all(x, 1 / x == 2) && ![1, 0].all(x, 1 / x == 2)",
        "[dyn('a'), dyn(1)].exists(x, x == 1) && ![dyn('a'), dyn(1)].all(x, x == 'a')",
        "[].exists(x, x == 1) == false && [].all(x, x == 1) && {'a': 1}.exists(k, k == 'a')",
        "{'a': 1, 'b': 2}.all(k, k.size() == 1) && !{'a': 1}.all(k, k == 'b')",
        "[1, 2].exists(x, [x].all(y, y > 1)) && [1, 2].all(x, [x, 3].exists(y, y > 2))",
        "[1, 2, 3].exists_one(x, x > 2)",
        // sets: strings directly, anything else with the extension's equality
        "sets.contains(['a', 'b', 'c'], ['c', 'a']) && !sets.contains(['a'], ['a', 'b'])",
        "sets.contains([], []) && sets.contains(['a'], []) && !sets.contains([], ['a'])",
        "sets.contains([dyn('a'), dyn(1)], [dyn(1.0)]) && sets.contains([dyn(1)], [dyn(1u)])",
        "sets.contains([dyn({'k': 1}), dyn('x')], [dyn('x'), dyn({'k': 1})])",
        "sets.contains([dyn(1), dyn('x')], [dyn('x'), dyn(2)]) == false",
        "sets.equivalent(['a', 'b', 'a'], ['b', 'a']) && !sets.equivalent(['a'], ['a', 'b'])",
        "sets.equivalent([], []) && !sets.equivalent(['a', 'b'], ['a']) && sets.equivalent([dyn(1)], [dyn(1.0)])",
        "sets.intersects(['a', 'b'], ['c', 'b']) && !sets.intersects(['a'], ['b']) && !sets.intersects([], [])",
        "!sets.intersects(['a'], []) && sets.intersects([dyn(1), dyn('x')], [dyn('x')])",
        "sets.intersects([dyn(2.0)], [dyn('y'), dyn(2)]) && sets.intersects([dyn(1)], [dyn(1u)])",
        // size and string: lists and maps, strings and ints directly, the rest through cel-java's bindings
        "size([1, 2]) + [].size() + size({'a': 1, 'b': 2}) + dyn({1: 2}).size() + size(dyn([dyn(1)]))",
        "size('héllo') + size(dyn('😁')) + size(object.kind)",
        "string(dyn(-5)) + string(dyn(1u)) + string(dyn(1.5)) + string(dyn('x')) + string(dyn(true))",
        "string(object.kind) + string(9223372036854775807) + string(-1) + string(dyn(object.kind))",
        // ordering: ints directly, mixed numbers and other types through cel-java's bindings
        "dyn(1) < 2 && dyn(1) < 1.5 && dyn(2u) > 1 && dyn('a') < 'b' && 1 <= 1 && !(2 >= 3)",
        "[dyn(1), dyn(2.5), dyn(3u)].filter(x, x >= 2) + [dyn(-1), dyn(1)].filter(x, x <= 0 || x > 0.5)",
        "-9223372036854775808 < 9223372036854775807 && 2 > 1 && !(1 > 1) && 3 >= 3 && !(1 < 1)",
        // split: a separator that is not empty directly, the rest through the extension
        "'a,b,,c,'.split(',') + 'aaa'.split('aa') + ''.split(',') + 'a--b---c'.split('--')",
        "'abc'.split('') + 'a,b,c'.split(',', 2) + 'x'.split('x') + ',,'.split(',')",
        "'ab😁cd😁'.split('😁') == ['ab', 'cd', ''] && 'a\\nb'.split('\\n').size() == 2",
        // join: lists of strings directly, the rest through the extension
        "['a', 'b'].join() + ['a', '', 'b'].join(', ') + [].join('-') + [''].join('x') + dyn(['1', '2']).join('\\n')",
        "[dyn('a'), dyn(1), dyn(2.5), dyn(true)].join(',') + dyn([]).join() + dyn([dyn('a'), dyn(-1)]).join()",
        // indexing a value of type dyn (whose candidates include the optional overloads)
        "dyn([1, 2])[1] + dyn({'a': 3})['a'] + dyn({1: 4})[1] + dyn([5])[dyn(0u)]",
    })
    void agreesWithCelJava(String expression) throws Exception {
        agreeing(expression, POD);
    }

    /** The value of both evaluators (CelHarness fails on a disagreement); the fast one must run it itself. */
    private static Object agreeing(String expression, Map<String, Object> variables) throws Exception {
        assertThat(CelHarness.FAST.supports(CelHarness.compile(expression))).as(expression).isTrue();
        return CelHarness.eval(expression, variables);
    }

    /** An object as the webhook reads it ({@link JsonBytes}: {@link ArrayMap}s, small and indexed, interned keys). */
    static final Map<String, Object> READ;

    static {
        StringBuilder big = new StringBuilder("{");
        for (int i = 0; i < 12; i++) {
            big.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":").append(i);
        }
        String json = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"app\":\"web\"}},"
                + "\"big\":" + big + "}}";
        try {
            READ = Map.of("object", JsonBytes.read(json.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    new JsonBytes.Limits(100, 1000, 100, 1000)).value());
        } catch (JsonBytes.Malformed e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        // literal keys and field names are looked up by identity, computed keys by equality
        "'name' in object.metadata && !('nam' in object.metadata) && !('names' in object.metadata)",
        "('na' + 'me') in object.metadata && !(('na' + 'm') in object.metadata)",
        "object.metadata[('na' + 'me')] == 'p' && object.metadata['name'] == 'p'",
        "object.metadata.labels['app'] == 'web' && object.?metadata.?labels.?app.orValue('') == 'web'",
        "has(object.big.k11) && !has(object.big.k12) && has(object.metadata.name) && !has(object.metadata.uid)",
        "object.big.?k5.orValue(0) + object.big.?missing.orValue(0) + object.?big.?k7.orValue(0)",
        "('k' + string(3)) in object.big && !(('k' + string(12)) in object.big) && 'k0' in object.big",
        "object.big[('k' + string(7))] == 7 && object.big['k8'] == 8 && object.big.k9 == 9",
        "object.metadata == {'name': dyn('p'), 'labels': dyn({'app': 'web'})} && size(object.big) == 12",
        "object.?spec.orValue(null) == null && object.metadata != null && null != object.big",
    })
    void agreesWithCelJavaOnObjectsAsRead(String expression) throws Exception {
        assertThat(agreeing(expression, READ)).as(expression).isIn(true, 12L);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "object.metadata['nam']",
        "object.metadata[('na' + 'm')]",
        "object.big['k12']",
        "object.big[('k' + string(12))]",
        "object.big.k12",
    })
    void missingKeysOfObjectsAsReadFailAsInCelJava(String expression) throws Exception {
        failing(expression, READ);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "object.spec.missing",
        "object.spec.containers[5]",
        "object.spec.containers[0].name + 1 == dyn('x')",
        "object.spec.containers.all(c, c.image.contains('x'))",
        "dyn(object.kind) && true",
        "object.kind ? 1 : 2",
        "[dyn(1), dyn('a')].all(x, x > 0)",
        "object.?spec.value().containers[0].ports[0].missing",
        "int('x')",
        "9223372036854775807 + 1 > 0",
        "object.metadata['missing']",
        "object.spec.containers[-1]",
        "object.spec.containers[2]",
        "[1, 2][dyn(1.5)]",
        "{'a': 1}[dyn(1)]",
        "[dyn(1), dyn('a')].map(x, x + 1)",
        "dyn(1).?a.orValue(2)",
        "dyn([1]).?a.orValue(2) == 2",
        "object.?kind.?name.orValue('') == ''",
        "object.?metadata.?name.?first.orValue('') == ''",
        "dyn({'a': [1]}).?a.?b.?c.orValue(1) == 1",
        "dyn(null) < 1",
        "dyn(1) < dyn('a')",
        "dyn([1]) <= dyn([2])",
        "size(dyn(1))",
        "size(dyn(null))",
        "string(dyn(null))",
        "string(dyn([1]))",
        "dyn(1).split(',')",
        "[1, 0].map(x, 1 / x)",
        "[0, 1].map(x, x >= 0, 1 / x)",
        "[1, 0].filter(x, 1 / x == 1)",
        "[dyn(1), dyn(true)].filter(x, dyn(x))",
        "[dyn(true), dyn(1)].map(x, dyn(x), x)",
        "[0, 2].exists(x, 1 / x == 1)",
        "[2, 0].exists(x, 1 / x == 1)",
        "[1, 0].all(x, 1 / x == 1)",
        "[dyn(false), dyn(1)].exists(x, dyn(x))",
        "[dyn(true), dyn('a')].all(x, dyn(x))",
        "sets.contains(dyn({'a': 1}), ['a'])",
        "sets.intersects(['a'], dyn('a'))",
        "dyn({'a': 1})['b']",
        "dyn([1])[1]",
        "dyn([1])['a']",
        "dyn({1: 2})[dyn(1.5)]",
        "9223372036854775807 + [1].size() > 0",
        "dyn('a').join(',')",
        "['a'].join(dyn(1))",
    })
    void failsWhereCelJavaFails(String expression) throws Exception {
        failing(expression, POD);
    }

    /** An evaluation error from cel-java (CelHarness fails the test if the fast evaluator returns a value). */
    private static void failing(String expression, Map<String, Object> variables) {
        assertThatThrownBy(() -> CelHarness.eval(expression, variables)).isInstanceOf(CelEvaluationException.class);
    }

    /** A resolver that hands out reused frames, as the policy engine's activations do. */
    private record FramedResolver(Map<String, Object> values, EvaluationFrames frames,
            java.util.function.Function<FramedResolver, Object> params) implements DirectResolver {
        @Override
        public Object value(String name) {
            return name.equals("params") ? params.apply(this) : values.get(name);
        }
    }

    private static FastProgram fast(String expression) throws Exception {
        dev.cel.common.CelAbstractSyntaxTree ast = CelHarness.compile(expression);
        return (FastProgram) CelHarness.FAST.program(ast, CelHarness.CEL.createProgram(ast));
    }

    @Test
    void reusedFramesStartEmptyWithTheirOwnIterationBudget() throws Exception {
        EvaluationFrames frames = new EvaluationFrames();
        FastProgram loop = fast("object.items.all(i, i == 1)");
        FastProgram constantLoop = fast("[7].all(x, x == 7)");
        FastProgram read = fast("object.y + 1");
        FramedResolver resolver = new FramedResolver(
                Map.of("object", Map.of("items", java.util.Collections.nCopies(6_000, 1L), "y", 1L)), frames, r -> 0L);
        // 6,000 iterations each: the budget of 10,000 is per evaluation, not per frame
        assertThat(loop.evalStrictly(resolver)).isEqualTo(true);
        assertThat(loop.evalStrictly(resolver)).isEqualTo(true);
        // the loop left values in the frame's first slots, where this program keeps object
        assertThat(constantLoop.evalStrictly(resolver)).isEqualTo(true);
        assertThat(read.evalStrictly(resolver)).isEqualTo(2L);
        assertThat(frames.depth()).isZero();
    }

    @Test
    void aVariableEvaluatedInsideAComprehensionGetsItsOwnFrame() throws Exception {
        EvaluationFrames frames = new EvaluationFrames();
        FastProgram inner = fast("[10, 20].map(y, y * 2)[1]");
        FastProgram outer = fast("[1, 2].map(x, x + params)");
        // params is evaluated lazily, as a policy's variables are, while the outer comprehension runs
        FramedResolver resolver = new FramedResolver(Map.of(), frames, r -> {
            try {
                return inner.eval(r);
            } catch (dev.cel.runtime.CelEvaluationException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(outer.evalStrictly(resolver)).isEqualTo(List.of(41L, 42L));
        assertThat(outer.eval(resolver)).isEqualTo(List.of(41L, 42L));
        assertThat(frames.depth()).isZero();
    }

    @Test
    void theIterationBudgetIsTheEvaluations() throws Exception {
        Map<String, Object> vars = Map.of("object", Map.of("items", java.util.Collections.nCopies(6_000, 1L)));
        assertThat(CelHarness.eval("object.items.all(i, i == 1)", vars)).isEqualTo(true);
        // two comprehensions of 6,000 iterations exceed the bound of 10,000 for one evaluation
        assertThatThrownBy(() -> CelHarness.eval("object.items.all(i, i == 1) == object.items.all(i, i == 1)", vars))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("budget");
    }

    @Test
    void theSpecializedLoopsCountTheirIterations() throws Exception {
        Map<String, Object> vars = Map.of("object", Map.of("items", java.util.Collections.nCopies(6_000, 1L)));
        // exists stops at its first true element, after one more iteration (as the general loop does)
        assertThat(CelHarness.eval("object.items.exists(i, i == 1) == object.items.all(i, i == 1)", vars))
                .isEqualTo(true);
        for (String twice : List.of("object.items.map(i, i).size() + object.items.filter(i, i == 1).size()",
                "object.items.map(i, i == 1, i).size() > 0 && object.items.exists(i, i == 2)",
                "object.items.exists(i, i == 2) || object.items.all(i, i == 1)")) {
            assertThatThrownBy(() -> CelHarness.eval(twice, vars)).as(twice)
                    .isInstanceOf(CelEvaluationException.class).hasMessageContaining("budget");
        }
    }

    @Test
    void macrosRunAsLoopsOfTheirOwn() throws Exception {
        Map<String, Class<?>> expected = Map.of(
                "[1].map(x, x)", FastProgram.ListComprehension.class,
                "[1].filter(x, x > 0)", FastProgram.ListComprehension.class,
                "[1].map(x, x > 0, x)", FastProgram.ListComprehension.class,
                "[1].exists(x, x > 0)", FastProgram.Quantifier.class,
                "[1].all(x, x > 0)", FastProgram.Quantifier.class,
                "[1].exists_one(x, x > 0)", FastProgram.Comprehension.class,
                "object.?a.orValue(1)", FastProgram.OptionalSelectOrValue.class,
                "object.?a.?b.?c.orValue(1)", FastProgram.OptionalSelectOrValue.class,
                "sets.contains(['a'], ['a'])", FastProgram.SetFunction.class);
        for (var e : expected.entrySet()) {
            var ast = CelHarness.compile(e.getKey());
            var program = (FastProgram) CelHarness.FAST.program(ast, CelHarness.CEL.createProgram(ast));
            assertThat(program.root()).as(e.getKey()).isExactlyInstanceOf(e.getValue());
        }
    }

    @Test
    void typeValuesAreLeftToCelJava() throws Exception {
        assertThat(CelHarness.FAST.supports(CelHarness.compile("type(object) == map"))).isFalse();
        assertThat(CelHarness.eval("type(object) == map", POD)).isEqualTo(true);
    }

    @Test
    void programsFallBackToCelJavaForTheirErrors() throws Exception {
        var ast = CelHarness.compile("object.spec.missing == 1");
        var program = CelHarness.FAST.program(ast, CelHarness.CEL.createProgram(ast));
        assertThat(program).isInstanceOf(FastProgram.class);
        assertThatThrownBy(() -> program.eval(POD)).isInstanceOf(CelEvaluationException.class)
                .hasMessageContaining("missing");
        assertThat(program.eval(Map.of("object", Map.of("spec", Map.of("missing", 1L))))).isEqualTo(true);
        assertThat(CelHarness.eval("optional.of(1)", Map.of())).isEqualTo(Optional.of(1L));
    }
}
