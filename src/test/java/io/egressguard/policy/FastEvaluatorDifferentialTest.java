package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.cel.FastEvaluator;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The fast evaluator against cel-java's interpreter, expression by expression: every variable, match condition,
 * validation, message and audit annotation of every built-in policy, on every policy fixture, corpus manifest,
 * captured AdmissionReview and benchmark sample, and on seeded random mutations of each (fields removed, values
 * replaced by values of other types), so that error paths are exercised too. Where cel-java returns a value the fast
 * evaluator must return the same value or leave the expression to cel-java; where cel-java fails, it must fail.
 */
class FastEvaluatorDifferentialTest {

    static final Path POLICIES = Path.of("policies");
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final int MUTATIONS = Integer.getInteger("differential.mutations", 2);

    record Outcome(int compared, int fastValues, int bothFailed, int leftToCel, List<String> disagreements) {
    }

    @Test
    void fastEvaluatorAgreesWithCelJava() throws Exception {
        PolicyEngine engine = PolicyEngine.load(false, List.of(POLICIES), Settings.defaults());
        List<AdmissionAttributes> inputs = inputs();
        assertThat(inputs).hasSizeGreaterThan(500);
        Map<String, Object> egressguard = engine.egressguardValue(List.of("api.example.com", "*.example.org"));
        int compared = 0;
        int fastValues = 0;
        int bothFailed = 0;
        int leftToCel = 0;
        List<String> disagreements = new ArrayList<>();
        for (Policy p : engine.policies()) {
            List<Policy.Expression> expressions = expressions(p);
            for (AdmissionAttributes attrs : inputs) {
                PolicyEngine.Activation activation = new PolicyEngine.Activation(attrs, egressguard, p,
                        new io.egressguard.cel.EvaluationFrames());
                for (Policy.Expression e : expressions) {
                    Object expected;
                    boolean celFailed = false;
                    try {
                        expected = FastEvaluator.reference(e.program()).eval(activation);
                    } catch (Exception ex) {
                        expected = ex;
                        celFailed = true;
                    }
                    Object got;
                    boolean fastFailed = false;
                    try {
                        got = FastEvaluator.evalStrictly(e.program(), activation);
                    } catch (IllegalArgumentException notFast) {
                        continue;
                    } catch (Exception ex) {
                        got = ex;
                        fastFailed = true;
                    }
                    compared++;
                    if (celFailed && fastFailed) {
                        bothFailed++;
                    } else if (fastFailed) {
                        leftToCel++;
                    } else if (celFailed) {
                        disagreements.add(p.id() + " " + e.name() + ": cel-java fails (" + expected
                                + ") but the fast evaluator returns " + got);
                    } else if (!Objects.equals(expected, got)) {
                        disagreements.add(p.id() + " " + e.name() + ": cel-java returns " + expected
                                + " but the fast evaluator " + got);
                    } else {
                        fastValues++;
                    }
                }
            }
        }
        System.out.printf("differential: %d evaluations compared, %d equal values, %d failed in both, "
                + "%d left to cel-java%n", compared, fastValues, bothFailed, leftToCel);
        assertThat(disagreements).as("disagreements").isEmpty();
        assertThat(compared).isGreaterThan(100_000);
        assertThat(fastValues).isGreaterThan(compared / 2);
        assertThat(bothFailed).isGreaterThan(1_000);
        // an expression the fast evaluator fails on costs a second evaluation: that must stay rare
        assertThat(leftToCel).isLessThan(compared / 100);
    }

    @Test
    void theWorkloadPoliciesRunEntirelyOnTheFastEvaluator() throws Exception {
        PolicyEngine engine = PolicyEngine.load(false, List.of(POLICIES), Settings.defaults());
        List<Policy> podPolicies = engine.candidates("", "v1", "pods", "", "CREATE");
        assertThat(podPolicies).hasSizeGreaterThanOrEqualTo(9);
        for (Policy p : podPolicies) {
            for (Policy.Expression e : expressions(p)) {
                assertThat(FastEvaluator.reference(e.program())).as(p.id() + " " + e.name())
                        .isNotSameAs(e.program());
            }
        }
        long all = engine.policies().stream().mapToLong(p -> expressions(p).size()).sum();
        long fast = engine.policies().stream().flatMap(p -> expressions(p).stream())
                .filter(e -> FastEvaluator.reference(e.program()) != e.program()).count();
        // what is left to cel-java: expressions that use type() (the declarations' validators)
        assertThat(fast).isGreaterThan(all * 8 / 10);
    }

