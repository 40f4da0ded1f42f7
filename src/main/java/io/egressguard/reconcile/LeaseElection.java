package io.egressguard.reconcile;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Leader election over a {@code coordination.k8s.io} Lease in Egress Guard's own namespace (fabric8's
 * {@code LeaderElector}): replicas run side by side and only the holder of the Lease writes. A replica that loses the
 * Lease (it could not renew it, for instance while the API server was unreachable) stands again for election, so it
 * takes over when the API server comes back; on close it releases the Lease, so that another replica takes over
 * without waiting for it to expire.
 */
public final class LeaseElection implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LeaseElection.class);

    private final KubernetesClient client;
    private final ReconcileOptions options;
    private final Consumer<Boolean> leading;
    private final ScheduledExecutorService executor;
    private volatile CompletableFuture<?> current;
    private volatile boolean closed;

    /**
     * An election for the Lease {@code options.leaseNamespace()/options.leaseName()}.
     *
     * @param leading told {@code true} when this replica starts leading and {@code false} when it stops
     */
    public LeaseElection(KubernetesClient client, ReconcileOptions options, Consumer<Boolean> leading) {
        this.client = Objects.requireNonNull(client, "client");
        this.options = Objects.requireNonNull(options, "options");
        this.leading = Objects.requireNonNull(leading, "leading");
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "egress-guard-election");
            t.setDaemon(true);
            return t;
        });
    }

    /** Stands for election, and again each time leadership is lost, until closed. */
    public void start() {
        executor.execute(this::stand);
    }

    private void stand() {
        if (closed) {
            return;
        }
        LeaderElectionConfig config = new LeaderElectionConfigBuilder()
                .withName(options.leaseName())
                .withLock(new LeaseLock(options.leaseNamespace(), options.leaseName(), options.identity()))
                .withLeaseDuration(options.leaseDuration())
                .withRenewDeadline(options.renewDeadline())
                .withRetryPeriod(options.retryPeriod())
                .withReleaseOnCancel(true)
                .withLeaderCallbacks(new LeaderCallbacks(
                        () -> leading.accept(true),
                        () -> leading.accept(false),
                        holder -> LOG.infof(holder == null || holder.isEmpty() ? "the reconciler's Lease is free"
                                : "the reconciler's leader is now %s", holder)))
                .build();
        try {
            CompletableFuture<?> election = client.leaderElector().withConfig(config).build().start();
            current = election;
            election.whenComplete((ok, failure) -> {
                leading.accept(false);
                if (!closed) {
                    if (failure != null && !(failure instanceof java.util.concurrent.CancellationException)) {
                        LOG.warnf("leader election ended: %s; standing again", failure.getMessage());
                    }
                    executor.schedule(this::stand, options.retryPeriod().toMillis(), TimeUnit.MILLISECONDS);
                }
            });
        } catch (RuntimeException e) {
            LOG.warnf("cannot stand for leader election: %s; retrying", e.getMessage());
            executor.schedule(this::stand, options.retryPeriod().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Stops standing and releases the Lease if this replica holds it. */
    @Override
    public void close() {
        closed = true;
        CompletableFuture<?> election = current;
        if (election != null) {
            election.cancel(true);
        }
        leading.accept(false);
        executor.shutdownNow();
    }
}
