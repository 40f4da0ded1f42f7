package io.egressguard.cli;

import io.egressguard.Settings;
import io.egressguard.server.SelfSignedCertificates;
import io.egressguard.server.ServeApplication;
import io.quarkus.runtime.Quarkus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code serve}: the HTTPS admission webhook. With no certificate given it makes a CA and a serving certificate and
 * prints where the CA bundle is. With cluster access ({@code --kubeconfig FILE}, or the in-cluster service account) it
 * also runs the reconciler, which applies the translated declarations to the cluster.
 */
@Command(name = "serve", description = "Run the admission webhook over HTTPS (and, with cluster access, the "
        + "reconciler).", mixinStandardHelpOptions = true)
public final class ServeCommand implements Callable<Integer> {

    @Option(names = "--port", description = "HTTPS port (default: ${DEFAULT-VALUE}).", defaultValue = "8443")
    int port;

    @Option(names = "--host", description = "Address to listen on (default: ${DEFAULT-VALUE}).",
            defaultValue = "0.0.0.0")
    String host;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Serving certificate (PEM, chain allowed).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Private key of the serving certificate (PEM).")
    Path tlsKey;

    @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "Where generated certificates are kept when --tls-cert is not given "
                    + "(default: $XDG_STATE_HOME/egress-guard/tls or ~/.local/state/egress-guard/tls).")
    Path tlsDir;

    @Option(names = "--policies", paramLabel = "DIR", description = "Folder of extra policies; repeatable.")
    List<Path> policyDirs = List.of();

    @Option(names = "--installed-revision", paramLabel = "REV",
            description = "Istio revision that is installed; repeatable (default: default).")
    List<String> installedRevisions = List.of();

    @Option(names = "--kubeconfig", paramLabel = "FILE",
            description = "Kubeconfig of the cluster to reconcile (its current context). Without it, the in-cluster "
                    + "service account is used when its token is mounted; otherwise serve runs without cluster "
                    + "access (no reconciler, no pod gating, no remediation).")
    Path kubeconfig;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        if (port < 1 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be 1-65535");
        }
        if (kubeconfig != null && !Files.isReadable(kubeconfig)) {
            throw new CommandLine.ParameterException(spec.commandLine(), kubeconfig + ": cannot read");
        }
        Path cert = tlsCert;
        Path key = tlsKey;
        if (cert == null) {
            Settings d = Settings.defaults();
            Path dir = tlsDir != null ? tlsDir : defaultTlsDir();
            SelfSignedCertificates.Files3 files = SelfSignedCertificates.ensure(dir,
                    SelfSignedCertificates.dnsNames("egress-guard", d.ownNamespace(), d.clusterDomain()),
                    Instant.now());
            cert = files.cert();
            key = files.key();
            err.println("egress-guard: serving certificate " + cert.toAbsolutePath());
            err.println("egress-guard: CA bundle " + files.caCert().toAbsolutePath()
                    + " (curl --cacert, or base64 it into the webhook caBundle)");
        } else {
            for (Path p : List.of(cert, key)) {
                if (!Files.isReadable(p)) {
                    throw new CommandLine.ParameterException(spec.commandLine(), p + ": cannot read");
                }
            }
        }
        err.flush();
        System.setProperty("quarkus.http.ssl-port", Integer.toString(port));
        System.setProperty("quarkus.http.host", host);
        System.setProperty("quarkus.http.insecure-requests", "disabled");
        System.setProperty("quarkus.tls.key-store.pem.0.cert", cert.toAbsolutePath().toString());
        System.setProperty("quarkus.tls.key-store.pem.0.key", key.toAbsolutePath().toString());
        if (kubeconfig != null) {
            System.setProperty("egressguard.kubeconfig", kubeconfig.toAbsolutePath().toString());
        }
        if (!policyDirs.isEmpty()) {
            System.setProperty("egressguard.policy-dirs", policyDirs.stream().map(p -> p.toAbsolutePath().toString())
                    .collect(Collectors.joining(",")));
        }
        if (!installedRevisions.isEmpty()) {
            System.setProperty("egressguard.installed-revisions", String.join(",", installedRevisions));
        }
        AtomicInteger exit = new AtomicInteger();
        Quarkus.run(ServeApplication.class, (code, failure) -> {
            if (failure != null) {
                err.println("error: " + rootMessage(failure));
                err.flush();
            }
            exit.set(code == 0 && failure != null ? 1 : code);
        });
        return exit.get();
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }

    static Path defaultTlsDir() {
        String state = System.getenv("XDG_STATE_HOME");
        Path base = state != null && !state.isBlank() ? Path.of(state)
                : Path.of(System.getProperty("user.home"), ".local", "state");
        return base.resolve("egress-guard").resolve("tls");
    }
}
