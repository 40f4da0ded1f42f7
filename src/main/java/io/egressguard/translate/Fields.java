package io.egressguard.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A read-only view of one object of a declaration that remembers which fields were read, so that every field the
 * translator does not understand is refused instead of silently dropped ({@link #rejectUnread}). Type errors are
 * reported with the field path and the value is treated as absent.
 */
final class Fields {

    private static final String UNSUPPORTED = "not supported by Egress Guard; remove it";

    private final JsonNode node;
    private final String path;
    private final Findings findings;
    private final Set<String> read = new HashSet<>();

    private Fields(JsonNode node, String path, Findings findings) {
        this.node = node;
        this.path = path;
        this.findings = findings;
    }

    /** A view of {@code node}; anything but an object is reported and read as an empty object. */
    static Fields of(JsonNode node, String path, Findings findings) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return new Fields(JsonNodeFactory.instance.objectNode(), path, findings);
        }
        if (!node.isObject()) {
            findings.error(path, "must be an object");
            return new Fields(JsonNodeFactory.instance.objectNode(), path, findings);
        }
        return new Fields(node, path, findings);
    }

    String path() {
        return path;
    }

    /** The path of one field of this object. */
    String path(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    Findings findings() {
        return findings;
    }

    /** Whether the field is present with a non-null value (does not count as reading it). */
    boolean has(String key) {
        JsonNode value = node.get(key);
        return value != null && !value.isNull();
    }

    /** Marks fields as understood without reading them. */
    void accept(String... keys) {
        read.addAll(List.of(keys));
    }

    String string(String key) {
        JsonNode value = take(key);
        if (value == null) {
            return null;
        }
        if (!value.isTextual()) {
            findings.error(path(key), "must be a string");
            return null;
        }
        return value.textValue();
    }

    Integer integer(String key, int min, int max) {
        JsonNode value = take(key);
        if (value == null) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            findings.error(path(key), "must be an integer from " + min + " to " + max);
            return null;
        }
        int n = value.intValue();
        if (n < min || n > max) {
            findings.error(path(key), n + " is out of range: must be from " + min + " to " + max);
            return null;
        }
        return n;
    }

    Boolean bool(String key) {
        JsonNode value = take(key);
        if (value == null) {
            return null;
        }
        if (!value.isBoolean()) {
            findings.error(path(key), "must be true or false");
            return null;
        }
        return value.booleanValue();
    }

    /** A nested object, or {@code null} when absent. */
    Fields object(String key) {
        JsonNode value = take(key);
        if (value == null) {
            return null;
        }
        return of(value, path(key), findings);
    }

    /** A list of objects; empty when absent. */
    List<Fields> objects(String key) {
        JsonNode value = take(key);
        List<Fields> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        if (!value.isArray()) {
            findings.error(path(key), "must be a list");
            return out;
        }
        for (int i = 0; i < value.size(); i++) {
            out.add(of(value.get(i), path(key) + "[" + i + "]", findings));
        }
        return out;
    }

    /** A list of strings; empty when absent. */
    List<String> strings(String key) {
        JsonNode value = take(key);
        List<String> out = new ArrayList<>();
        if (value == null) {
            return out;
        }
        if (!value.isArray()) {
            findings.error(path(key), "must be a list of strings");
            return out;
        }
        for (int i = 0; i < value.size(); i++) {
            JsonNode item = value.get(i);
            if (item.isTextual()) {
                out.add(item.textValue());
            } else {
                findings.error(path(key) + "[" + i + "]", "must be a string");
            }
        }
        return out;
    }

    /** A map of strings (labels), sorted by key; empty when absent. */
    Map<String, String> stringMap(String key) {
        JsonNode value = take(key);
        Map<String, String> out = new TreeMap<>();
        if (value == null) {
            return out;
        }
        if (!value.isObject()) {
            findings.error(path(key), "must be a map of strings");
            return out;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isTextual()) {
                out.put(e.getKey(), e.getValue().textValue());
            } else {
                findings.error(path(key) + "." + e.getKey(), "must be a string");
            }
        }
        return out;
    }

    /** Refuses every present field that was neither read nor accepted. */
    void rejectUnread() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!read.contains(key)) {
                findings.error(path(key), UNSUPPORTED);
            }
        }
    }

    private JsonNode take(String key) {
        read.add(key);
        JsonNode value = node.get(key);
        return value == null || value.isNull() ? null : value;
    }
}
