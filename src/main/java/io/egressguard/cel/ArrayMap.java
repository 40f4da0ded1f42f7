package io.egressguard.cel;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
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
 * interned as {@link JsonBytes} interns them on the first comparison.
 */
public final class ArrayMap extends AbstractMap<String, Object> {

    /** Up to this many entries a lookup scans; above, it uses the index. */
    private static final int SCAN_LIMIT = 8;

    /** Keys at even positions, each followed by its value. */
    private final Object[] entries;
    /** Open addressing by key hash: 1 + the entry's number, 0 for free; null when the map is small. */
    private final int[] index;

    /**
     * A map of {@code entries[from, to)}, keys at even offsets followed by their values; the keys must be distinct.
     */
    ArrayMap(Object[] entries, int from, int to) {
        Object[] own = new Object[to - from];
        System.arraycopy(entries, from, own, 0, own.length);
        this.entries = own;
        int size = own.length >> 1;
        if (size <= SCAN_LIMIT) {
            this.index = null;
        } else {
            int[] table = new int[Integer.highestOneBit(size * 2 - 1) << 1];
            int mask = table.length - 1;
            for (int i = 0; i < size; i++) {
                int slot = spread(own[2 * i].hashCode()) & mask;
                while (table[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                table[slot] = i + 1;
            }
            this.index = table;
        }
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
        for (int slot = spread(h) & mask; ; slot = (slot + 1) & mask) {
            int e = index[slot];
            if (e == 0) {
                return -1;
            }
            Object k = entries[2 * (e - 1)];
            if (k == key || k.hashCode() == h && k.equals(key)) {
                return 2 * (e - 1);
            }
        }
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
