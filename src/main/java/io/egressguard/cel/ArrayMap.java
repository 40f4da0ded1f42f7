package io.egressguard.cel;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * An immutable map of a JSON object read by {@link JsonBytes}: the entries in one array in document order, found
 * by a scan when there are few of them and through a small hash index when there are more. It is a full
 * {@link Map} (equal to and hashing as any map with the same entries) that costs two arrays where a
 * {@link java.util.LinkedHashMap} costs a table and an object per entry.
 *
 * <p>Keys are strings and values never {@code null}. A lookup tries identity before equality, which finds keys
 * interned as {@link JsonBytes} interns them on the first comparison; it looks at no more index slots than the
 * farthest any key was placed from its own, which {@link #of} bounds.
 */
public final class ArrayMap extends AbstractMap<String, Object> {

    /** Up to this many entries a lookup scans; above, it uses the index. */
    private static final int SCAN_LIMIT = 8;
    /**
     * The longest run of the index a key may be placed away from its slot. Keys whose hash codes collide (easily
     * made on purpose) would make longer runs and lookups that scan them: such an object is a
     * {@link LinkedHashMap}, whose buckets of colliding keys are trees.
     */
    private static final int PROBE_LIMIT = 64;

    /** Keys at even positions, each followed by its value. */
    private final Object[] entries;
    /** Open addressing by key hash: 1 + the entry's number, 0 for free; null when the map is small. */
    private final int[] index;
    /** The farthest any key of the index is from its slot, so the farthest a lookup looks. */
    private final int probes;

    private ArrayMap(Object[] entries, int[] index, int probes) {
        this.entries = entries;
        this.index = index;
        this.probes = probes;
    }

    /**
     * A map of {@code entries[from, to)}, keys at even offsets followed by their values: an {@code ArrayMap}, or a
     * {@link LinkedHashMap} when the keys' hash codes collide too much for the index. The keys must be distinct.
     */
    static Map<String, Object> of(Object[] entries, int from, int to) {
        Object[] own = new Object[to - from];
        System.arraycopy(entries, from, own, 0, own.length);
        int size = own.length >> 1;
        if (size <= SCAN_LIMIT) {
            return new ArrayMap(own, null, 0);
        }
        int[] table = new int[Integer.highestOneBit(size * 2 - 1) << 1];
        int mask = table.length - 1;
        int longest = 0;
        for (int i = 0; i < size; i++) {
            int slot = spread(own[2 * i].hashCode()) & mask;
            int probe = 0;
            while (table[slot] != 0) {
                slot = (slot + 1) & mask;
                probe++;
            }
            if (probe > PROBE_LIMIT) {
                Map<String, Object> map = new LinkedHashMap<>((int) (size / 0.75f) + 1);
                for (int j = 0; j < own.length; j += 2) {
                    map.put((String) own[j], own[j + 1]);
                }
                return map;
            }
            longest = Math.max(longest, probe);
            table[slot] = i + 1;
        }
        return new ArrayMap(own, table, longest);
    }

    private static int spread(int h) {
        return h ^ (h >>> 16);
    }

    /** The position of the key in {@link #entries}, or -1. */
    private int find(Object key) {
        Object[] entries = this.entries;
        int[] index = this.index;
        if (index == null) {
            for (int i = 0; i < entries.length; i += 2) {
                if (entries[i] == key) {
                    return i;
                }
            }
            if (key instanceof String) {
                for (int i = 0; i < entries.length; i += 2) {
                    if (key.equals(entries[i])) {
                        return i;
                    }
                }
            }
            return -1;
        }
        if (key == null) {
            return -1;
        }
        int h = key.hashCode();
        int mask = index.length - 1;
        int slot = spread(h) & mask;
        for (int probe = 0; probe <= probes; probe++, slot = (slot + 1) & mask) {
            int e = index[slot];
            if (e == 0) {
                return -1;
            }
            Object k = entries[2 * (e - 1)];
            if (k == key || k.hashCode() == h && k.equals(key)) {
                return 2 * (e - 1);
            }
        }
        return -1;
    }

    /**
     * The value of an interned key (as the evaluator's field names are), or null. This map's keys are interned
     * ({@link JsonBytes} interns every key it reads), so an interned key is found by identity alone, and a scan that
     * finds none is done without comparing strings.
     */
    public Object getInterned(String key) {
        Object[] entries = this.entries;
        if (index == null) {
            for (int i = 0; i < entries.length; i += 2) {
                if (entries[i] == key) {
                    return entries[i + 1];
                }
            }
            return null;
        }
        int i = find(key);
        return i < 0 ? null : entries[i + 1];
    }

    @Override
    public Object get(Object key) {
        int i = find(key);
        return i < 0 ? null : entries[i + 1];
    }

    @Override
    public boolean containsKey(Object key) {
        return find(key) >= 0;
    }

    @Override
    public int size() {
        return entries.length >> 1;
    }

    @Override
    public boolean isEmpty() {
        return entries.length == 0;
    }

    @Override
    public void forEach(BiConsumer<? super String, ? super Object> action) {
        Object[] entries = this.entries;
        for (int i = 0; i < entries.length; i += 2) {
            action.accept((String) entries[i], entries[i + 1]);
        }
    }

    @Override
    public Set<Map.Entry<String, Object>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Map.Entry<String, Object>> iterator() {
                return new Iterator<>() {
                    private int next;

                    @Override
                    public boolean hasNext() {
                        return next < entries.length;
                    }

                    @Override
                    public Map.Entry<String, Object> next() {
                        if (next >= entries.length) {
                            throw new NoSuchElementException();
                        }
                        Map.Entry<String, Object> e =
                                new SimpleImmutableEntry<>((String) entries[next], entries[next + 1]);
                        next += 2;
                        return e;
                    }
                };
            }

            @Override
            public int size() {
                return entries.length >> 1;
            }
        };
    }
}
