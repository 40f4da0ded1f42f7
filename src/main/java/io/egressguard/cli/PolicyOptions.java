package io.egressguard.cli;

import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options shared by commands that evaluate policies. */
public final class PolicyOptions {

    @Option(names = "--policies", paramLabel = "DIR",
            description = "Folder of extra policies (<DIR>/<id>/policy.yaml), merged with the built-in ones; "
                    + "the same id overrides. Repeatable.")
    List<Path> policyDirs = new ArrayList<>();

    @Option(names = "--no-builtin", description = "Use only the policies given with --policies.")
    boolean noBuiltIn;

    @Option(names = "--installed-revision", paramLabel = "REV",
            description = "Istio revision that is installed (istio.io/rev values that inject). Repeatable; "
                    + "default: default.")
    List<String> installedRevisions = new ArrayList<>();

    Settings settings() {
        Settings d = Settings.defaults();
        if (installedRevisions.isEmpty()) {
            return d;
        }
        return new Settings(d.gatewayNamespace(), d.gatewayService(), d.gatewayLabels(), d.istiodNamespace(),
                d.ownNamespace(), d.proxyUid(), d.proxyGid(), d.proxyImagePattern(), d.clusterCidrs(),
                List.copyOf(installedRevisions), d.exemptNamespaces(), d.clusterDomain(), d.trustDomain(),
                d.adminGroups(), d.serviceAccount());
    }

    PolicyEngine engine() throws PolicyException {
        return PolicyEngine.load(!noBuiltIn, policyDirs, settings());
    }
}
