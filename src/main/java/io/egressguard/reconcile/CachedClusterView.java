package io.egressguard.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.Settings;
import io.egressguard.admission.ClusterView;
import io.egressguard.cel.CelJson;
import io.egressguard.translate.EgressNames;
import io.fabric8.kubernetes.api.model.Namespace;
import java.util.List;
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

    /** The declared hosts last computed, and the declarations' fingerprint they were computed from. */
    private volatile DeclaredHostsSnapshot hosts = new DeclaredHostsSnapshot("", List.of());

    private record DeclaredHostsSnapshot(String fingerprint, List<String> hosts) {
    }

    @Override
    public boolean active() {
        return true;
    }

    /** The hosts of the cached ExternalServices; the same list instance until one of them changes. */
    @Override
    public List<String> declaredHosts() {
        List<io.fabric8.kubernetes.api.model.GenericKubernetesResource> services =
                cache.declarations(ManagedKinds.EXTERNAL_SERVICE);
        StringBuilder fingerprint = new StringBuilder();
        for (var s : services) {
            fingerprint.append(s.getMetadata().getUid()).append('@').append(s.getMetadata().getResourceVersion())
                    .append(';');
        }
        DeclaredHostsSnapshot current = hosts;
        if (current.fingerprint().contentEquals(fingerprint)) {
            return current.hosts();
        }
        List<JsonNode> trees = new java.util.ArrayList<>();
        for (var s : services) {
            JsonNode tree = cache.json(s);
            if (tree instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
                // list items may come without apiVersion and kind
                o.put("apiVersion", "egressguard.io/v1alpha1");
                o.put("kind", "ExternalService");
            }
            trees.add(tree);
        }
        DeclaredHostsSnapshot fresh = new DeclaredHostsSnapshot(fingerprint.toString(),
                io.egressguard.policy.DeclaredHosts.from(trees));
        hosts = fresh;
        return fresh.hosts();
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
