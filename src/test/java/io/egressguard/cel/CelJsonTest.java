package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cel.common.values.NullValue;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CelJsonTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static final String POD = """
            {
              "apiVersion": "v1",
              "kind": "Pod",
              "metadata": {"name": "web", "labels": {"x": "y", "app": "web"}},
              "spec": {
                "containers": [
                  {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]},
                  {"name": "sidecar", "image": "envoy:1.30", "ports": [{"containerPort": 15001}]}
                ]
              },
              "foo": null,
              "n": 1337,
              "ratio": 0.25,
              "exp": 1e3,
              "huge": 18446744073709551616,
              "negative": -42,
              "flag": true,
              "empty": {},
              "none": []
            }
            """;

    private static Map<String, Object> pod() throws Exception {
        return Map.of("object", CelJson.toCel(MAPPER.readTree(POD)));
    }

    private static Object eval(String expression) throws Exception {
        return CelHarness.eval(expression, pod());
    }

    @Test
    void hasSeesPresentAndAbsentFields() throws Exception {
        assertThat(eval("has(object.metadata.labels)")).isEqualTo(true);
        assertThat(eval("has(object.metadata.annotations)")).isEqualTo(false);
        assertThat(eval("has(object.spec.hostNetwork)")).isEqualTo(false);
    }

    @Test
    void macrosIterateOverConvertedArrays() throws Exception {
        assertThat(eval("object.spec.containers.all(c, c.image.contains(':'))")).isEqualTo(true);
        assertThat(eval("object.spec.containers.exists(c, c.name == 'sidecar')")).isEqualTo(true);
        assertThat(eval("object.spec.containers.map(c, c.name)")).isEqualTo(List.of("app", "sidecar"));
        assertThat(eval("object.spec.containers.all(c, c.ports.all(p, p.containerPort > 1024))"))
                .isEqualTo(true);
        assertThat(eval("object.none.all(x, false)")).isEqualTo(true);
    }

    @Test
    void optionalFieldSelectionFallsBackToTheDefault() throws Exception {
        assertThat(eval("object.?spec.?hostNetwork.orValue(false)")).isEqualTo(false);
        assertThat(eval("object.?metadata.?name.orValue('none')")).isEqualTo("web");
        assertThat(eval("object.?metadata.?labels['app'].orValue('')")).isEqualTo("web");
        assertThat(eval("object.?missing.?deeper.hasValue()")).isEqualTo(false);
    }

    @Test
    void mapsAreIndexedByKey() throws Exception {
        assertThat(eval("object.metadata.labels['x'] == 'y'")).isEqualTo(true);
        assertThat(eval("'app' in object.metadata.labels")).isEqualTo(true);
        assertThat(eval("object.empty.size() == 0")).isEqualTo(true);
    }

    @Test
    void jsonNullIsCelNull() throws Exception {
        assertThat(eval("object.foo == null")).isEqualTo(true);
        assertThat(eval("null == object.foo")).isEqualTo(true);
        assertThat(eval("object.foo != null")).isEqualTo(false);
        assertThat(eval("type(object.foo) == null_type")).isEqualTo(true);
        assertThat(eval("has(object.foo)")).isEqualTo(true);
        assertThat(eval("object.foo")).isSameAs(CelHarness.eval("null"));
    }

    @Test
    void integersAreCelInts() throws Exception {
        assertThat(eval("object.n == 1337")).isEqualTo(true);
        assertThat(eval("object.n + 1")).isEqualTo(1338L);
        assertThat(eval("type(object.n) == int")).isEqualTo(true);
        assertThat(eval("object.negative * 2")).isEqualTo(-84L);
        assertThat(eval("object.n > 1000")).isEqualTo(true);
        assertThat(eval("object.spec.containers[0].ports[0].containerPort % 1000")).isEqualTo(80L);
    }

    @Test
    void otherNumbersAreCelDoubles() throws Exception {
        assertThat(eval("object.ratio == 0.25")).isEqualTo(true);
        assertThat(eval("object.ratio * 4.0")).isEqualTo(1.0);
        assertThat(eval("type(object.ratio) == double")).isEqualTo(true);
        assertThat(eval("type(object.exp) == double && object.exp == 1000.0")).isEqualTo(true);
        assertThat(eval("type(object.huge) == double")).isEqualTo(true);
        assertThat(eval("object.ratio < 1")).isEqualTo(true);
    }

    @Test
    void stringsAndBooleansAreThemselves() throws Exception {
        assertThat(eval("object.kind")).isEqualTo("Pod");
        assertThat(eval("object.flag && object.kind.startsWith('P')")).isEqualTo(true);
    }

    @Test
    void convertsToPlainJavaValues() throws Exception {
        JsonNode node = MAPPER.readTree(
                "{\"a\": [1, 2.5, \"s\", false, null, {}], \"b\": {\"c\": 9223372036854775807}}");
        Object converted = CelJson.toCel(node);
        assertThat(converted).isEqualTo(Map.of(
                "a", List.of(1L, 2.5, "s", false, NullValue.NULL_VALUE, Map.of()),
                "b", Map.of("c", Long.MAX_VALUE)));
        assertThat(List.copyOf(((Map<?, ?>) converted).keySet())).isEqualTo(List.of("a", "b"));
        assertThat(CelJson.toCel(null)).isSameAs(NullValue.NULL_VALUE);
        assertThat(CelJson.toCel(MAPPER.missingNode())).isSameAs(NullValue.NULL_VALUE);
        assertThat(CelJson.toCel(MAPPER.readTree("[]"))).isEqualTo(List.of());
    }
}
