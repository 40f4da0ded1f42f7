package io.egressguard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestException;
import io.egressguard.manifest.ManifestReader;
import io.egressguard.policy.AdmissionAttributes;
import io.egressguard.policy.DeclaredHosts;
import io.egressguard.policy.Decision;
import io.egressguard.policy.Evaluation;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code check PATH...}: evaluates manifests as if each were created in an enforced namespace. Exit 0 when all are
 * admitted, 1 when something is refused, 2 on unreadable input or bad usage.
 */
@Command(name = "check", description = "Evaluate manifests (files, folders, - for stdin) as if admitted into an "
        + "enforced namespace.", mixinStandardHelpOptions = true)
public final class CheckCommand implements Callable<Integer> {

    /** Output formats. */
    enum Format { text, json }

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Manifest files, folders (recursive) or -.")
    List<String> paths;

    @Option(names = {"-o", "--output"}, description = "Output format: ${COMPLETION-CANDIDATES} (default: text).")
    Format format = Format.text;

    @Option(names = {"-n", "--namespace"}, paramLabel = "NS",
            description = "Namespace for objects that name none (default: default).")
    String namespace = "default";

    @Option(names = "--injected", description = "The manifests are the output of istioctl kube-inject: also run the "
            + "policies that judge injected pods.")
    boolean injected;

    @Mixin
    PolicyOptions policyOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PolicyEngine engine;
        List<ManifestDocument> docs;
        try {
            engine = policyOptions.engine();
            docs = ManifestReader.read(paths, System.in);
        } catch (PolicyException | ManifestException e) {
            err.println("error: " + e.getMessage());
            return EgressGuardCommand.BAD_INPUT;
        }
        List<String> declaredHosts = DeclaredHosts.from(docs.stream().map(ManifestDocument::tree).toList());
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode report = mapper.createObjectNode();
        ArrayNode results = report.putArray("results");
        int denied = 0;
        int skipped = 0;
        for (ManifestDocument doc : docs) {
            ObjectNode r = results.addObject();
            String apiVersion = doc.tree().path("apiVersion").asText("");
            String kind = doc.tree().path("kind").asText("");
            String name = doc.tree().path("metadata").path("name").asText("");
            String ns = doc.tree().path("metadata").path("namespace").asText(namespace);
            r.put("source", doc.reference());
            r.put("apiVersion", apiVersion);
            r.put("kind", kind);
            r.put("namespace", ns);
            r.put("name", name);
            Optional<AdmissionAttributes> attrs = doc.tree().isObject()
                    ? AdmissionAttributes.ofManifest(doc.tree(), ns, "egress-guard-check") : Optional.empty();
            if (attrs.isEmpty()) {
                skipped++;
                r.put("allowed", true);
                r.put("skipped", true);
                r.put("note", doc.tree().isObject() ? "kind " + kind + " (" + apiVersion + ") is not one Egress "
                        + "Guard evaluates" : "not a Kubernetes object");
                r.putArray("violations");
                if (format == Format.text) {
                    out.println(doc.reference() + " " + describe(kind, ns, name) + ": skipped ("
                            + r.get("note").asText() + ")");
                }
                continue;
            }
            Evaluation eval = engine.evaluate(attrs.get(), p -> injected || !p.injectedPodsOnly(), declaredHosts);
            boolean allowed = eval.allowed();
            if (!allowed) {
                denied++;
            }
            r.put("allowed", allowed);
            ArrayNode violations = r.putArray("violations");
            ArrayNode warnings = mapper.createArrayNode();
            for (Decision d : eval.violations()) {
                ObjectNode v = (d.outcome() == Decision.Outcome.WARN ? warnings : violations).addObject();
                v.put("policy", d.policyId());
                v.put("path", d.path());
                v.put("message", d.message());
                if (d.outcome() == Decision.Outcome.ERROR) {
                    v.put("error", true);
                }
            }
            if (!warnings.isEmpty()) {
                r.set("warnings", warnings);
            }
            if (format == Format.text) {
                out.println(doc.reference() + " " + describe(kind, ns, name) + ": "
                        + (allowed ? "admitted" : "denied"));
                for (Decision d : eval.violations()) {
                    out.println("  " + (d.outcome() == Decision.Outcome.WARN ? "Warning: " : "") + d.line());
                }
            }
        }
        ObjectNode summary = report.putObject("summary");
        summary.put("objects", docs.size());
        summary.put("denied", denied);
        summary.put("skipped", skipped);
        if (format == Format.json) {
            try {
                out.println(mapper.writeValueAsString(report));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                err.println("error: " + e.getOriginalMessage());
                return EgressGuardCommand.BAD_INPUT;
            }
        } else {
            out.println(docs.size() + " objects: " + (docs.size() - denied - skipped) + " admitted, " + denied
                    + " denied, " + skipped + " skipped");
        }
        out.flush();
        return denied > 0 ? EgressGuardCommand.REFUSED : EgressGuardCommand.OK;
    }

    private static String describe(String kind, String ns, String name) {
        return kind + " " + (ns.isEmpty() ? "" : ns + "/") + name;
    }
}
