package io.egressguard.server;

import io.egressguard.Settings;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Server settings ({@code egressguard.*}): from application.properties, overridable by environment variables
 * ({@code EGRESSGUARD_GATEWAY_NAMESPACE}, ...) and a mounted ConfigMap (see {@code quarkus.config.locations}).
 */
@ConfigMapping(prefix = "egressguard")
public interface EgressGuardConfig {

    /** Extra policy folders, merged with the built-in policies. */
    Optional<List<Path>> policyDirs();

    /** Whether the built-in policies are loaded. */
    @WithDefault("true")
    boolean builtinPolicies();

    /**
     * Rounds of warm-up requests over HTTPS (each round posts every sample once) before the server reports ready; see
     * {@link Warmup}.
     */
    @WithDefault("8")
    int warmupIterations();

    /**
     * Stop as soon as the warm-up is done and the server would report ready: a training run, which loads every class
     * a real request needs (for a class-data-sharing archive, see {@code ./egress-guard} and the JVM image).
     */
    @WithDefault("false")
    boolean exitWhenReady();

    /** Threads that review admission requests; 0: one per core, at least 2 (see {@code ReviewPool}). */
    @WithDefault("0")
    int reviewThreads();

    /**
     * How long a request may wait for a review thread; past it, it is answered 503 rather than reviewed late (under the
     * API server's 5 s webhook timeout).
     */
    @WithDefault("2s")
    Duration maxQueueTime();

    /** How much request body may wait for a review thread, in all; past it, requests are answered 503 at once. */
    @WithDefault("32M")
    io.quarkus.runtime.configuration.MemorySize maxQueuedBodySize();

    @WithDefault("istio-egress")
    String gatewayNamespace();

    @WithDefault("istio-egressgateway")
    String gatewayService();

    /** Labels of the egress gateway pods (default istio=egressgateway). */
    @WithDefault("istio=egressgateway")
    List<String> gatewayLabels();

    @WithDefault("istio-system")
    String istiodNamespace();

    @WithDefault("egress-guard")
    String ownNamespace();

    @WithDefault("1337")
    long proxyUid();

    @WithDefault("1337")
    long proxyGid();

    Optional<String> proxyImagePattern();

    Optional<List<String>> clusterCidrs();

    @WithDefault("default")
    List<String> installedRevisions();

    @WithDefault("kube-system,kube-public,kube-node-lease")
    List<String> exemptNamespaces();

    @WithDefault("cluster.local")
    String clusterDomain();

    @WithDefault("cluster.local")
    String trustDomain();

    @WithDefault("system:masters")
    List<String> adminGroups();

    @WithDefault("system:serviceaccount:egress-guard:egress-guard")
    String serviceAccount();

    /**
     * Kubeconfig of the cluster to reconcile ({@code serve --kubeconfig FILE}). Without it, {@code serve} uses the
     * in-cluster service account when its token is mounted, and otherwise runs without cluster access.
     */
    Optional<Path> kubeconfig();

    /** The reconciler ({@code egressguard.reconcile.*}), which runs whenever {@code serve} has cluster access. */
    Reconcile reconcile();

    /** The serving certificate ({@code egressguard.tls.*}). */
    Tls tls();

    /** Where the HTTPS server's certificate comes from, and how often it is checked for a new one. */
    interface Tls {

        /** PEM file of the serving certificate, chain allowed ({@code serve} sets it). */
        Optional<Path> cert();

        /** PEM file of the serving certificate's private key ({@code serve} sets it). */
        Optional<Path> key();

        /** How often the two files are read again; a changed certificate is served from the next handshake on. */
        @WithDefault("10s")
        Duration reloadPeriod();

        /*
         * Self-managed certificates (serve --tls-secret NAME). serve reads these when it starts, before Quarkus, from
         * system properties or environment variables (see SelfManagedCertificates.Options for what they do); they
         * are declared here so that Quarkus knows them too.
         */

        /** How often each replica reads the certificate Secret and the webhook configurations. */
        @WithDefault("1m")
        Duration syncInterval();

        /** Validity of a serving certificate; it is renewed when a third of it remains. */
        @WithDefault("90d")
        Duration servingValidity();

        /** Validity of a CA; it is rotated when a third of it remains. */
        @WithDefault("3650d")
        Duration caValidity();

        /** Wait between the steps of a CA rotation (new CA trusted, then signing, then the old one dropped). */
        @WithDefault("1h")
        Duration caOverlap();
    }

    /** Pacing and leader election of the reconciler. */
    interface Reconcile {

        /** Set to false to run the webhook without cluster access even where it has some. */
        @WithDefault("true")
        boolean enabled();

        /** Wait after a change before a pass, so that a burst of changes makes one pass. */
        @WithDefault("200ms")
        Duration debounce();

        /** Interval of the periodic pass that repairs drift. */
        @WithDefault("5m")
        Duration resync();

        /** Wait after the first failed pass; doubles with each further failure. */
        @WithDefault("500ms")
        Duration backoffInitial();

        /** Longest wait between failed passes. */
        @WithDefault("5m")
        Duration backoffMax();

        /** Name of the coordination.k8s.io Lease in Egress Guard's own namespace. */
        @WithDefault("egress-guard-reconciler")
        String leaseName();

        @WithDefault("15s")
        Duration leaseDuration();

        @WithDefault("10s")
        Duration renewDeadline();

        @WithDefault("2s")
        Duration retryPeriod();
    }

    /** {@code key=value} pairs as a map. */
    static Map<String, String> labels(List<String> pairs) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String p : pairs) {
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("egressguard.gateway-labels: expected key=value, found \"" + p
                        + "\"");
            }
            out.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
        }
        return Map.copyOf(out);
    }

    /** The settings record the engine and translator use. */
    default Settings toSettings() {
        Settings d = Settings.defaults();
        Set<String> exempt = new HashSet<>(exemptNamespaces());
        return new Settings(gatewayNamespace(), gatewayService(), labels(gatewayLabels()),
                istiodNamespace(), ownNamespace(), proxyUid(), proxyGid(),
                proxyImagePattern().orElse(d.proxyImagePattern()), clusterCidrs().orElse(d.clusterCidrs()),
                List.copyOf(installedRevisions()), Set.copyOf(exempt), clusterDomain(), trustDomain(),
                List.copyOf(adminGroups()), serviceAccount());
    }
}
