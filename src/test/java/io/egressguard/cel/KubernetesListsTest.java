package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.common.CelValidationException;
import dev.cel.runtime.CelEvaluationException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KubernetesListsTest {

    /** The examples of Kubernetes' {@code lists.go} documentation, plus the brief's own. */
    @ParameterizedTest
    @ValueSource(strings = {
            "[1, 2, 3].isSorted() == true",
            "['a', 'b', 'b', 'c'].isSorted() == true",
            "[2.0, 1.0].isSorted() == false",
            "[1].isSorted() == true",
            "[].isSorted() == true",
            "[1, 3].sum() == 4",
            "[1, 2, 3].sum() == 6",
            "[1.0, 3.0].sum() == 4.0",
            "[duration('1m'), duration('1s')].sum() == duration('1m1s')",
            "[].sum() == 0",
            "[1, 3].min() == 1",
            "[1, 3].max() == 3",
            "[1].min() == 1",
            "([0] + []).min() == 0",
            "[1, 2, 2, 3].indexOf(2) == 1",
            "['a', 'b', 'b', 'c'].lastIndexOf('b') == 2",
            "[1.0].indexOf(1.1) == -1",
            "[].indexOf('string') == -1"})
    void kubernetesDocumentationExamplesHold(String expression) throws Exception {
        assertThat(CelHarness.eval(expression)).isEqualTo(true);
    }

    @Test
    void resultsKeepTheElementType() throws Exception {
        assertThat(CelHarness.eval("[1, 2, 3].sum()")).isEqualTo(6L);
        assertThat(CelHarness.eval("[1.5, 2.25].sum()")).isEqualTo(3.75);
        assertThat(CelHarness.eval("[1u, 2u].sum()")).isEqualTo(CelHarness.eval("3u"));
        assertThat(CelHarness.eval("['b', 'c', 'a'].min()")).isEqualTo("a");
        assertThat(CelHarness.eval("['b', 'c', 'a'].max()")).isEqualTo("c");
        assertThat(CelHarness.eval("[2.5, -1.0, 7.25].max()")).isEqualTo(7.25);
        assertThat(CelHarness.eval("type([1, 2].sum()) == int")).isEqualTo(true);
        assertThat(CelHarness.eval("type(['x'].min()) == string")).isEqualTo(true);
    }

    @Test
    void ordersAllComparableKinds() throws Exception {
        assertThat(CelHarness.eval("[false, true, true].isSorted()")).isEqualTo(true);
        assertThat(CelHarness.eval("[true, false].isSorted()")).isEqualTo(false);
        assertThat(CelHarness.eval("[b'\\x01', b'\\xff', b'\\xff\\x00'].isSorted()")).isEqualTo(true);
        assertThat(CelHarness.eval("[duration('2s'), duration('1s')].min() == duration('1s')")).isEqualTo(true);
        assertThat(CelHarness.eval(
                "[timestamp('2024-01-02T00:00:00Z'), timestamp('2023-05-01T00:00:00Z')].min()"
                        + " == timestamp('2023-05-01T00:00:00Z')")).isEqualTo(true);
        assertThat(CelHarness.eval("[1u, 5u, 3u].max() == 5u")).isEqualTo(true);
    }

    @Test
    void ordersStringsByCodePointLikeGo() throws Exception {
        // U+FF5E (one UTF-16 unit) sorts before U+1F600 (a surrogate pair) in Go's byte order.
        assertThat(CelHarness.eval("['\\uff5e', '\\U0001f600'].isSorted()")).isEqualTo(true);
        assertThat(CelHarness.eval("['\\U0001f600', '\\uff5e'].min()")).isEqualTo("\uff5e");
    }

    @Test
    void worksOnDynamicListsFromAdmissionObjects() throws Exception {
        Map<String, Object> object = Map.of("spec", Map.of(
                "ports", List.of(443L, 80L, 8080L),
                "weights", List.of(0.5, 0.25),
                "names", List.of("b", "a")));
        Map<String, Object> vars = Map.of("object", object);
        assertThat(CelHarness.eval("object.spec.ports.sum()", vars)).isEqualTo(8603L);
        assertThat(CelHarness.eval("object.spec.ports.min()", vars)).isEqualTo(80L);
        assertThat(CelHarness.eval("object.spec.ports.max()", vars)).isEqualTo(8080L);
        assertThat(CelHarness.eval("object.spec.ports.isSorted()", vars)).isEqualTo(false);
        assertThat(CelHarness.eval("object.spec.ports.indexOf(8080)", vars)).isEqualTo(2L);
        assertThat(CelHarness.eval("object.spec.ports.lastIndexOf(1)", vars)).isEqualTo(-1L);
        assertThat(CelHarness.eval("object.spec.weights.sum()", vars)).isEqualTo(0.75);
        assertThat(CelHarness.eval("object.spec.names.map(n, n + '!').min()", vars)).isEqualTo("a!");
        assertThat(CelHarness.eval("object.spec.ports.map(p, p * 2).max()", vars)).isEqualTo(16160L);
    }

    @Test
    void comparesNumbersAcrossKindsInDynamicLists() throws Exception {
        Map<String, Object> vars = Map.of("object", Map.of("mixed", List.of(3L, 2.5, 10L)));
        assertThat(CelHarness.eval("object.mixed.min()", vars)).isEqualTo(2.5);
        assertThat(CelHarness.eval("object.mixed.max()", vars)).isEqualTo(10L);
        assertThat(CelHarness.eval("object.mixed.isSorted()", vars)).isEqualTo(false);
        assertThat(CelHarness.eval("object.mixed.indexOf(10.0)", vars)).isEqualTo(2L);
    }

    @Test
    void indexOfUsesCelEquality() throws Exception {
        assertThat(CelHarness.eval("[[1], [2], [2]].indexOf([2])")).isEqualTo(1L);
        assertThat(CelHarness.eval("[{'a': 1}, {'a': 2}].lastIndexOf({'a': 1})")).isEqualTo(0L);
        assertThat(CelHarness.eval("[ip('10.0.0.1'), ip('::1')].indexOf(ip('0:0::1'))")).isEqualTo(1L);
    }

    @Test
    void indexOfAStringInAListOfMixedValuesMatchesOnlyThatString() throws Exception {
        Map<String, Object> vars = Map.of("object", Map.of("args",
                List.of("istio-iptables", "-u", 1337L, "1337", "-u", Map.of("-u", 1L), List.of("-u"))));
        assertThat(CelHarness.eval("object.args.indexOf('-u')", vars)).isEqualTo(1L);
        assertThat(CelHarness.eval("object.args.lastIndexOf('-u')", vars)).isEqualTo(4L);
        assertThat(CelHarness.eval("object.args.indexOf('1337')", vars)).isEqualTo(3L);
        assertThat(CelHarness.eval("object.args.indexOf(1337)", vars)).isEqualTo(2L);
        assertThat(CelHarness.eval("object.args.indexOf('-x')", vars)).isEqualTo(-1L);
        assertThat(CelHarness.eval("object.args.lastIndexOf(['-u'])", vars)).isEqualTo(6L);
    }

    @Test
    void stringIndexOfStillWorksNextToListIndexOf() throws Exception {
        assertThat(CelHarness.eval("'hello'.indexOf('l')")).isEqualTo(2L);
        assertThat(CelHarness.eval("'hello'.lastIndexOf('l')")).isEqualTo(3L);
        assertThat(CelHarness.eval("object.name.indexOf('l')", Map.of("object", Map.of("name", "hello"))))
                .isEqualTo(2L);
    }

    @Test
    void minAndMaxOfAnEmptyListAreErrors() {
        assertThatThrownBy(() -> CelHarness.eval("[].min()"))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("min called on empty list");
        assertThatThrownBy(() -> CelHarness.eval("[].max()"))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("max called on empty list");
        assertThatThrownBy(() -> CelHarness.eval("object.items.max()", Map.of("object", Map.of("items", List.of()))))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("max called on empty list");
    }

    @Test
    void sumOverflowIsAnError() {
        assertThatThrownBy(() -> CelHarness.eval("[9223372036854775807, 1].sum()"))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("integer overflow");
        assertThatThrownBy(() -> CelHarness.eval("[18446744073709551615u, 1u].sum()"))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("integer overflow");
    }

    @Test
    void elementsThatCannotBeOrderedOrAddedAreErrorsAtRuntime() {
        Map<String, Object> vars = Map.of("object", Map.of(
                "nested", List.of(List.of(1L), List.of(2L)),
                "words", List.of("a", "b")));
        assertThatThrownBy(() -> CelHarness.eval("object.nested.min()", vars))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("no such overload");
        assertThatThrownBy(() -> CelHarness.eval("object.nested.isSorted()", vars))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("no such overload");
        assertThatThrownBy(() -> CelHarness.eval("object.words.sum()", vars))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("no such overload");
    }

    @Test
    void listsOfUnsuitableStaticTypeDoNotCompile() {
        assertThatThrownBy(() -> CelHarness.compile("['a', 'b'].sum()"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("found no matching overload for 'sum' applied to 'list(string).()'");
        assertThatThrownBy(() -> CelHarness.compile("[true].sum()"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("'sum'");
        assertThatThrownBy(() -> CelHarness.compile("[[1], [2]].min()"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("found no matching overload for 'min' applied to 'list(list(int)).()'");
        assertThatThrownBy(() -> CelHarness.compile("[{'a': 1}].isSorted()"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("'isSorted'");
        assertThatThrownBy(() -> CelHarness.compile("[ip('1.2.3.4')].max()"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("'max'");
        assertThatThrownBy(() -> CelHarness.compile("'abc'.sum()"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("no matching overload");
        assertThatThrownBy(() -> CelHarness.compile("[1, 2].indexOf('a')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("no matching overload");
    }
}
