package io.egressguard.cli;

import io.egressguard.Settings;
import io.egressguard.server.ClusterAccess;
import io.egressguard.server.PemDirectory;
import io.egressguard.server.SelfManagedCertificates;
import io.egressguard.server.SelfSignedCertificates;
import io.egressguard.server.ServeApplication;
import io.egressguard.server.Warmup;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.configuration.DurationConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code serve}: the HTTPS admission webhook. Its certificate comes from one of three places:
 * <ul>
 *   <li>{@code --tls-cert FILE --tls-key FILE}: files kept up to date by someone else (cert-manager's Secret mounted
 *       into the pod), read again every {@code egressguard.tls.reload-period} ({@code ServingCertificate});</li>
 *   <li>{@code --tls-secret NAME}: self-managed certificates ({@link SelfManagedCertificates}): a CA and serving
 *       certificate kept in a Secret of Egress Guard's own namespace, renewed and rotated by the replicas themselves,
 *       with the CA set into the caBundle of the webhook configurations; needs cluster access;</li>
 *   <li>neither: a CA and serving certificate made once in a local folder, whose CA bundle path is printed.</li>
 * </ul>
 * With cluster access ({@code --kubeconfig FILE}, or the in-cluster service account) it also runs the reconciler,
 * which applies the translated declarations to the cluster.
 *
 * <p>Certificates are in place before Quarkus starts, because the HTTPS server loads them when it starts. The
 * settings that choose them ({@code egressguard.own-namespace}, {@code egressguard.cluster-domain}, {@code
 * egressguard.kubeconfig}, {@code egressguard.tls.*}) are therefore read from system properties and environment
 * variables here, not from application.properties.
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

    @Option(names = "--tls-secret", paramLabel = "NAME",
            description = "Self-managed certificates: keep the CA and serving certificate in this Secret of Egress "
                    + "Guard's own namespace (egressguard.own-namespace), renew and rotate them there, and set the "
                    + "caBundle of the webhook configurations named egress-guard. Needs cluster access.")
    String tlsSecret;

    @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "Where the PEM files are written when --tls-cert is not given (default: "
                    + "$XDG_STATE_HOME/egress-guard/tls or ~/.local/state/egress-guard/tls; with --tls-secret, "
                    + "$TMPDIR/egress-guard/tls).")
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

    @Option(names = "--exit-when-ready",
            description = "Start, warm up, and exit with 0 as soon as the server is ready: a training run that loads "
                    + "every class a request needs, e.g. under -XX:ArchiveClassesAtExit for a class-data-sharing "
                    + "archive (the launcher and the JVM image make one this way).")
    boolean exitWhenReady;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * The key protection of PKCS12 key stores that exist only in this process's memory. Netty, as it first makes a
     * server TLS context, checks what the JDK supports with a throwaway key put in a PKCS12 key store and read back;
     * the JDK protects the key with 10,000 rounds of PBKDF2-HMAC-SHA256 each way. That is pure waste for a key store
     * that is never written anywhere, and at startup it cost about 0.1 s of CPU plus some 0.7 s of JIT compilation
     * (C2 compiles the key derivation loop), on the path to ready. Egress Guard writes no key store to disk (serving
     * certificates are PEM files or a Secret), so one round is used unless the operator set the property.
     */
    static void lightInMemoryKeyStores() {
        if (System.getProperty(PKCS12_KEY_ROUNDS) == null) {
            System.setProperty(PKCS12_KEY_ROUNDS, "1");
        }
    }

    static final String PKCS12_KEY_ROUNDS = "keystore.pkcs12.keyPbeIterationCount";

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        if (tlsSecret != null && tlsCert != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--tls-secret and --tls-cert are alternatives: give one");
        }
        if (port < 1 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be 1-65535");
        }
        if (kubeconfig != null && !Files.isReadable(kubeconfig)) {
            throw new CommandLine.ParameterException(spec.commandLine(), kubeconfig + ": cannot read");
        }
        lightInMemoryKeyStores();
        if (Boolean.parseBoolean(setting("egressguard.builtin-policies", "true"))) {
            // on the second core while certificates are checked and Quarkus boots
            Warmup.startAhead();
        }
        Path cert = tlsCert;
        Path key = tlsKey;
        SelfManaged selfManaged = null;
        if (tlsSecret != null) {
            selfManaged = selfManaged(err);
            cert = selfManaged.certificates().directory().files().cert();
            key = selfManaged.certificates().directory().files().key();
        } else if (cert == null) {
            Settings d = Settings.defaults();
            Path dir = tlsDir != null ? tlsDir : defaultTlsDir();
            SelfSignedCertificates.Files3 files = SelfSignedCertificates.ensure(dir,
                    SelfSignedCertificates.dnsNames("egress-guard", setting("egressguard.own-namespace",
                            d.ownNamespace()), setting("egressguard.cluster-domain", d.clusterDomain())),
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
        System.setProperty("egressguard.tls.cert", cert.toAbsolutePath().toString());
        System.setProperty("egressguard.tls.key", key.toAbsolutePath().toString());
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
        if (exitWhenReady) {
            System.setProperty("egressguard.exit-when-ready", "true");
        }
        AtomicInteger exit = new AtomicInteger();
        try {
            Quarkus.run(ServeApplication.class, (code, failure) -> {
                if (failure != null) {
                    err.println("error: " + rootMessage(failure));
                    err.flush();
                }
                exit.set(code == 0 && failure != null ? 1 : code);
            });
        } finally {
            if (selfManaged != null) {
                selfManaged.close();
            }
        }
        return exit.get();
    }

    /** Self-managed certificates and the client they use; closing stops the periodic sync and the client. */
    private record SelfManaged(SelfManagedCertificates certificates, KubernetesClient client)
            implements AutoCloseable {
        @Override
        public void close() {
            certificates.close();
            client.close();
        }
    }

    /**
     * {@code --tls-secret}: brings the Secret, the PEM files and the caBundle up to date once, before Quarkus starts
     * (its HTTPS server needs the files), then keeps them so every sync interval.
     */
    private SelfManaged selfManaged(PrintWriter err) throws IOException {
        Optional<Config> access = ClusterAccess.clientConfig(kubeconfig != null ? Optional.of(kubeconfig)
                : Optional.ofNullable(setting("egressguard.kubeconfig", null)).map(Path::of));
        if (access.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tls-secret needs cluster access: "
                    + "--kubeconfig FILE, or the in-cluster service account");
        }
        SelfManagedCertificates.Options options = certificateOptions(tlsSecret);
        Path dir = tlsDir != null ? tlsDir : Path.of(System.getProperty("java.io.tmpdir"), "egress-guard", "tls");
        KubernetesClient client = new KubernetesClientBuilder().withConfig(access.get()).build();
        SelfManagedCertificates certificates = new SelfManagedCertificates(client, options, new PemDirectory(dir),
                Clock.systemUTC());
        SelfManagedCertificates.Result result;
        try {
            result = certificates.sync();
        } catch (KubernetesClientException e) {
            client.close();
            throw new IOException("certificates: cannot read or write Secret " + options.namespace() + "/"
                    + options.secretName() + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            client.close();
            throw e;
        }
        err.println("egress-guard: certificates kept in Secret " + options.namespace() + "/" + options.secretName()
                + ", checked every " + SelfManagedCertificates.format(options.syncInterval()));
        result.changes().forEach(c -> err.println("egress-guard: " + c));
        result.warnings().forEach(w -> err.println("egress-guard: warning: " + w));
        err.println("egress-guard: CA bundle " + certificates.directory().files().caCert());
        certificates.start();
        return new SelfManaged(certificates, client);
    }

    /**
     * The lifetimes of self-managed certificates: {@code egressguard.tls.serving-validity} (90d), {@code
     * ca-validity} (3650d), {@code ca-overlap} (1h) and {@code sync-interval} (1m).
     */
    static SelfManagedCertificates.Options certificateOptions(String secret) {
        Settings d = Settings.defaults();
        SelfManagedCertificates.Options o = SelfManagedCertificates.Options.defaults(
                setting("egressguard.own-namespace", d.ownNamespace()), secret,
                setting("egressguard.cluster-domain", d.clusterDomain()));
        return new SelfManagedCertificates.Options(o.namespace(), o.secretName(), o.webhookConfigurationName(),
                o.dnsNames(), duration("egressguard.tls.serving-validity", o.servingValidity()),
                duration("egressguard.tls.ca-validity", o.caValidity()),
                duration("egressguard.tls.ca-overlap", o.caOverlap()),
                duration("egressguard.tls.sync-interval", o.syncInterval()));
    }

    /**
     * A setting read before Quarkus starts: the system property, else the environment variable Quarkus would map
     * it from ({@code egressguard.own-namespace} is {@code EGRESSGUARD_OWN_NAMESPACE}), else {@code fallback}.
     */
    static String setting(String name, String fallback) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            value = System.getenv(name.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"));
        }
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    private static Duration duration(String name, Duration fallback) {
        String value = setting(name, null);
        if (value == null) {
            return fallback;
        }
        Duration d = DurationConverter.parseDuration(value);
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": expected a positive duration such as 90d or 1h, found \""
                    + value + "\"");
        }
        return d;
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
