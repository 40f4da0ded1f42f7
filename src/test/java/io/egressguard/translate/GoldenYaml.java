package io.egressguard.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes the multi-document YAML files of the golden cases. */
final class GoldenYaml {

    static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .build();

    private GoldenYaml() {
    }

    /** Every non-empty document of a YAML file. */
    static List<JsonNode> read(Path file) {
        try {
            return parse(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> parse(String text) {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    docs.add(doc);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return docs;
    }

    /** One document per node, separated by {@code ---}. */
    static String write(List<? extends JsonNode> docs) {
        StringBuilder b = new StringBuilder();
        for (JsonNode doc : docs) {
            b.append("---\n");
            try {
                b.append(YAML.writeValueAsString(doc));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return b.toString();
    }

    /** A problem as the tree written in {@code expected-problems.yaml}. */
    static ObjectNode tree(TranslationProblem p) {
        ObjectNode node = YAML.createObjectNode();
        node.put("source", p.source());
        node.put("path", p.path());
        node.put("message", p.message());
        node.put("error", p.error());
        return node;
    }
}
