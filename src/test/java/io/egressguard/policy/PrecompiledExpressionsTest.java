package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import io.egressguard.Settings;
import io.egressguard.cel.KubernetesCel;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestReader;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The build's table of checked ASTs ({@link PrecompiledExpressions}): it covers the built-in policies, a stored AST
 * equals the freshly compiled one, decisions over every fixture are the same with and without it, and a changed text
 * or environment is compiled again.
 */
class PrecompiledExpressionsTest {

    static final Path POLICIES = Path.of("policies");

    /** A compiler that never uses the table and records what it compiled. */
    static PolicyCompiler fresh(Map<String, CelAbstractSyntaxTree> compiled) {
        return new PolicyCompiler(PrecompiledExpressions.NONE, compiled::put);
    }

    /** A compiler with the packaged table that records what it still had to compile. */
    static PolicyCompiler cached(Map<String, CelAbstractSyntaxTree> compiled) {
        return new PolicyCompiler(null, compiled::put);
    }

    static List<Policy> compileAll(PolicyCompiler compiler) throws PolicyException {
        List<Policy> out = new ArrayList<>();
        for (PolicySource s : PolicyLoader.builtIn()) {
            out.add(compiler.compile(s));
        }
        return out;
    }

    static Set<String> texts(List<Policy> policies) {
        Set<String> texts = new LinkedHashSet<>();
        for (Policy p : policies) {
            p.matchConditions().forEach(e -> texts.add(e.text()));
            p.variables().forEach(e -> texts.add(e.text()));
            for (Policy.Validation v : p.validations()) {
                texts.add(v.expression().text());
                if (v.messageExpression() != null) {
                    texts.add(v.messageExpression().text());
                }
            }
            p.auditAnnotations().forEach(e -> texts.add(e.text()));
        }
        return texts;
    }

    @Test
    void everyBuiltInExpressionIsTakenFromTheTable() throws Exception {
        Map<String, CelAbstractSyntaxTree> compiled = new ConcurrentHashMap<>();
        PolicyCompiler compiler = cached(compiled);
        List<Policy> policies = compileAll(compiler);
        assertThat(compiler.precompiledCount()).as("the build writes " + PrecompiledExpressions.RESOURCE)
                .isGreaterThanOrEqualTo(texts(policies).size());
        assertThat(compiled).as("expressions that were compiled although the table should hold them").isEmpty();
    }

    @Test
    void aStoredAstEqualsTheFreshlyCompiledOne() throws Exception {
        Map<String, CelAbstractSyntaxTree> compiled = new ConcurrentHashMap<>();
        PolicyCompiler fresh = fresh(compiled);
        Set<String> texts = texts(compileAll(fresh));
        PolicyCompiler cached = cached(new ConcurrentHashMap<>());
        PrecompiledExpressions table = PrecompiledExpressions.builtIn(cached.cel());
        assertThat(texts).hasSizeGreaterThan(500);
        for (String text : texts) {
            CelAbstractSyntaxTree stored = table.find(text);
            assertThat(stored).as(text).isNotNull();
            // expression, source (text, positions, macro calls), references (overloads) and types
            assertThat(stored).as(text).isEqualTo(compiled.get(text));
            assertThat(stored.getResultType()).isEqualTo(compiled.get(text).getResultType());
        }
    }

    @Test
    void decisionsOverEveryFixtureAreTheSameWithAndWithoutTheTable() throws Exception {
        Map<String, CelAbstractSyntaxTree> missed = new ConcurrentHashMap<>();
        PolicyEngine withTable = new PolicyEngine(compileAll(cached(missed)), Settings.defaults());
        PolicyEngine without = new PolicyEngine(compileAll(fresh(new ConcurrentHashMap<>())), Settings.defaults());
        assertThat(missed).isEmpty();
        int cases = 0;
        int violations = 0;
        List<Path> files;
        try (Stream<Path> all = Files.walk(POLICIES)) {
            files = all.filter(f -> f.getParent() != null && f.getParent().getParent() != null
                    && f.getParent().getParent().getFileName().toString().equals("tests")
                    && f.toString().matches(".*\\.(ya?ml|json)$")).sorted().toList();
        }
        for (Path file : files) {
            List<ManifestDocument> docs = ManifestReader.parse(ManifestReader.readFile(file), file.toString(), false);
            List<String> hosts = DeclaredHosts.from(docs.stream().map(ManifestDocument::tree).toList());
            for (ManifestDocument doc : docs) {
                AdmissionAttributes attrs = PolicySuite.attributes(doc);
                if (attrs == null) {
                    continue;
                }
                Evaluation a = withTable.evaluate(attrs, p -> true, hosts);
                Evaluation b = without.evaluate(attrs, p -> true, hosts);
                assertThat(outcome(a)).as(file + "#" + doc.index()).isEqualTo(outcome(b));
                cases++;
                violations += a.violations().size();
            }
        }
        assertThat(cases).isGreaterThan(100);
        assertThat(violations).as("the fixtures exercise denials, not only admissions").isGreaterThan(50);
    }

    /** Everything of an evaluation except timings. */
    static List<String> outcome(Evaluation e) {
        List<String> out = new ArrayList<>();
        for (Decision d : e.decisions()) {
            out.add(d.policyId() + "|" + d.outcome() + "|" + d.path() + "|" + d.message() + "|" + d.reason());
        }
        out.add(new TreeMap<>(e.auditAnnotations()).toString());
        return out;
    }

