package io.egressguard.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * RFC 6902 patches computed by diffing the raw request object against its mutated copy, so fields the mutation does
 * not know are never touched. Arrays that differ are replaced whole.
 */
public final class JsonPatch {

    private JsonPatch() {
    }

    /** The operations that turn {@code source} into {@code target}; empty when they are equal. */
    public static ArrayNode diff(JsonNode source, JsonNode target) {
        ArrayNode ops = JsonNodeFactory.instance.arrayNode();
        diff("", source, target, ops);
        return ops;
    }

    private static void diff(String path, JsonNode source, JsonNode target, ArrayNode ops) {
        if (source.equals(target)) {
            return;
        }
        if (source.isObject() && target.isObject()) {
            for (Iterator<String> it = source.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!target.has(name)) {
                    ops.addObject().put("op", "remove").put("path", path + "/" + escape(name));
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = target.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String child = path + "/" + escape(e.getKey());
                JsonNode before = source.get(e.getKey());
                if (before == null) {
                    ObjectNode op = ops.addObject().put("op", "add").put("path", child);
                    op.set("value", e.getValue());
                } else {
                    diff(child, before, e.getValue(), ops);
                }
            }
            return;
        }
        ObjectNode op = ops.addObject().put("op", "replace").put("path", path);
        op.set("value", target);
    }

    /** RFC 6901 escaping of one reference token. */
    public static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }
}
