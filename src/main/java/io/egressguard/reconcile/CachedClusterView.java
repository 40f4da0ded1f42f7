package io.egressguard.reconcile;

import io.egressguard.Settings;
import io.egressguard.admission.ClusterView;
import io.egressguard.cel.CelJson;
import io.egressguard.translate.EgressNames;
import io.fabric8.kubernetes.api.model.Namespace;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The webhook's view of the cluster, answered from the {@link ClusterCache} informers only: a request never waits
 * for the API server.
 *
 * <p>Pod gating: in an enforced namespace a Pod CREATE is refused until the namespace's deny-egress NetworkPolicy
 * ({@value EgressNames#DENY_EGRESS_POLICY}) is in the cache, so that no pod starts before the policy that confines
 * it exists (the race of kyverno/kyverno#1769). The refusal says it is temporary: controllers retry.
 */
public final class CachedClusterView implements ClusterView {

    private final ClusterCache cache;
    private final Set<String> platformNamespaces;

    /** A view over {@code cache}, which must be started. */
    public CachedClusterView(ClusterCache cache, Settings settings) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.platformNamespaces = settings.platformNamespaces();
    }

    @Override
    public boolean active() {
        return true;
    }

    @Override
    public Optional<Object> namespace(String name) {
        return cache.namespace(name).map(ns -> CelJson.toCel(cache.json(ns)));
    }

    @Override
    public Map<String, String> namespaceLabels(String name) {
        return cache.namespace(name).map(Namespace::getMetadata).map(m -> m.getLabels())
                .map(Map::copyOf).orElse(Map.of());
    }

    @Override
    public Optional<String> podsNotYetAllowed(String namespace) {
        if (namespace.isEmpty() || platformNamespaces.contains(namespace)) {
            return Optional.empty();
        }
        if (!cache.viewSynced()) {
            return Optional.of("namespace " + namespace + ": Egress Guard is still loading its view of the cluster,"
                    + " so it cannot tell whether the egress NetworkPolicy " + EgressNames.DENY_EGRESS_POLICY
                    + " is in place; this is temporary: the ReplicaSet controller retries, or retry in a few seconds");
        }
        Optional<Namespace> ns = cache.namespace(namespace);
        if (ns.isPresent()) {
            Map<String, String> labels = ns.get().getMetadata().getLabels();
            if (labels == null || !"enforce".equals(labels.get(Settings.MODE_LABEL))) {
                return Optional.empty();
            }
        }
        if (cache.generated(ManagedKinds.NETWORK_POLICY, namespace, EgressNames.DENY_EGRESS_POLICY).isPresent()) {
            return Optional.empty();
        }
        return Optional.of("namespace " + namespace + ": its egress NetworkPolicy " + EgressNames.DENY_EGRESS_POLICY
                + " is not in place yet; this is temporary: the ReplicaSet controller retries, or retry in a few"
                + " seconds");
    }
}
