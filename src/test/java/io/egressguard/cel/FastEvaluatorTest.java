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
    })
    void agreesWithCelJava(String expression) throws Exception {
        assertThat(CelHarness.FAST.supports(CelHarness.compile(expression))).as(expression).isTrue();
        CelHarness.eval(expression, POD);
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
    })
    void failsWhereCelJavaFails(String expression) throws Exception {
        // CelHarness fails the test if the fast evaluator returns a value here
        assertThatThrownBy(() -> CelHarness.eval(expression, POD)).isInstanceOf(CelEvaluationException.class);
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
