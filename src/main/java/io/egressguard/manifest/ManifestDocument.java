package io.egressguard.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * One object read from a manifest source.
 *
 * @param source file path (or {@code -} for standard input)
 * @param index 0-based position of the document in its source (after List kinds are unwrapped)
 * @param line 1-based line where the document starts (0 when unknown, e.g. JSON)
 * @param tree the object as a Jackson tree
 * @param positions JSON-pointer of each scalar to its position in the file (empty unless requested)
 */
public record ManifestDocument(String source, int index, int line, JsonNode tree, Map<String, SourcePosition> positions) {

    /** {@code path#index}, the name {@code check -o json} reports. */
    public String reference() {
        return source + "#" + index;
    }
}
