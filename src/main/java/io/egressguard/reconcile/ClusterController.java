package io.egressguard.reconcile;

import io.egressguard.Settings;
import io.egressguard.admission.ClusterView;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Objects;

/**
 * Everything {@code serve} runs when it has cluster access: the informer caches (on every replica), the webhook's
 * view of them, the reconciler, and the Lease election that decides which replica's reconciler writes.
 */
public final class ClusterController implements AutoCloseable {

    private final ClusterCache cache;
    private final CachedClusterView view;
    private final EgressReconciler reconciler;
    private final LeaseElection election;

    /** Wires the parts together over {@code client}; nothing runs before {@link #start()}. */
    public ClusterController(KubernetesClient client, Settings settings, ReconcileOptions options) {
        Objects.requireNonNull(client, "client");
        this.cache = new ClusterCache(client);
        this.view = new CachedClusterView(cache, settings);
        this.reconciler = new EgressReconciler(client, cache, settings, options);
        this.election = new LeaseElection(client, options, reconciler::setLeading);
    }

    /** Starts the informers, the reconciler and the election; returns without waiting for any of them. */
    public void start() {
        reconciler.start();
        cache.start();
        election.start();
    }

    /** The webhook's view of the cluster, backed by the caches. */
    public ClusterView view() {
        return view;
    }

    public ClusterCache cache() {
        return cache;
    }

    public EgressReconciler reconciler() {
        return reconciler;
    }

    /** Releases the Lease, stops the reconciler and the informers. */
    @Override
    public void close() {
        election.close();
        reconciler.close();
        cache.close();
    }
}
