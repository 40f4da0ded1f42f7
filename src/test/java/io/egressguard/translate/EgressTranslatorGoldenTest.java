package io.egressguard.translate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden files: every folder under {@code src/test/resources/translate/} is a case whose {@code input.yaml} must
 * translate to exactly {@code expected.yaml} (objects) and {@code expected-problems.yaml} (problems; absent means none),
 * compared as parsed trees. {@code -Dgolden.update=true} or {@code REFRESH_GOLDEN=1} rewrites the expected files.
 */
class EgressTranslatorGoldenTest {

    static final Path CASES = Path.of("src/test/resources/translate");
    static final String INPUT = "input.yaml";
    static final String EXPECTED = "expected.yaml";
    static final String EXPECTED_PROBLEMS = "expected-problems.yaml";

    private static final boolean UPDATE = Boolean.getBoolean("golden.update")
            || "1".equals(System.getenv("REFRESH_GOLDEN"));

    private final EgressTranslator translator = new EgressTranslator(Settings.defaults());

    static List<Path> cases() throws IOException {
        try (Stream<Path> dirs = Files.list(CASES)) {
            return dirs.filter(Files::isDirectory).sorted().toList();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyCaseTranslatesToItsGoldenFiles() throws IOException {
        List<Path> cases = cases();
        assertThat(cases).as("golden cases under %s", CASES).isNotEmpty();
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    private void check(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(f -> f.getFileName().toString()).sorted().toList();
            assertThat(names).as("files of golden case %s", dir)
                    .contains(INPUT)
                    .allMatch(n -> Set.of(INPUT, EXPECTED, EXPECTED_PROBLEMS).contains(n),
                            "one of " + INPUT + ", " + EXPECTED + ", " + EXPECTED_PROBLEMS);
        }
        Translation translation = translator.translate(GoldenYaml.read(dir.resolve(INPUT)));
        List<JsonNode> problems = translation.problems().stream().<JsonNode>map(GoldenYaml::tree).toList();
        if (UPDATE) {
            Files.writeString(dir.resolve(EXPECTED), GoldenYaml.write(translation.objects()));
            if (problems.isEmpty()) {
                Files.deleteIfExists(dir.resolve(EXPECTED_PROBLEMS));
            } else {
                Files.writeString(dir.resolve(EXPECTED_PROBLEMS), GoldenYaml.YAML.writeValueAsString(problems));
            }
            return;
        }
        assertThat(dir.resolve(EXPECTED)).as("golden file (write it with -Dgolden.update=true)").exists();
        List<JsonNode> expected = GoldenYaml.read(dir.resolve(EXPECTED));
        if (!expected.equals(List.<JsonNode>copyOf(translation.objects()))) {
            fail("%s differs from %s (rewrite with -Dgolden.update=true after checking the change); generated:%n%s",
                    dir.resolve(INPUT), dir.resolve(EXPECTED), GoldenYaml.write(translation.objects()));
        }
        Path problemsFile = dir.resolve(EXPECTED_PROBLEMS);
        if (Files.exists(problemsFile)) {
            JsonNode expectedProblems = GoldenYaml.YAML.readTree(problemsFile.toFile());
            assertThat(expectedProblems.isArray()).as("%s holds one list", problemsFile).isTrue();
            assertThat(problems).as("problems of %s", dir.resolve(INPUT))
                    .containsExactlyElementsOf(expectedProblems);
        } else {
            assertThat(translation.problems()).as("problems of %s, which has no %s", dir.resolve(INPUT),
                    EXPECTED_PROBLEMS).isEmpty();
        }
    }

    @Test
    void readsBackWhatItWrites() {
        Translation translation = translator.translate(GoldenYaml.read(CASES.resolve("seed").resolve(INPUT)));
        assertThat(GoldenYaml.parse(GoldenYaml.write(translation.objects())))
                .containsExactlyElementsOf(translation.objects());
    }
}
