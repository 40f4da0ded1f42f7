package io.egressguard.cel;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.values.NullValue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a Jackson tree into the values cel-java's standard runtime evaluates, as Kubernetes presents unstructured
 * objects to CEL: objects become maps (in document order), arrays lists, strings and booleans themselves, integral
 * numbers that fit in 64 bits {@link Long} (CEL {@code int}), other numbers {@link Double}, and JSON {@code null} the
 * value of the CEL literal {@code null}.
 *
 * <p>The conversion makes one pass and allocates only the result containers and boxed numbers. Empty objects and
 * arrays share immutable instances; the other containers are plain mutable collections that the caller must not
 * modify while an evaluation uses them.
 */
public final class CelJson {

    private CelJson() {
    }

    /**
     * Converts a JSON tree; {@code null} and a missing node both convert to CEL {@code null}.
     *
     * @param node the tree, or {@code null}
     * @return a {@link Map}, {@link List}, {@link String}, {@link Boolean}, {@link Long}, {@link Double} or
     *     {@link NullValue#NULL_VALUE}
     */
    public static Object toCel(JsonNode node) {
        if (node == null) {
            return NullValue.NULL_VALUE;
        }
        switch (node.getNodeType()) {
            case OBJECT: {
                int size = node.size();
                if (size == 0) {
                    return Collections.emptyMap();
                }
                Map<String, Object> map = new LinkedHashMap<>(capacityFor(size));
                for (Map.Entry<String, JsonNode> e : node.properties()) {
                    map.put(e.getKey(), toCel(e.getValue()));
                }
                return map;
            }
            case ARRAY: {
                int size = node.size();
                if (size == 0) {
                    return Collections.emptyList();
                }
                List<Object> list = new ArrayList<>(size);
                for (int i = 0; i < size; i++) {
                    list.add(toCel(node.get(i)));
                }
                return list;
            }
            case STRING:
                return node.textValue();
            case BOOLEAN:
                return node.booleanValue();
            case NUMBER:
                if (node.isIntegralNumber() && node.canConvertToLong()) {
                    return node.longValue();
                }
                return node.doubleValue();
            case NULL:
            case MISSING:
                return NullValue.NULL_VALUE;
            default:
                return node.asText();
        }
    }

    /** The initial capacity at which a hash map holds {@code size} entries without resizing. */
    private static int capacityFor(int size) {
        return (int) (size / 0.75f) + 1;
    }

    /**
     * Reads the JSON value at the parser's current token straight into CEL values, as {@link #toCel(JsonNode)}
     * converts a tree, without building the tree first. A key that appears twice in an object is an error (a
     * {@link com.fasterxml.jackson.core.JsonParseException} "Duplicate field", as Jackson's own detection reports it,
     * which the parser then need not do); the parser's other checks (nesting depth, lengths) apply as it reads.
     *
     * @param parser positioned on the first token of the value; left on its last token
     */
    public static Object read(com.fasterxml.jackson.core.JsonParser parser) throws java.io.IOException {
        com.fasterxml.jackson.core.JsonToken token = parser.currentToken();
        if (token == null) {
            throw new com.fasterxml.jackson.core.JsonParseException(parser, "unexpected end of input");
        }
        switch (token) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    parser.nextToken();
                    if (map.put(name, read(parser)) != null) {
                        throw duplicate(parser, name);
                    }
                }
                return map.isEmpty() ? Collections.emptyMap() : map;
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                while (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
                    list.add(read(parser));
                }
                return list.isEmpty() ? Collections.emptyList() : list;
            }
            case VALUE_STRING:
                return parser.getText();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NUMBER_INT:
                if (parser.getNumberType() == com.fasterxml.jackson.core.JsonParser.NumberType.BIG_INTEGER) {
                    return parser.getDoubleValue();
                }
                return parser.getLongValue();
            case VALUE_NUMBER_FLOAT:
                return parser.getDoubleValue();
            case VALUE_NULL:
                return NullValue.NULL_VALUE;
            default:
                throw new com.fasterxml.jackson.core.JsonParseException(parser, "unexpected token " + token);
        }
    }

    /** The error for a key that appears twice in one object, worded as Jackson's duplicate detection words it. */
    public static com.fasterxml.jackson.core.JsonParseException duplicate(
            com.fasterxml.jackson.core.JsonParser parser, String name) {
        return new com.fasterxml.jackson.core.JsonParseException(parser, "Duplicate field '" + name + "'");
    }
}