    static List<Policy.Expression> expressions(Policy p) {
        List<Policy.Expression> all = new ArrayList<>(p.variables());
        all.addAll(p.matchConditions());
        for (Policy.Validation v : p.validations()) {
            all.add(v.expression());
            if (v.messageExpression() != null) {
                all.add(v.messageExpression());
            }
        }
        all.addAll(p.auditAnnotations());
        return all;
    }

    /** Fixtures, corpus, captured reviews and samples, each followed by its mutations. */
    static List<AdmissionAttributes> inputs() throws Exception {
        List<AdmissionAttributes> out = new ArrayList<>();
        Random random = new Random(20261127L);
        List<Path> files = new ArrayList<>();
        for (Path root : List.of(POLICIES, Path.of("src/test/resources/corpus"),
                Path.of("src/test/resources/admission"), Path.of("src/test/resources/bench"))) {
            try (Stream<Path> s = Files.walk(root)) {
                s.filter(f -> f.toString().matches(".*\\.(ya?ml|json)$") && !f.endsWith("policy.yaml")
                        && !f.getFileName().toString().equals("index.json")).sorted().forEach(files::add);
            }
        }
        for (Path f : files) {
            List<ManifestDocument> docs;
            try {
                docs = ManifestReader.parse(ManifestReader.readFile(f), f.toString(), false);
            } catch (Exception e) {
                continue;
            }
            for (ManifestDocument doc : docs) {
                AdmissionAttributes attrs = attributesOf(doc.tree());
                if (attrs == null) {
                    continue;
                }
                out.add(attrs);
                for (int i = 0; i < MUTATIONS; i++) {
                    JsonNode mutated = doc.tree().deepCopy();
                    mutate(mutated, random);
                    AdmissionAttributes m = attributesOf(mutated);
                    if (m != null) {
                        out.add(m);
                    }
                }
            }
        }
        return out;
    }

    static AdmissionAttributes attributesOf(JsonNode tree) {
        try {
            if ("AdmissionReview".equals(tree.path("kind").asText()) && tree.path("request").isObject()) {
                return AdmissionAttributes.ofRequest(tree.path("request"), AdmissionAttributes.enforcedNamespace(
                        tree.path("request").path("namespace").asText("egress-guard-test")));
            }
            if (!tree.isObject()) {
                return null;
            }
            return AdmissionAttributes.ofManifest(tree, "egress-guard-test", "differential").orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Removes a field, or replaces a value with one of another type, at a random place of the tree. */
    static void mutate(JsonNode root, Random random) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        JsonNode target = containers.get(random.nextInt(containers.size()));
        JsonNode replacement = switch (random.nextInt(9)) {
            case 0 -> MAPPER.nullNode();
            case 1 -> MAPPER.getNodeFactory().numberNode(random.nextInt(70000) - 10);
            case 2 -> MAPPER.getNodeFactory().textNode(random.nextBoolean() ? "" : "istio-proxy");
            case 3 -> MAPPER.createArrayNode();
            case 4 -> MAPPER.createObjectNode();
            case 5 -> MAPPER.getNodeFactory().booleanNode(random.nextBoolean());
            case 6 -> MAPPER.getNodeFactory().numberNode(1.5);
            case 7 -> MAPPER.createArrayNode().add("-x").add("").add("NET_ADMIN");
            default -> null; // remove
        };
        if (target instanceof com.fasterxml.jackson.databind.node.ObjectNode o && o.size() > 0) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            String name = names.get(random.nextInt(names.size()));
            if (replacement == null) {
                o.remove(name);
            } else {
                o.set(name, replacement);
            }
        } else if (target instanceof com.fasterxml.jackson.databind.node.ArrayNode a && a.size() > 0) {
            int i = random.nextInt(a.size());
            if (replacement == null) {
                a.remove(i);
            } else {
                a.set(i, replacement);
            }
        }
    }

    static void collect(JsonNode node, List<JsonNode> out) {
        if (node.isContainerNode() && node.size() > 0) {
            out.add(node);
            node.elements().forEachRemaining(child -> collect(child, out));
        }
    }
}
