package io.egressguard.manifest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads Kubernetes manifests: multi-document YAML and JSON, from files, folders (recursively) and standard input,
 * with {@code List} kinds unwrapped. Duplicate keys, YAML syntax errors and invalid UTF-8 are errors that name the
 * source and line.
 */
public final class ManifestReader {

    /** Largest input accepted from one source. */
    public static final int MAX_SOURCE_BYTES = 16 * 1024 * 1024;
    private static final int MAX_DEPTH = 100;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private ManifestReader() {
    }

    /** Reads every path: a file, a folder (its {@code .yaml}, {@code .yml} and {@code .json} files, sorted) or {@code -}. */
    public static List<ManifestDocument> read(List<String> paths, InputStream stdin) throws ManifestException {
        List<ManifestDocument> all = new ArrayList<>();
        for (String p : paths) {
            if ("-".equals(p)) {
                all.addAll(parse(readStdin(stdin), "-", false));
                continue;
            }
            Path path = Path.of(p);
            if (Files.isDirectory(path)) {
                for (Path file : manifestFiles(path)) {
                    all.addAll(parse(readFile(file), file.toString(), false));
                }
            } else if (Files.isRegularFile(path)) {
                all.addAll(parse(readFile(path), p, false));
            } else {
                throw new ManifestException(p + ": no such file or directory");
            }
        }
        return all;
    }

