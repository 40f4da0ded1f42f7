package io.egressguard.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.Settings;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiPredicate;
import org.jboss.logging.Logger;

/**
 * Informer caches of everything Egress Guard reads from the cluster: Namespaces, ServiceAccounts, the three
 * declaration kinds, and the objects it generated (only those labelled
 * {@code app.kubernetes.io/managed-by=egress-guard}). Every replica keeps these caches: the webhook answers from them
 * and the reconciler translates from them, so neither calls the API server to read.
 *
 * <p>Informers retry on their own when the API server is unreachable or a kind is not installed yet, and relist when
 * it comes back. Listeners hear about every change that can alter the translation; status-only updates of the
 * declarations (the reconciler's own writes) are not reported.
 */
public final class ClusterCache implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ClusterCache.class);

    private final KubernetesClient client;
    private final SharedIndexInformer<Namespace> namespaces;
    private final SharedIndexInformer<ServiceAccount> serviceAccounts;
    private final Map<ManagedKinds.Kind, SharedIndexInformer<GenericKubernetesResource>> declarations =
            new LinkedHashMap<>();
    private final Map<ManagedKinds.Kind, SharedIndexInformer<GenericKubernetesResource>> generated =
            new LinkedHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean started;

    /** Informers over {@code client}; nothing is requested before {@link #start()}. */
    public ClusterCache(KubernetesClient client) {
        this.client = Objects.requireNonNull(client, "client");
        this.namespaces = client.namespaces().runnableInformer(0);
        this.serviceAccounts = client.serviceAccounts().inAnyNamespace().runnableInformer(0);
        for (ManagedKinds.Kind kind : ManagedKinds.DECLARATIONS) {
            declarations.put(kind, client.genericKubernetesResources(kind.context()).inAnyNamespace()
                    .runnableInformer(0));
        }
        for (ManagedKinds.Kind kind : ManagedKinds.GENERATED) {
            generated.put(kind, client.genericKubernetesResources(kind.context()).inAnyNamespace()
                    .withLabel(Settings.MANAGED_BY_LABEL, Settings.MANAGED_BY_VALUE).runnableInformer(0));
        }
    }

    /** Registers a listener called, on an informer thread, after every relevant change. */
    public void addListener(Runnable listener) {
        listeners.add(listener);
    }

    /** Starts every informer without waiting for the initial lists. */
    public synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        watch("Namespace", namespaces, ClusterCache::inputChanged);
        watch("ServiceAccount", serviceAccounts, ClusterCache::inputChanged);
        declarations.forEach((kind, informer) -> watch(kind.kind(), informer, ClusterCache::inputChanged));
        generated.forEach((kind, informer) -> watch(kind.kind(), informer, (a, b) -> true));
    }

    private <T extends HasMetadata> void watch(String what, SharedIndexInformer<T> informer,
            BiPredicate<T, T> relevantUpdate) {
        informer.addEventHandler(new ResourceEventHandler<T>() {
            @Override
            public void onAdd(T obj) {
                changed();
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                if (relevantUpdate.test(oldObj, newObj)) {
                    changed();
                }
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                changed();
            }
        });
        informer.exceptionHandler((isStarted, t) -> {
            LOG.warnf("watching %s: %s; retrying", what, t.getMessage() == null ? t.toString() : t.getMessage());
            return true;
        });
        informer.start().whenComplete((ok, failure) -> {
            if (failure == null) {
                LOG.debugf("%s cache synced", what);
                changed();
            }
        });
    }

    /**
     * Whether an update can change the translation: anything but a status write. Declarations bump
     * {@code metadata.generation} when their spec changes; labels select clients and destinations; a deletion
     * timestamp takes an object out of the translation.
     */
    static <T extends HasMetadata> boolean inputChanged(T oldObj, T newObj) {
        ObjectMeta a = oldObj.getMetadata();
        ObjectMeta b = newObj.getMetadata();
        if (a == null || b == null) {
            return true;
        }
        if (newObj instanceof GenericKubernetesResource && b.getGeneration() == null) {
            // a declaration without a generation cannot tell its spec changes from status writes
            return true;
        }
        return !Objects.equals(a.getGeneration(), b.getGeneration())
                || !Objects.equals(a.getLabels(), b.getLabels())
                || !Objects.equals(a.getDeletionTimestamp(), b.getDeletionTimestamp());
    }

    private void changed() {
        for (Runnable listener : listeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                LOG.error("cache listener failed", e);
            }
        }
    }

    /** Whether the caches the webhook needs (Namespaces, NetworkPolicies) hold a complete initial list. */
    public boolean viewSynced() {
        return namespaces.hasSynced() && generated.get(ManagedKinds.NETWORK_POLICY).hasSynced();
    }

    /** Whether every input of the translation (Namespaces, ServiceAccounts, declarations) is fully listed. */
    public boolean inputsSynced() {
        return namespaces.hasSynced() && serviceAccounts.hasSynced()
                && declarations.values().stream().allMatch(SharedIndexInformer::hasSynced);
    }

    /** Whether the cache of one generated kind is fully listed, so that what it lacks does not exist. */
    public boolean generatedSynced(ManagedKinds.Kind kind) {
        SharedIndexInformer<GenericKubernetesResource> informer = generated.get(kind);
        return informer != null && informer.hasSynced();
    }

    /** A Namespace from the cache. */
    public Optional<Namespace> namespace(String name) {
        return Optional.ofNullable(namespaces.getStore().getByKey(name));
    }

    /** A generated object (labelled managed-by egress-guard) from the cache. */
    public Optional<GenericKubernetesResource> generated(ManagedKinds.Kind kind, String namespace, String name) {
        SharedIndexInformer<GenericKubernetesResource> informer = generated.get(kind);
        return informer == null ? Optional.empty()
                : Optional.ofNullable(informer.getStore().getByKey(namespace + "/" + name));
    }

    /** Every cached object of a generated kind. */
    public List<GenericKubernetesResource> generated(ManagedKinds.Kind kind) {
        SharedIndexInformer<GenericKubernetesResource> informer = generated.get(kind);
        return informer == null ? List.of() : informer.getStore().list();
    }

    /** Every cached declaration of one kind. */
    public List<GenericKubernetesResource> declarations(ManagedKinds.Kind kind) {
        SharedIndexInformer<GenericKubernetesResource> informer = declarations.get(kind);
        return informer == null ? List.of() : informer.getStore().list();
    }

    /**
     * What the translator reads, as JSON trees: Namespaces and declarations that are not being deleted, and every
     * ServiceAccount.
     */
    public List<JsonNode> translationInputs() {
        List<JsonNode> inputs = new ArrayList<>();
        for (Namespace ns : namespaces.getStore().list()) {
            if (ns.getMetadata().getDeletionTimestamp() == null) {
                inputs.add(json(ns));
            }
        }
        for (ServiceAccount sa : serviceAccounts.getStore().list()) {
            inputs.add(json(sa));
        }
        for (SharedIndexInformer<GenericKubernetesResource> informer : declarations.values()) {
            for (GenericKubernetesResource d : informer.getStore().list()) {
                if (d.getMetadata().getDeletionTimestamp() == null) {
                    inputs.add(json(d));
                }
            }
        }
        return inputs;
    }

    /** A cached object as a JSON tree. */
    public JsonNode json(Object object) {
        return client.getKubernetesSerialization().convertValue(object, JsonNode.class);
    }

    /** Stops every informer. */
    @Override
    public void close() {
        namespaces.close();
        serviceAccounts.close();
        declarations.values().forEach(SharedIndexInformer::close);
        generated.values().forEach(SharedIndexInformer::close);
    }
}
