package io.egressguard.admission;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the webhook knows about the cluster beyond the request itself. Without cluster access (the default) it knows
 * nothing and gates nothing; with the reconciler running, it answers from the reconciler's informer caches, never
 * from a call to the API server on the request path.
 */
public interface ClusterView {

    /** True when the view is backed by live caches of the cluster. */
    boolean active();

    /** The Namespace object (a CEL value: maps, lists, Long) when it is in the cache. */
    Optional<Object> namespace(String name);

    /** The labels of a Namespace in the cache; empty when it is not known. */
    default Map<String, String> namespaceLabels(String name) {
        Map<String, String> labels = new TreeMap<>();
        namespace(name).ifPresent(ns -> {
            if (ns instanceof Map<?, ?> m && m.get("metadata") instanceof Map<?, ?> meta
                    && meta.get("labels") instanceof Map<?, ?> l) {
                l.forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
            }
        });
        return labels;
    }

    /**
     * Why pods may not be created in an enforced namespace yet, or empty when they may: a Pod CREATE is refused,
     * with a message that says it is temporary, until the namespace's deny-egress NetworkPolicy is in place.
     */
    Optional<String> podsNotYetAllowed(String namespace);

    /**
     * The external hosts declared by ExternalServices in the cluster ({@code egressguard.externalHosts} in policies).
     * Implementations return the same list instance until the declarations change.
     */
    default List<String> declaredHosts() {
        return List.of();
    }
}
