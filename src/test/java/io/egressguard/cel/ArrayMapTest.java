package io.egressguard.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ArrayMap} is a full, immutable {@link Map}, small (scanned) or large (indexed). */
class ArrayMapTest {

    /** A map of {@code size} entries "k0" to "kN", as the reader makes it, and the same as a LinkedHashMap. */
    static ArrayMap map(int size, Map<String, Object> same) {
        Object[] entries = new Object[2 * size + 4];
        for (int i = 0; i < size; i++) {
            String key = ("k" + i).intern();
            entries[2 + 2 * i] = key;
            entries[3 + 2 * i] = (long) i;
            same.put(key, (long) i);
        }
        return (ArrayMap) ArrayMap.of(entries, 2, 2 + 2 * size);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 8, 9, 16, 17, 100})
    void behavesAsAnyMapWithTheSameEntries(int size) {
        Map<String, Object> expected = new LinkedHashMap<>();
        ArrayMap map = map(size, expected);
        assertThat(map).isEqualTo(expected).isEqualTo(new HashMap<>(expected)).hasSize(size);
        assertThat(expected).isEqualTo(map);
        assertThat(new HashMap<>(expected)).isEqualTo(map);
        assertThat(map.hashCode()).isEqualTo(expected.hashCode());
        assertThat(map.toString()).isEqualTo(expected.toString());
        assertThat(map.keySet()).containsExactlyElementsOf(expected.keySet());
        assertThat(map.values()).containsExactlyElementsOf(expected.values());
        assertThat(new HashMap<>(map)).isEqualTo(expected);
        List<String> seen = new java.util.ArrayList<>();
        map.forEach((k, v) -> seen.add(k + "=" + v));
        assertThat(seen).hasSize(size).first().isEqualTo("k0=0");
        assertThat(map.isEmpty()).isFalse();
        Map<String, Object> other = new LinkedHashMap<>(expected);
        other.put("k0", -1L);
        assertThat(map).isNotEqualTo(other);
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 40})
    void findsKeysThatAreEqualButNotIdentical(int size) {
        ArrayMap map = map(size, new LinkedHashMap<>());
        for (int i = 0; i < size; i++) {
            String key = new String(("k" + i).toCharArray());
            assertThat(key).isNotSameAs(key.intern());
            assertThat(map.get(key)).isEqualTo((long) i);
            assertThat(map.containsKey(key)).isTrue();
        }
        assertThat(map.get("missing")).isNull();
        assertThat(map.containsKey("missing")).isFalse();
        assertThat(map.get(null)).isNull();
        assertThat(map.containsKey(null)).isFalse();
        assertThat(map.get(7)).isNull();
        assertThat(map.containsValue(1L)).isTrue();
        assertThat(map.getOrDefault("missing", "d")).isEqualTo("d");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 9, 40})
    void findsInternedKeysByIdentity(int size) {
        ArrayMap map = map(size, new LinkedHashMap<>());
        for (int i = 0; i < size; i++) {
            assertThat(map.getInterned(("k" + i).intern())).isEqualTo((long) i);
        }
        assertThat(map.getInterned("missing")).isNull();
        assertThat(map.getInterned("k" + size)).isNull();
    }

    @Test
    void readsKeysInterned() throws Exception {
        String json = "{\"metadata\":{\"n\\u0061me\":\"web\",\"labels\":{\"app\":\"x\",\"caf\u00e9\":\"y\"}}}";
        Map<?, ?> object = (Map<?, ?>) JsonBytes.read(json.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                new JsonBytes.Limits(100, 1000, 100, 1000)).value();
        for (Object key : ((Map<?, ?>) object.get("metadata")).keySet()) {
            assertThat(key).isSameAs(((String) key).intern());
        }
        Map<?, ?> labels = (Map<?, ?>) ((Map<?, ?>) object.get("metadata")).get("labels");
        assertThat(((ArrayMap) labels).getInterned("caf\u00e9".intern())).isEqualTo("y");
        assertThat(((ArrayMap) object.get("metadata")).getInterned("name")).isEqualTo("web");
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 20})
    void cannotBeChanged(int size) {
        ArrayMap map = map(size, new LinkedHashMap<>());
        assertThatThrownBy(() -> map.put("x", 1L)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> map.remove("k0")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(map::clear).isInstanceOf(UnsupportedOperationException.class);
        Iterator<Map.Entry<String, Object>> it = map.entrySet().iterator();
        Map.Entry<String, Object> first = it.next();
        assertThatThrownBy(() -> first.setValue(2L)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(it::remove).isInstanceOf(UnsupportedOperationException.class);
        assertThat(map).hasSize(size);
    }

    /** 2^bits distinct keys with one hash code: "Aa" and "BB" hash alike. */
    static List<String> colliding(int bits) {
        List<String> keys = new java.util.ArrayList<>();
        for (int i = 0; i < 1 << bits; i++) {
            StringBuilder key = new StringBuilder();
            for (int b = 0; b < bits; b++) {
                key.append((i >> b & 1) == 0 ? "Aa" : "BB");
            }
            keys.add(key.toString().intern());
        }
        return keys;
    }

    @Test
    void keysWithCollidingHashCodesGiveALinkedHashMapNotALongScan() {
        List<String> keys = colliding(14);
        assertThat(keys.stream().mapToInt(String::hashCode).distinct().count()).isEqualTo(1);
        Object[] entries = new Object[2 * keys.size()];
        for (int i = 0; i < keys.size(); i++) {
            entries[2 * i] = keys.get(i);
            entries[2 * i + 1] = (long) i;
        }
        long start = System.nanoTime();
        Map<String, Object> map = ArrayMap.of(entries, 0, entries.length);
        assertThat(map).isInstanceOf(LinkedHashMap.class).hasSize(keys.size());
        assertThat(map.get(keys.get(12_345))).isEqualTo(12_345L);
        assertThat(map.keySet()).containsExactlyElementsOf(keys);
        assertThat(System.nanoTime() - start).isLessThan(2_000_000_000L);
        // a few collisions stay an ArrayMap, whose lookups still find every key
        Map<String, Object> few = ArrayMap.of(entries, 0, 2 * 40);
        assertThat(few).isInstanceOf(ArrayMap.class);
        for (int i = 0; i < 40; i++) {
            assertThat(few.get(new String(keys.get(i).toCharArray()))).isEqualTo((long) i);
        }
        assertThat(few.get(keys.get(41))).isNull();
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void iteratesInOrderToTheEnd(int size) {
        ArrayMap map = map(size, new LinkedHashMap<>());
        Iterator<Map.Entry<String, Object>> it = map.entrySet().iterator();
        for (int i = 0; i < size; i++) {
            assertThat(it.next().getKey()).isEqualTo("k" + i);
        }
        assertThat(it.hasNext()).isFalse();
        assertThatThrownBy(it::next).isInstanceOf(NoSuchElementException.class);
        assertThat(map.isEmpty()).isEqualTo(size == 0);
    }
}
