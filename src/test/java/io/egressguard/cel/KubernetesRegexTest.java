package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cel.common.CelValidationException;
import dev.cel.runtime.CelEvaluationException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KubernetesRegexTest {

    @Test
    void findReturnsTheFirstMatchOrTheEmptyString() throws Exception {
        assertThat(CelHarness.eval("'abc 123'.find('[0-9]+')")).isEqualTo("123");
        assertThat(CelHarness.eval("\"abc 123\".find('[0-9]+') == \"123\"")).isEqualTo(true);
        assertThat(CelHarness.eval("'abc 123'.find('xyz')")).isEqualTo("");
        assertThat(CelHarness.eval("'abc 123 456'.find('[0-9]+')")).isEqualTo("123");
        assertThat(CelHarness.eval("'key=value'.find('=(.*)')")).isEqualTo("=value");
    }

    @Test
    void findAllReturnsEveryMatch() throws Exception {
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]+')")).isEqualTo(List.of("123", "456"));
        assertThat(CelHarness.eval("\"123 abc 456\".findAll('[0-9]+') == [\"123\", \"456\"]")).isEqualTo(true);
        assertThat(CelHarness.eval("'123 abc 456'.findAll('xyz')")).isEqualTo(List.of());
    }

    @Test
    void findAllHonoursTheLimit() throws Exception {
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]+', 1)")).isEqualTo(List.of("123"));
        assertThat(CelHarness.eval("\"123 abc 456\".findAll('[0-9]+', 1) == [\"123\"]")).isEqualTo(true);
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]+', 0)")).isEqualTo(List.of());
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]+', -1)")).isEqualTo(List.of("123", "456"));
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]+', 5)")).isEqualTo(List.of("123", "456"));
    }

    @Test
    void findAllSkipsAnEmptyMatchRightAfterAMatchAsGoDoes() throws Exception {
        // Go's FindAllString("123 abc 456", -1) with [0-9]*: no empty match at 3, one at each of 4..7.
        assertThat(CelHarness.eval("'123 abc 456'.findAll('[0-9]*')"))
                .isEqualTo(List.of("123", "", "", "", "", "456"));
        assertThat(CelHarness.eval("'abc'.findAll('')")).isEqualTo(List.of("", "", "", ""));
        assertThat(CelHarness.eval("'\\U0001f600a'.findAll('')")).isEqualTo(List.of("", "", ""));
        assertThat(CelHarness.eval("'aaa'.findAll('a*?')")).isEqualTo(List.of("", "", "", ""));
    }

    @Test
    void usesRe2Syntax() throws Exception {
        assertThat(CelHarness.eval("'Hello World'.findAll('(?i)[a-z]+')")).isEqualTo(List.of("Hello", "World"));
        assertThat(CelHarness.eval("'a1 b22'.findAll('\\\\pL\\\\d+')")).isEqualTo(List.of("a1", "b22"));
        assertThat(CelHarness.eval("'x-y_z'.findAll('[[:alpha:]]')")).isEqualTo(List.of("x", "y", "z"));
        assertThat(CelHarness.eval("'ab ab'.findAll('^ab')")).isEqualTo(List.of("ab"));
        assertThat(CelHarness.eval("'über straße'.findAll('\\\\w+')")).isEqualTo(List.of("ber", "stra", "e"));
    }

    @Test
    void aPatternFromDataIsCompiledAtRuntime() throws Exception {
        Map<String, Object> vars = Map.of("params", Map.of("pattern", "v[0-9]+"), "object",
                Map.of("image", "nginx:v1 v22"));
        assertThat(CelHarness.eval("object.image.findAll(params.pattern)", vars)).isEqualTo(List.of("v1", "v22"));
        assertThat(CelHarness.eval("object.image.find(params.pattern)", vars)).isEqualTo("v1");
    }

    @Test
    void thePatternCacheStaysBounded() throws Exception {
        for (int i = 0; i < KubernetesRegexLibrary.PATTERN_CACHE_SIZE + 50; i++) {
            Map<String, Object> vars = Map.of("params", Map.of("pattern", "x{" + i + "}"), "object",
                    Map.of("name", "xx"));
            String expected = i <= 2 ? "xx".substring(0, i) : "";
            assertThat(CelHarness.eval("object.name.find(params.pattern)", vars)).isEqualTo(expected);
        }
        assertThat(KubernetesRegexLibrary.cachedPatternCount())
                .isLessThanOrEqualTo(KubernetesRegexLibrary.PATTERN_CACHE_SIZE);
    }

    @Test
    void cachedAnswersStayBoundedAndCorrect() throws Exception {
        for (int i = 0; i < KubernetesRegexLibrary.MAX_ANSWERS + 100; i++) {
            Map<String, Object> vars = Map.of("object", Map.of("name", "pod-" + i));
            assertThat(CelHarness.eval("object.name.matches('-[0-9]*7$')", vars)).isEqualTo(i % 10 == 7);
            assertThat(CelHarness.eval("object.name.findAll('[0-9]')", vars))
                    .isEqualTo(String.valueOf(i).chars().mapToObj(c -> String.valueOf((char) c)).toList());
            assertThat(KubernetesRegexLibrary.cachedAnswerCount())
                    .isLessThanOrEqualTo(KubernetesRegexLibrary.MAX_ANSWERS);
        }
        // the same question again, answered from the cache or not, gets the same answer; limits are told apart
        Map<String, Object> vars = Map.of("object", Map.of("name", "pod-1234"));
        assertThat(CelHarness.eval("object.name.findAll('[0-9]', 2)", vars)).isEqualTo(List.of("1", "2"));
        assertThat(CelHarness.eval("object.name.findAll('[0-9]')", vars)).isEqualTo(List.of("1", "2", "3", "4"));
        assertThat(CelHarness.eval("object.name.findAll('[0-9]', 2)", vars)).isEqualTo(List.of("1", "2"));
        // long texts are never kept
        String longName = "x".repeat(KubernetesRegexLibrary.MAX_ANSWER_TEXT + 1);
        int before = KubernetesRegexLibrary.cachedAnswerCount();
        assertThat(CelHarness.eval("object.name.matches('^x+$')", Map.of("object", Map.of("name", longName))))
                .isEqualTo(true);
        assertThat(KubernetesRegexLibrary.cachedAnswerCount()).isEqualTo(before);
    }

    @Test
    void matchesIsAnUnanchoredRe2SearchInBothForms() throws Exception {
        assertThat(CelHarness.eval("'docker.io/istio/proxyv2:1.2'.matches('proxyv2')")).isEqualTo(true);
        assertThat(CelHarness.eval("matches('docker.io/istio/proxyv2:1.2', '^docker\\\\.io/')")).isEqualTo(true);
        assertThat(CelHarness.eval("'abc'.matches('^b')")).isEqualTo(false);
        assertThat(CelHarness.eval("'ABC'.matches('(?i)^abc$')")).isEqualTo(true);
        assertThat(CelHarness.eval("''.matches('')")).isEqualTo(true);
        assertThat(CelHarness.eval("'a\\nb'.matches('^b')")).isEqualTo(false);
        assertThat(CelHarness.eval("'a\\nb'.matches('(?m)^b')")).isEqualTo(true);
    }

    @Test
    void matchesCompilesAPatternFromDataOnceAndKeepsIt() throws Exception {
        String pattern = "^registry[.]example/proxy-" + System.nanoTime() + "$";
        Map<String, Object> vars = Map.of("params", Map.of("pattern", pattern), "object",
                Map.of("image", "registry.example/proxy-1"));
        assertThat(KubernetesRegexLibrary.isCached(pattern)).isFalse();
        assertThat(CelHarness.eval("object.image.matches(params.pattern)", vars)).isEqualTo(false);
        assertThat(KubernetesRegexLibrary.isCached(pattern)).isTrue();
        assertThat(CelHarness.eval("matches(object.image, params.pattern)", vars)).isEqualTo(false);
        assertThat(CelHarness.eval("object.image.matches(params.pattern.substring(1, 26))", vars))
                .isEqualTo(true);
    }

    @Test
    void anInvalidPatternFromDataIsAnEvaluationErrorOfMatchesToo() throws Exception {
        Map<String, Object> vars = Map.of("params", Map.of("pattern", "(a"), "object", Map.of("name", "a"));
        assertThatThrownBy(() -> CelHarness.eval("object.name.matches(params.pattern)", vars))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessageContaining("Illegal regex: error parsing regexp: missing closing )");
        assertThatThrownBy(() -> CelHarness.eval("matches(object.name, params.pattern)", vars))
                .isInstanceOf(CelEvaluationException.class).hasMessageContaining("Illegal regex");
        // as in Kubernetes, a logical operator absorbs the error when the other side decides
        assertThat(CelHarness.eval("object.name.matches(params.pattern) || true", vars)).isEqualTo(true);
    }

    @Test
    void anInvalidPatternFromDataIsAnEvaluationError() {
        Map<String, Object> vars = Map.of("params", Map.of("pattern", "("), "object", Map.of("name", "x"));
        assertThatThrownBy(() -> CelHarness.eval("object.name.find(params.pattern)", vars))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessageContaining("Illegal regex: error parsing regexp: missing closing ): `(`");
        assertThatThrownBy(() -> CelHarness.eval("object.name.findAll(params.pattern, 2)", vars))
                .isInstanceOf(CelEvaluationException.class)
                .hasMessageContaining("Illegal regex");
    }

    @Test
    void anInvalidLiteralPatternIsRejectedAtCompileTime() {
        assertThatThrownBy(() -> CelHarness.compile("'abc'.find('(')"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("error parsing regexp: missing closing )");
        assertThatThrownBy(() -> CelHarness.compile("'abc'.findAll('[a-', 1)"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("error parsing regexp");
        // Look-arounds and back-references are not RE2 and Kubernetes rejects them.
        assertThatThrownBy(() -> CelHarness.compile("'abc'.matches('a(?=b)')"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("invalid regular expression");
        assertThatThrownBy(() -> CelHarness.compile("matches('abab', '(ab)\\\\1')"))
                .isInstanceOf(CelValidationException.class)
                .hasMessageContaining("invalid regular expression");
    }

    @Test
    void findOnANonStringDoesNotCompile() {
        assertThatThrownBy(() -> CelHarness.compile("123.find('1')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("no matching overload");
        assertThatThrownBy(() -> CelHarness.compile("'1'.findAll('1', '2')"))
                .isInstanceOf(CelValidationException.class).hasMessageContaining("no matching overload");
    }
}