    /** The manifest files under a folder, recursively, in a stable order. */
    public static List<Path> manifestFiles(Path dir) throws ManifestException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .filter(f -> {
                        String n = f.getFileName().toString();
                        return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                    })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new ManifestException(dir + ": " + e.getMessage(), e);
        }
    }

    public static String readFile(Path file) throws ManifestException {
        try {
            if (Files.size(file) > MAX_SOURCE_BYTES) {
                throw new ManifestException(file + ": larger than " + MAX_SOURCE_BYTES + " bytes");
            }
            return decode(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw new ManifestException(file + ": " + e.getMessage(), e);
        }
    }

    private static String readStdin(InputStream in) throws ManifestException {
        try {
            byte[] bytes = in.readNBytes(MAX_SOURCE_BYTES + 1);
            if (bytes.length > MAX_SOURCE_BYTES) {
                throw new ManifestException("-: standard input larger than " + MAX_SOURCE_BYTES + " bytes");
            }
            return decode(bytes, "-");
        } catch (IOException e) {
            throw new ManifestException("-: " + e.getMessage(), e);
        }
    }

    private static String decode(byte[] bytes, String source) throws ManifestException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ManifestException(source + ": not valid UTF-8 text");
        }
    }

    /**
     * Parses one source's text.
     *
     * @param withPositions record the file position of every scalar (for error carets)
     */
    public static List<ManifestDocument> parse(String text, String source, boolean withPositions)
            throws ManifestException {
        String trimmed = text.stripLeading();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
            return unwrapLists(List.of(new ManifestDocument(source, 0, 1, parseJson(text, source), Map.of())));
        }
        return unwrapLists(parseYaml(text, source, withPositions));
    }

    private static JsonNode parseJson(String text, String source) throws ManifestException {
        try (JsonParser parser = JSON.createParser(text)) {
            JsonNode node = JSON.readTree(parser);
            if (parser.nextToken() != null) {
                JsonLocation loc = parser.currentLocation();
                throw new ManifestException(source + ":" + loc.getLineNr() + ":" + loc.getColumnNr()
                        + ": unexpected content after the JSON value");
            }
            checkDepth(node, source, 0);
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "" : ":" + loc.getLineNr() + ":" + loc.getColumnNr();
            throw new ManifestException(source + where + ": invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ManifestException(source + ": " + e.getMessage(), e);
        }
    }

    private static void checkDepth(JsonNode node, String source, int depth) throws ManifestException {
        if (depth > MAX_DEPTH) {
            throw new ManifestException(source + ": nested deeper than " + MAX_DEPTH + " levels");
        }
        if (node.isContainerNode()) {
            for (JsonNode child : node) {
                checkDepth(child, source, depth + 1);
            }
        }
    }

    private static List<ManifestDocument> parseYaml(String text, String source, boolean withPositions)
            throws ManifestException {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(50);
        options.setNestingDepthLimit(MAX_DEPTH);
        options.setCodePointLimit(MAX_SOURCE_BYTES);
        Yaml yaml = new Yaml(options);
        List<ManifestDocument> docs = new ArrayList<>();
        try {
            int index = 0;
            for (Node node : yaml.composeAll(new StringReader(text))) {
                if (node == null || isNullScalar(node)) {
                    continue;
                }
                Map<String, SourcePosition> positions = withPositions ? new HashMap<>() : null;
                JsonNode tree = convert(node, source, "", positions, 0);
                docs.add(new ManifestDocument(source, index++, node.getStartMark().getLine() + 1, tree,
                        positions == null ? Map.of() : Collections.unmodifiableMap(positions)));
            }
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String where = mark == null ? "" : ":" + (mark.getLine() + 1) + ":" + (mark.getColumn() + 1);
            String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
            throw new ManifestException(source + where + ": YAML syntax error: " + problem.trim());
        } catch (YAMLException e) {
            throw new ManifestException(source + ": YAML error: " + e.getMessage());
        }
        return docs;
    }

    private static boolean isNullScalar(Node node) {
        return node instanceof ScalarNode s && Tag.NULL.equals(s.getTag());
    }

    private static JsonNode convert(Node node, String source, String pointer, Map<String, SourcePosition> positions,
            int depth) throws ManifestException {
        if (depth > MAX_DEPTH) {
            throw new ManifestException(source + ":" + (node.getStartMark().getLine() + 1)
                    + ": nested deeper than " + MAX_DEPTH + " levels");
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (node instanceof MappingNode mapping) {
            ObjectNode obj = f.objectNode();
            for (NodeTuple tuple : mapping.getValue()) {
                if (!(tuple.getKeyNode() instanceof ScalarNode keyNode)) {
                    throw new ManifestException(source + ":" + (tuple.getKeyNode().getStartMark().getLine() + 1)
                            + ": a mapping key must be a plain value");
                }
                String key = keyNode.getValue();
                if (obj.has(key)) {
                    throw new ManifestException(source + ":" + (keyNode.getStartMark().getLine() + 1) + ":"
                            + (keyNode.getStartMark().getColumn() + 1) + ": duplicate key \"" + key + "\"");
                }
                obj.set(key, convert(tuple.getValueNode(), source, pointer + "/" + escape(key), positions,
                        depth + 1));
            }
            return obj;
        }
        if (node instanceof SequenceNode seq) {
            ArrayNode arr = f.arrayNode();
            int i = 0;
            for (Node child : seq.getValue()) {
                arr.add(convert(child, source, pointer + "/" + i++, positions, depth + 1));
            }
            return arr;
        }
        ScalarNode scalar = (ScalarNode) node;
        if (positions != null) {
            positions.put(pointer, new SourcePosition(scalar.getStartMark().getLine() + 1,
                    scalar.getStartMark().getColumn(), scalar.getScalarStyle()));
        }
        return scalarValue(scalar);
    }

    private static JsonNode scalarValue(ScalarNode scalar) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        String v = scalar.getValue();
        Tag tag = scalar.getTag();
        if (!scalar.isPlain() || Tag.STR.equals(tag)) {
            return f.textNode(v);
        }
        if (Tag.NULL.equals(tag)) {
            return f.nullNode();
        }
        if (Tag.BOOL.equals(tag)) {
            String l = v.toLowerCase(java.util.Locale.ROOT);
            return f.booleanNode(l.equals("true") || l.equals("yes") || l.equals("on") || l.equals("y"));
        }
        if (Tag.INT.equals(tag)) {
            String digits = v.replace("_", "");
            try {
                if (digits.startsWith("0x") || digits.startsWith("-0x")) {
                    boolean neg = digits.startsWith("-");
                    long value = Long.parseLong(digits.substring(neg ? 3 : 2), 16);
                    return f.numberNode(neg ? -value : value);
                }
                return f.numberNode(Long.parseLong(digits.startsWith("+") ? digits.substring(1) : digits));
            } catch (NumberFormatException e) {
                return f.numberNode(new java.math.BigDecimal(digits.replace("+", "")));
            }
        }
        if (Tag.FLOAT.equals(tag)) {
            String l = v.toLowerCase(java.util.Locale.ROOT);
            if (l.endsWith(".inf")) {
                return f.numberNode(l.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
            }
            if (l.equals(".nan")) {
                return f.numberNode(Double.NaN);
            }
            try {
                return f.numberNode(Double.parseDouble(v.replace("_", "")));
            } catch (NumberFormatException e) {
                return f.textNode(v);
            }
        }
        return f.textNode(v);
    }

    private static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static List<ManifestDocument> unwrapLists(List<ManifestDocument> docs) {
        boolean anyList = docs.stream().anyMatch(d -> isList(d.tree()));
        if (!anyList) {
            return docs;
        }
        List<ManifestDocument> out = new ArrayList<>();
        int index = 0;
        for (ManifestDocument d : docs) {
            if (isList(d.tree())) {
                for (JsonNode item : d.tree().get("items")) {
                    out.add(new ManifestDocument(d.source(), index++, d.line(), item, Map.of()));
                }
            } else {
                out.add(new ManifestDocument(d.source(), index++, d.line(), d.tree(), d.positions()));
            }
        }
        return out;
    }

    private static boolean isList(JsonNode tree) {
        JsonNode kind = tree.get("kind");
        return kind != null && kind.isTextual() && kind.textValue().endsWith("List")
                && tree.path("items").isArray();
    }
}
