package io.egressguard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.policy.Decision;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code audit}: lists the existing objects in enforced namespaces that violate the policies. Exit 0 when none does,
 * 1 when something does, 2 when the cluster cannot be read or the usage is wrong.
 */
@Command(name = "audit", description = "List existing objects in enforced namespaces that violate the policies "
        + "(needs cluster access).", mixinStandardHelpOptions = true)
public final class AuditCommand implements Callable<Integer> {

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "Kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster).")
    Path kubeconfig;

    @Option(names = "--context", paramLabel = "NAME", description = "Kubeconfig context to use.")
    String context;

    @Option(names = {"-o", "--output"}, description = "Output format: ${COMPLETION-CANDIDATES} (default: text).")
    CheckCommand.Format format = CheckCommand.Format.text;

    @Option(names = "--page-size", description = "Objects per list request (default: ${DEFAULT-VALUE}).",
            defaultValue = "500")
    long pageSize;

    @Mixin
    PolicyOptions policyOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** How the command gets its client; tests replace it. */
    static Supplier<KubernetesClient> clientFactory;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (pageSize < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--page-size must be at least 1");
        }
        PolicyEngine engine;
        try {
            engine = policyOptions.engine();
        } catch (PolicyException e) {
            err.println("error: " + e.getMessage());
            return EgressGuardCommand.BAD_INPUT;
        }
        ClusterAudit.Report report;
        try (KubernetesClient client = client()) {
            report = new ClusterAudit(client, engine, pageSize).run();
        } catch (KubernetesClientException e) {
            err.println("error: cannot read the cluster: " + (e.getStatus() != null && e.getStatus().getMessage() != null
                    ? e.getStatus().getMessage() : e.getMessage()));
            return EgressGuardCommand.BAD_INPUT;
        }
        report.skipped().forEach(s -> err.println("warning: skipped " + s));
        int refused = 0;
        for (ClusterAudit.Finding f : report.findings()) {
            if (!f.evaluation().allowed()) {
                refused++;
            }
        }
        if (format == CheckCommand.Format.json) {
            ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode root = mapper.createObjectNode();
            ArrayNode results = root.putArray("results");
            for (ClusterAudit.Finding f : report.findings()) {
                ObjectNode r = results.addObject();
                r.put("apiVersion", f.apiVersion());
                r.put("kind", f.kind());
                r.put("namespace", f.namespace());
                r.put("name", f.name());
                r.put("allowed", f.evaluation().allowed());
                ArrayNode v = r.putArray("violations");
                for (Decision d : f.evaluation().violations()) {
                    ObjectNode o = v.addObject();
                    o.put("policy", d.policyId());
                    o.put("path", d.path());
                    o.put("message", d.message());
                    if (d.outcome() == Decision.Outcome.WARN) {
                        o.put("warning", true);
                    }
                }
            }
            ObjectNode summary = root.putObject("summary");
            summary.put("namespaces", report.namespaces());
            summary.put("objects", report.objects());
            summary.put("violating", refused);
            out.println(mapper.writeValueAsString(root));
        } else {
            ClusterAudit.byNamespace(report.findings()).forEach((ns, list) -> {
                for (ClusterAudit.Finding f : list) {
                    out.println(f.kind() + " " + ns + "/" + f.name() + ": "
                            + (f.evaluation().allowed() ? "warnings" : "violates the policies"));
                    for (Decision d : f.evaluation().violations()) {
                        out.println("  " + (d.outcome() == Decision.Outcome.WARN ? "Warning: " : "") + d.line());
                    }
                }
            });
            out.println(report.namespaces() + " enforced namespaces, " + report.objects() + " objects: " + refused
                    + " violate the policies");
        }
        out.flush();
        return refused > 0 ? EgressGuardCommand.REFUSED : EgressGuardCommand.OK;
    }

    private KubernetesClient client() throws IOException {
        if (clientFactory != null) {
            return clientFactory.get();
        }
        Config config;
        if (kubeconfig != null) {
            if (!Files.isReadable(kubeconfig)) {
                throw new CommandLine.ParameterException(spec.commandLine(), kubeconfig + ": cannot read");
            }
            config = Config.fromKubeconfig(context, Files.readString(kubeconfig), kubeconfig.toString());
        } else {
            config = context == null ? Config.autoConfigure(null) : Config.autoConfigure(context);
        }
        return new KubernetesClientBuilder().withConfig(config).build();
    }
}
