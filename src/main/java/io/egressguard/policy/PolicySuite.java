package io.egressguard.policy;

import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestException;
import io.egressguard.manifest.ManifestReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Runs every policy's fixtures: each document under {@code <policy>/tests/allowed/} must be admitted, each one under
 * {@code tests/denied/} must be refused by that policy. A policy without both kinds of fixture fails. The CLI's
 * {@code test} command and the JUnit suite share this runner.
 */
public final class PolicySuite {

    /** The namespace fixtures are admitted into (enforced). */
    public static final String NAMESPACE = "egress-guard-test";

    /** One fixture document's outcome. */
    public record CaseResult(String policyId, String expectation, String fixture, boolean passed, String detail) {
    }

    private PolicySuite() {
    }

    /**
     * Runs the fixtures of every policy folder under {@code dir} against {@code engine}, which must contain those
     * policies.
     */
    public static List<CaseResult> run(PolicyEngine engine, Path dir) throws ManifestException {
        List<CaseResult> results = new ArrayList<>();
        List<Path> folders;
        try (var children = Files.list(dir)) {
            folders = children.filter(p -> Files.isRegularFile(p.resolve("policy.yaml"))).sorted().toList();
        } catch (java.io.IOException e) {
            throw new ManifestException(dir + ": " + e.getMessage(), e);
        }
        for (Path folder : folders) {
            String id = folder.getFileName().toString();
            Policy policy = engine.policies().stream().filter(p -> p.id().equals(id)).findFirst().orElse(null);
            if (policy == null) {
                results.add(new CaseResult(id, "-", folder.toString(), false, "policy is not loaded"));
                continue;
            }
            for (String kind : List.of("allowed", "denied")) {
                Path cases = folder.resolve("tests").resolve(kind);
                List<Path> files = Files.isDirectory(cases) ? ManifestReader.manifestFiles(cases) : List.of();
                if (files.isEmpty()) {
                    results.add(new CaseResult(id, kind, folder.resolve("tests").resolve(kind).toString(), false,
                            "no " + kind + " fixture: every policy needs tests/allowed and tests/denied cases"));
                }
                for (Path file : files) {
                    List<ManifestDocument> docs = ManifestReader.parse(ManifestReader.readFile(file),
                            file.toString(), false);
                    List<String> declaredHosts = DeclaredHosts.from(docs.stream().filter(PolicySuite::isContext)
                            .map(ManifestDocument::tree).toList());
                    for (ManifestDocument doc : docs) {
                        if (isContext(doc)) {
                            continue;
                        }
                        results.add(runCase(engine, policy, kind.equals("denied"), doc, declaredHosts,
                                dir.relativize(file).toString() + (doc.index() > 0 ? "#" + doc.index() : "")));
                    }
                }
            }
        }
        return results;
    }

    /**
     * Documents annotated {@code egressguard.io/fixture-context: "true"} are context for the other documents of their
     * file (for example the ExternalService that declares a host), not cases.
     */
    public static final String CONTEXT_ANNOTATION = "egressguard.io/fixture-context";

    static boolean isContext(ManifestDocument doc) {
        return "true".equals(doc.tree().path("metadata").path("annotations").path(CONTEXT_ANNOTATION).asText());
    }

    static CaseResult runCase(PolicyEngine engine, Policy policy, boolean expectDenied, ManifestDocument doc,
            List<String> declaredHosts, String name) {
        AdmissionAttributes attrs = attributes(doc);
        String expectation = expectDenied ? "denied" : "allowed";
        if (attrs == null) {
            return new CaseResult(policy.id(), expectation, name, false, "unknown kind "
                    + doc.tree().path("apiVersion").asText() + " " + doc.tree().path("kind").asText());
        }
        // A policy's own fixtures always run it; other webhook-only policies are left out, as in `check`.
        Evaluation eval = engine.evaluate(attrs, p -> p == policy || !p.injectedPodsOnly(), declaredHosts);
        List<Decision> own = eval.violations().stream().filter(d -> d.policyId().equals(policy.id())).toList();
        if (expectDenied) {
            boolean refused = own.stream().anyMatch(d -> d.outcome() != Decision.Outcome.ALLOW);
            return new CaseResult(policy.id(), expectation, name, refused, refused
                    ? own.get(0).line() : "admitted, but the policy should have refused it");
        }
        List<Decision> problems = eval.violations().stream()
                .filter(d -> d.outcome() != Decision.Outcome.WARN || d.policyId().equals(policy.id()))
                .toList();
        return new CaseResult(policy.id(), expectation, name, problems.isEmpty(), problems.isEmpty() ? ""
                : problems.stream().map(Decision::line).collect(Collectors.joining("; ")));
    }

    /** A fixture document as a request: an AdmissionReview as it is, any other object as a CREATE. */
    static AdmissionAttributes attributes(ManifestDocument doc) {
        if ("AdmissionReview".equals(doc.tree().path("kind").asText()) && doc.tree().path("request").isObject()) {
            String ns = doc.tree().path("request").path("namespace").asText(NAMESPACE);
            return AdmissionAttributes.ofRequest(doc.tree().path("request"),
                    ns.isEmpty() ? null : AdmissionAttributes.enforcedNamespace(ns));
        }
        String ns = doc.tree().path("metadata").path("namespace").asText(NAMESPACE);
        return AdmissionAttributes.ofManifest(doc.tree(), ns, "egress-guard-test").orElse(null);
    }
}
