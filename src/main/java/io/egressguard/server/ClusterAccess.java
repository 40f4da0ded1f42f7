package io.egressguard.server;

import io.egressguard.Settings;
import io.egressguard.admission.ClusterView;
import io.egressguard.admission.NoClusterView;
import io.egressguard.reconcile.ClusterController;
import io.egressguard.reconcile.EgressReconciler;
import io.egressguard.reconcile.ReconcileOptions;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * The webhook's {@link ClusterView} in {@code serve}. With cluster access ({@code egressguard.kubeconfig}, set by
 * {@code serve --kubeconfig FILE}, or the in-cluster service account token) it starts the {@link ClusterController}
 * (informers, reconciler, Lease election) and answers from its caches; without, it behaves as {@link NoClusterView}:
 * no namespace objects, no pod gating, no remediation.
 */
@ApplicationScoped
public class ClusterAccess implements ClusterView {

    private static final Logger LOG = Logger.getLogger(ClusterAccess.class);

    /** Where Kubernetes mounts a pod's service account token. */
    static final Path SERVICE_ACCOUNT_TOKEN = Path.of(Config.KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH);
    /** Retries of one API request inside the client; the reconciler's own backoff does the rest. */
    static final int REQUEST_RETRIES = 2;

    private volatile ClusterView view = new NoClusterView();
    private volatile ClusterController controller;
    private volatile KubernetesClient client;

    void onStart(@Observes StartupEvent event, EgressGuardConfig config, MeterRegistry registry) {
        if (!config.reconcile().enabled()) {
            LOG.info("cluster access is turned off (egressguard.reconcile.enabled=false): no reconciler, no pod"
                    + " gating, no remediation");
            return;
        }
        Optional<Config> clientConfig = clientConfig(config.kubeconfig());
        if (clientConfig.isEmpty()) {
            LOG.info("no cluster access (no --kubeconfig, no in-cluster service account): the webhook runs without"
                    + " the reconciler, pod gating or remediation");
            return;
        }
        Settings settings = config.toSettings();
        EgressGuardConfig.Reconcile r = config.reconcile();
        ReconcileOptions options = new ReconcileOptions(r.debounce(), r.resync(), r.backoffInitial(),
                r.backoffMax(), settings.ownNamespace(), r.leaseName(), identity(), r.leaseDuration(),
                r.renewDeadline(), r.retryPeriod());
        client = new KubernetesClientBuilder().withConfig(clientConfig.get()).build();
        controller = new ClusterController(client, settings, options);
        controller.start();
        view = controller.view();
        register(registry, controller.reconciler());
        LOG.infof("cluster access: %s; reconciling as %s (Lease %s/%s)", client.getMasterUrl(), options.identity(),
                options.leaseNamespace(), options.leaseName());
    }

    /** The reconciler's Prometheus metrics: {@code egressguard_reconcile_*}. */
    private static void register(MeterRegistry registry, EgressReconciler reconciler) {
        Gauge.builder("egressguard.reconcile.leader", reconciler, r -> r.leading() ? 1 : 0)
                .description("1 while this replica holds the reconciler's Lease").register(registry);
        FunctionCounter.builder("egressguard.reconcile.passes", reconciler, EgressReconciler::passes)
                .description("Reconcile passes run by this replica").register(registry);
        FunctionCounter.builder("egressguard.reconcile.writes", reconciler, EgressReconciler::writes)
                .description("Server-side applies, deletions and status writes sent by this replica")
                .register(registry);
        Gauge.builder("egressguard.reconcile.consecutive.failures", reconciler,
                EgressReconciler::consecutiveFailures)
                .description("Failed passes in a row (0 after a success)").register(registry);
    }

    void onStop(@Observes ShutdownEvent event) {
        view = new NoClusterView();
        if (controller != null) {
            controller.close();
        }
        if (client != null) {
            client.close();
        }
    }

    /** The client configuration: the kubeconfig when given, else the in-cluster one when its token is there. */
    public static Optional<Config> clientConfig(Optional<Path> kubeconfig) {
        Config config;
        if (kubeconfig.isPresent()) {
            Path file = kubeconfig.get();
            if (!Files.isReadable(file)) {
                throw new IllegalStateException("cannot read kubeconfig " + file);
            }
            config = Config.fromKubeconfig(null, file.toAbsolutePath().toFile());
        } else if (Files.isReadable(SERVICE_ACCOUNT_TOKEN) && System.getenv("KUBERNETES_SERVICE_HOST") != null) {
            config = Config.autoConfigure(null);
        } else {
            return Optional.empty();
        }
        return Optional.of(new ConfigBuilder(config).withRequestRetryBackoffLimit(REQUEST_RETRIES).build());
    }

    /** This replica's name in the Lease: the pod name (HOSTNAME) or host name, with a random suffix. */
    static String identity() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                host = "egress-guard";
            }
        }
        return host + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Whether the caches the webhook answers from hold a complete list (always true without cluster access). */
    public boolean synced() {
        ClusterController c = controller;
        return c == null || c.cache().viewSynced();
    }

    /** Whether the reconciler runs, and whether this replica leads. */
    public String state() {
        ClusterController c = controller;
        if (c == null) {
            return "no cluster access";
        }
        return (c.cache().viewSynced() ? "caches synced" : "caches loading") + ", "
                + (c.reconciler().leading() ? "leader" : "follower");
    }

    @Override
    public boolean active() {
        return view.active();
    }

    @Override
    public Optional<Object> namespace(String name) {
        return view.namespace(name);
    }

    @Override
    public Map<String, String> namespaceLabels(String name) {
        return view.namespaceLabels(name);
    }

    @Override
    public Optional<String> podsNotYetAllowed(String namespace) {
        return view.podsNotYetAllowed(namespace);
    }

    @Override
    public java.util.List<String> declaredHosts() {
        return view.declaredHosts();
    }
}