    @Test
    void aChangedExpressionIsCompiledAgain() throws Exception {
        PolicySource original = PolicyLoader.builtIn().stream().filter(s -> s.folder().equals("no-host-network"))
                .findFirst().orElseThrow();
        Policy before = cached(new ConcurrentHashMap<>()).compile(original);
        String text = before.validations().get(0).expression().text();
        String changed = "!(" + text.strip() + ")";
        assertThat(original.text()).contains(text.strip());
        PolicySource edited = new PolicySource(original.origin(), original.folder(),
                original.text().replace(text.strip(), changed.replace("\"", "\\\"")));

        Map<String, CelAbstractSyntaxTree> compiled = new ConcurrentHashMap<>();
        Policy after = cached(compiled).compile(edited);
        assertThat(compiled.keySet()).containsExactly(after.validations().get(0).expression().text());
        assertThat(after.validations().get(0).expression().text()).isNotEqualTo(text);

        // the edited policy decides the opposite for a plain pod, as a fresh compilation does
        AdmissionAttributes pod = PolicyEngineTest.pod(PolicyEngineTest.POD);
        Evaluation was = new PolicyEngine(List.of(before), Settings.defaults()).evaluate(pod);
        Evaluation now = new PolicyEngine(List.of(after), Settings.defaults()).evaluate(pod);
        Evaluation freshNow = new PolicyEngine(List.of(fresh(new ConcurrentHashMap<>()).compile(edited)),
                Settings.defaults()).evaluate(pod);
        assertThat(was.allowed()).isTrue();
        assertThat(now.allowed()).isFalse();
        assertThat(outcome(now)).isEqualTo(outcome(freshNow));
    }

    @Test
    void aTableForAnotherEnvironmentIsNotUsed() throws Exception {
        PolicyCompiler compiler = fresh(new ConcurrentHashMap<>());
        byte[] fingerprint = PrecompiledExpressions.fingerprint(compiler.cel());
        String text = "object.spec.hostNetwork == true";
        byte[] table = PrecompiledExpressions.write(fingerprint, Map.of(text, compiler.check(text)));

        PrecompiledExpressions same = PrecompiledExpressions.read(new ByteArrayInputStream(table), fingerprint);
        assertThat(same.find(text)).isEqualTo(compiler.check(text));
        assertThat(same.find(text + " ")).as("another text").isNull();

        byte[] other = Arrays.copyOf(fingerprint, fingerprint.length);
        other[0] ^= 1;
        assertThat(PrecompiledExpressions.read(new ByteArrayInputStream(table), other).size()).isZero();
    }

    @Test
    void theFingerprintCoversDeclarations() {
        byte[] policies = PrecompiledExpressions.fingerprint(fresh(new ConcurrentHashMap<>()).cel());
        assertThat(PrecompiledExpressions.fingerprint(fresh(new ConcurrentHashMap<>()).cel())).isEqualTo(policies);
        Cel fewerVariables = KubernetesCel.newBuilder(PolicyCompiler.MAX_ITERATIONS)
                .addVar("object", SimpleType.DYN)
                .build();
        assertThat(PrecompiledExpressions.fingerprint(fewerVariables)).isNotNull().isNotEqualTo(policies);
        Cel otherTypes = KubernetesCel.newBuilder(PolicyCompiler.MAX_ITERATIONS)
                .addVar("object", SimpleType.DYN)
                .addVar("oldObject", SimpleType.DYN)
                .addVar("request", SimpleType.DYN)
                .addVar("params", SimpleType.DYN)
                .addVar("namespaceObject", SimpleType.DYN)
                .addVar("variables", SimpleType.DYN)
                .addVar("egressguard", SimpleType.DYN)
                .build();
        assertThat(PrecompiledExpressions.fingerprint(otherTypes)).isNotEqualTo(policies);
        Cel otherLimit = KubernetesCel.newBuilder(PolicyCompiler.MAX_ITERATIONS + 1)
                .addVar("object", SimpleType.DYN)
                .build();
        assertThat(PrecompiledExpressions.fingerprint(otherLimit))
                .as("options are part of the fingerprint").isNotEqualTo(PrecompiledExpressions.fingerprint(
                        fewerVariables));
    }

    @Test
    void builtInPoliciesCompiledAheadAreTakenByLoad() throws Exception {
        List<Policy> ahead = PolicyCompiler.compileBuiltInAhead();
        assertThat(ahead).hasSize(PolicyLoader.builtIn().size());
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        for (Policy p : engine.policies()) {
            assertThat(ahead).as(p.id()).anySatisfy(a -> assertThat(a).isSameAs(p));
        }
        // a user folder with a changed copy of a built-in policy is compiled, not taken
        Path dir = Files.createTempDirectory("policies");
        try {
            PolicySource original = PolicyLoader.builtIn().get(0);
            Files.createDirectories(dir.resolve(original.folder()));
            Files.writeString(dir.resolve(original.folder()).resolve("policy.yaml"), original.text() + "\n");
            PolicyEngine user = PolicyEngine.load(true, List.of(dir), Settings.defaults());
            Policy replaced = user.policies().stream().filter(p -> p.id().equals(original.folder())).findFirst()
                    .orElseThrow();
            assertThat(ahead).noneSatisfy(a -> assertThat(a).isSameAs(replaced));
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
