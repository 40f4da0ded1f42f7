package io.egressguard.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.translate.EgressTranslator;
import io.egressguard.translate.Translation;
import io.egressguard.translate.TranslationProblem;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Keeps the cluster equal to the translation of its declarations. A pass translates the cached ExternalServices,
 * VirtualGateways, AccessPolicies, ServiceAccounts and Namespaces with {@link EgressTranslator}, applies every desired
 * object that differs from its cached copy with server-side apply (field manager {@value #FIELD_MANAGER}, forcing
 * conflicts), deletes the objects it generated earlier that are no longer desired (labelled
 * {@code app.kubernetes.io/managed-by=egress-guard} and carrying {@code egressguard.io/source}), and writes the
 * {@code Accepted} and {@code Programmed} conditions of every declaration whose status changed. A pass that finds
 * nothing to change writes nothing.
 *
 * <p>Passes run on one thread: after a change (debounced), on a periodic resync, and after a failed pass with
 * exponential backoff. Only the leader writes; {@link #setLeading(boolean)} is driven by the Lease election.
 */
public final class EgressReconciler implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(EgressReconciler.class);

    /** The server-side apply field manager of every object Egress Guard writes. */
    public static final String FIELD_MANAGER = "egress-guard";

    /** How often a pass re-checks caches that have not finished their initial list. */
    static final Duration SYNC_POLL = Duration.ofMillis(250);

    private static final Comparator<JsonNode> NUMERIC_EQUALITY = (a, b) -> {
        if (a.equals(b)) {
            return 0;
        }
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0 ? 0 : 1;
        }
        return 1;
    };

    /**
     * What one pass did.
     *
     * @param applied objects written with server-side apply
     * @param unchanged desired objects already up to date
     * @param deleted generated objects removed because nothing generates them any more
     * @param statusWrites declarations whose status was written
     * @param errors one line per failed API call
     */
    public record Report(int applied, int unchanged, int deleted, int statusWrites, List<String> errors) {

        public Report {
            errors = List.copyOf(errors);
        }

        /** Whether the pass changed anything in the cluster. */
        public boolean wrote() {
            return applied + deleted + statusWrites > 0;
        }
    }

    /** A generated object's identity. */
    record ObjectKey(ManagedKinds.Kind kind, String namespace, String name) {
        @Override
        public String toString() {
            return kind.kind() + " " + namespace + "/" + name;
        }
    }

    private final KubernetesClient client;
    private final ClusterCache cache;
    private final EgressTranslator translator;
    private final ReconcileOptions options;
    private final ScheduledExecutorService executor;
    private final Backoff backoff;
    private final AtomicBoolean leading = new AtomicBoolean();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong passes = new AtomicLong();
    private volatile Instant notBefore = Instant.MIN;
    private volatile Report lastReport;
    private volatile boolean closed;

    /** A reconciler that writes with {@code client} and reads from {@code cache}. */
    public EgressReconciler(KubernetesClient client, ClusterCache cache, Settings settings, ReconcileOptions options) {
        this.client = Objects.requireNonNull(client, "client");
        this.cache = Objects.requireNonNull(cache, "cache");
        this.translator = new EgressTranslator(settings);
        this.options = Objects.requireNonNull(options, "options");
        this.backoff = new Backoff(options.backoffInitial(), options.backoffMax());
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "egress-guard-reconciler");
            t.setDaemon(true);
            return t;
        });
    }

    /** Listens to the cache and starts the periodic resync; passes run only while leading. */
    public void start() {
        cache.addListener(this::requestPass);
        long resync = options.resync().toMillis();
        executor.scheduleAtFixedRate(this::requestPass, resync, resync, TimeUnit.MILLISECONDS);
    }

    /** Called by the leader election: a new leader reconciles at once, a former one stops writing. */
    public void setLeading(boolean leader) {
        boolean was = leading.getAndSet(leader);
        if (leader && !was) {
            LOG.infof("%s leads: reconciling", options.identity());
            requestPass();
        } else if (!leader && was) {
            LOG.infof("%s no longer leads: not writing", options.identity());
        }
    }

    /** Whether this replica currently leads. */
    public boolean leading() {
        return leading.get();
    }

    /** Asks for a pass after the debounce interval (or later, while backing off). */
    public void requestPass() {
        if (leading.get() && !closed) {
            schedule(options.debounce());
        }
    }

    private void schedule(Duration delay) {
        if (!closed && scheduled.compareAndSet(false, true)) {
            executor.schedule(this::runScheduled, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
        }
    }

    private void runScheduled() {
        scheduled.set(false);
        if (closed || !leading.get()) {
            return;
        }
        Instant now = Instant.now();
        if (now.isBefore(notBefore)) {
            schedule(Duration.between(now, notBefore));
            return;
        }
        if (!cache.inputsSynced()) {
            schedule(SYNC_POLL);
            return;
        }
        Report report;
        try {
            report = reconcile();
        } catch (RuntimeException e) {
            LOG.error("reconcile pass failed", e);
            report = new Report(0, 0, 0, 0, List.of(String.valueOf(e.getMessage())));
        }
        if (report.errors().isEmpty()) {
            if (backoff.failures() > 0) {
                LOG.infof("reconcile pass succeeded after %d failed passes", backoff.failures());
            }
            backoff.succeeded();
            notBefore = Instant.MIN;
        } else {
            Duration wait = backoff.failed();
            notBefore = Instant.now().plus(wait);
            LOG.warnf("reconcile pass had %d errors (failure %d in a row); retrying in %d ms: %s",
                    report.errors().size(), backoff.failures(), wait.toMillis(), report.errors().get(0));
            schedule(wait);
        }
    }

    /**
     * Runs one pass now, on the reconciler's thread, and returns what it did; it writes only while this replica
     * leads. For tests and tools.
     *
     * @throws IllegalStateException when the caches have not finished their initial lists
     */
    public Report reconcileNow() throws InterruptedException {
        if (!cache.inputsSynced()) {
            throw new IllegalStateException("the caches have not finished their initial lists");
        }
        try {
            return executor.submit(this::reconcile).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("reconcile pass failed", e.getCause());
        }
    }

    /** Number of writes (applies, deletes, status updates) this replica has sent. */
    public long writes() {
        return writes.get();
    }

    /** Number of passes this replica has run. */
    public long passes() {
        return passes.get();
    }

    /** Consecutive failed passes (0 after a success). */
    public int consecutiveFailures() {
        return backoff.failures();
    }

    /** What the last pass did, or null before the first. */
    public Report lastReport() {
        return lastReport;
    }

    /** One pass: translate, apply, delete, write status. Runs on the reconciler's thread. */
    Report reconcile() {
        passes.incrementAndGet();
        Translation translation = translator.translate(cache.translationInputs());
        Map<ObjectKey, ObjectNode> desired = new LinkedHashMap<>();
        Map<ObjectKey, String> failed = new HashMap<>();
        List<String> errors = new ArrayList<>();
        int applied = 0;
        int unchanged = 0;
        for (ObjectNode object : translation.objects()) {
            String apiVersion = object.path("apiVersion").asText();
            String kindName = object.path("kind").asText();
            ManagedKinds.Kind kind = ManagedKinds.generated(apiVersion, kindName).orElse(null);
            JsonNode metadata = object.path("metadata");
            if (kind == null) {
                errors.add("the translator generated " + apiVersion + " " + kindName + ", which is not a kind the"
                        + " reconciler manages");
                continue;
            }
            ObjectKey key = new ObjectKey(kind, metadata.path("namespace").asText(), metadata.path("name").asText());
            desired.put(key, object);
            GenericKubernetesResource cached = cache.generated(kind, key.namespace(), key.name()).orElse(null);
            if (cached != null && upToDate(object, cache.json(cached))) {
                unchanged++;
                continue;
            }
            if (!leading.get()) {
                return abandoned(applied, unchanged, 0, 0, errors);
            }
            try {
                apply(kind, key.namespace(), object);
                applied++;
            } catch (KubernetesClientException e) {
                String message = describe(e);
                failed.put(key, message);
                errors.add("apply " + key + ": " + message);
            }
        }
        int deleted = 0;
        for (ManagedKinds.Kind kind : ManagedKinds.GENERATED) {
            if (!cache.generatedSynced(kind)) {
                continue;
            }
            List<GenericKubernetesResource> stale = cache.generated(kind).stream()
                    .filter(o -> source(o) != null)
                    .filter(o -> !desired.containsKey(new ObjectKey(kind, o.getMetadata().getNamespace(),
                            o.getMetadata().getName())))
                    .sorted(Comparator.comparing((GenericKubernetesResource o) -> o.getMetadata().getNamespace())
                            .thenComparing(o -> o.getMetadata().getName()))
                    .toList();
            for (GenericKubernetesResource o : stale) {
                if (!leading.get()) {
                    return abandoned(applied, unchanged, deleted, 0, errors);
                }
                ObjectKey key = new ObjectKey(kind, o.getMetadata().getNamespace(), o.getMetadata().getName());
                try {
                    writes.incrementAndGet();
                    client.genericKubernetesResources(kind.context()).inNamespace(key.namespace())
                            .withName(key.name()).delete();
                    deleted++;
                    LOG.infof("deleted %s: no declaration generates it any more (it came from %s)", key, source(o));
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 404) {
                        errors.add("delete " + key + ": " + describe(e));
                    }
                }
            }
        }
        int statusWrites = 0;
        for (ManagedKinds.Kind kind : ManagedKinds.DECLARATIONS) {
            List<GenericKubernetesResource> declarations = new ArrayList<>(cache.declarations(kind));
            declarations.sort(Comparator.comparing((GenericKubernetesResource o) -> o.getMetadata().getNamespace())
                    .thenComparing(o -> o.getMetadata().getName()));
            for (GenericKubernetesResource declaration : declarations) {
                if (declaration.getMetadata().getDeletionTimestamp() != null) {
                    continue;
                }
                if (!leading.get()) {
                    return abandoned(applied, unchanged, deleted, statusWrites, errors);
                }
                try {
                    if (writeStatus(kind, declaration, translation.problems(), desired, failed)) {
                        statusWrites++;
                    }
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 404) {
                        errors.add("status of " + kind.kind() + " " + declaration.getMetadata().getNamespace() + "/"
                                + declaration.getMetadata().getName() + ": " + describe(e));
                    }
                }
            }
        }
        Report report = new Report(applied, unchanged, deleted, statusWrites, errors);
        lastReport = report;
        if (report.wrote()) {
            LOG.infof("reconciled: %d applied, %d deleted, %d statuses written, %d unchanged, %d errors", applied,
                    deleted, statusWrites, unchanged, errors.size());
        } else {
            LOG.debugf("reconciled: nothing to change (%d objects, %d errors)", unchanged, errors.size());
        }
        return report;
    }

    private Report abandoned(int applied, int unchanged, int deleted, int statusWrites, List<String> errors) {
        LOG.infof("%s lost the lease during a pass; the new leader finishes it", options.identity());
        Report report = new Report(applied, unchanged, deleted, statusWrites, errors);
        lastReport = report;
        return report;
    }

    private void apply(ManagedKinds.Kind kind, String namespace, ObjectNode object) {
        GenericKubernetesResource resource = client.getKubernetesSerialization()
                .convertValue(object, GenericKubernetesResource.class);
        writes.incrementAndGet();
        client.genericKubernetesResources(kind.context()).inNamespace(namespace).resource(resource)
                .fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
    }

    /**
     * Writes the declaration's conditions when they differ from its current status.
     *
     * @return whether a write was sent
     */
    private boolean writeStatus(ManagedKinds.Kind kind, GenericKubernetesResource declaration,
            List<TranslationProblem> problems, Map<ObjectKey, ObjectNode> desired, Map<ObjectKey, String> failed) {
        String namespace = declaration.getMetadata().getNamespace();
        String name = declaration.getMetadata().getName();
        String source = kind.kind() + "/" + namespace + "/" + name;
        long generation = declaration.getMetadata().getGeneration() == null ? 0
                : declaration.getMetadata().getGeneration();
        List<Conditions.Condition> wanted = conditions(source, problems, desired, failed);
        JsonNode current = cache.json(declaration).get("status");
        if (Conditions.upToDate(current, generation, wanted)) {
            return false;
        }
        // Egress Guard owns the whole status of its declarations: one JSON patch replaces it
        ArrayNode patch = JsonNodeFactory.instance.arrayNode();
        patch.addObject().put("op", "add").put("path", "/status")
                .set("value", Conditions.status(current, generation, wanted, Instant.now()));
        writes.incrementAndGet();
        client.genericKubernetesResources(kind.context()).inNamespace(namespace).withName(name)
                .subresource("status").patch(PatchContext.of(PatchType.JSON), patch.toString());
        return true;
    }

    /** The Accepted and Programmed conditions of the declaration {@code source} ({@code Kind/namespace/name}). */
    static List<Conditions.Condition> conditions(String source, List<TranslationProblem> problems,
            Map<ObjectKey, ObjectNode> desired, Map<ObjectKey, String> failed) {
        List<TranslationProblem> own = problems.stream().filter(p -> p.source().equals(source)).toList();
        List<String> refusals = own.stream().filter(TranslationProblem::error).map(EgressReconciler::line).toList();
        List<String> warnings = own.stream().filter(p -> !p.error()).map(EgressReconciler::line).toList();
        if (!refusals.isEmpty()) {
            return List.of(
                    new Conditions.Condition(Conditions.ACCEPTED, false, Conditions.INVALID_SPEC,
                            String.join("\n", refusals)),
                    new Conditions.Condition(Conditions.PROGRAMMED, false, Conditions.PENDING,
                            "nothing is programmed while the declaration is refused; fix the fields the Accepted"
                                    + " condition names"));
        }
        Conditions.Condition accepted = new Conditions.Condition(Conditions.ACCEPTED, true,
                Conditions.REASON_ACCEPTED, warnings.isEmpty() ? "translated"
                        : "translated, with warnings:\n" + String.join("\n", warnings));
        List<ObjectKey> generated = desired.entrySet().stream()
                .filter(e -> sources(e.getValue().path("metadata")).contains(source))
                .map(Map.Entry::getKey).toList();
        List<String> failures = generated.stream().filter(failed::containsKey)
                .map(k -> k + ": " + failed.get(k)).toList();
        Conditions.Condition programmed = failures.isEmpty()
                ? new Conditions.Condition(Conditions.PROGRAMMED, true, Conditions.REASON_PROGRAMMED,
                        generated.isEmpty() ? "no objects to generate"
                                : generated.size() + (generated.size() == 1 ? " generated object is" :
                                        " generated objects are") + " applied: " + generated.stream()
                                .map(ObjectKey::toString).collect(Collectors.joining(", ")))
                : new Conditions.Condition(Conditions.PROGRAMMED, false, Conditions.APPLY_FAILED,
                        String.join("\n", failures));
        return List.of(accepted, programmed);
    }

    private static String line(TranslationProblem p) {
        return (p.path().isEmpty() ? "" : p.path() + ": ") + p.message();
    }

    private static List<String> sources(JsonNode metadata) {
        String text = metadata.path("annotations").path(Settings.SOURCE_ANNOTATION).asText("");
        return text.isEmpty() ? List.of() : Arrays.asList(text.split(","));
    }

    private static String source(GenericKubernetesResource o) {
        Map<String, String> annotations = o.getMetadata().getAnnotations();
        return annotations == null ? null : annotations.get(Settings.SOURCE_ANNOTATION);
    }

    /**
     * Whether the cluster's copy already says what the desired object says: its labels and annotations include the
     * desired ones, and every other top-level field the translator sets ({@code spec}) is equal.
     */
    static boolean upToDate(ObjectNode desired, JsonNode actual) {
        for (String map : List.of("labels", "annotations")) {
            JsonNode want = desired.path("metadata").path(map);
            JsonNode have = actual.path("metadata").path(map);
            for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().equals(have.get(e.getKey()))) {
                    return false;
                }
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = desired.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (List.of("apiVersion", "kind", "metadata").contains(e.getKey())) {
                continue;
            }
            JsonNode have = actual.get(e.getKey());
            if (have == null || !e.getValue().equals(NUMERIC_EQUALITY, have)) {
                return false;
            }
        }
        return true;
    }

    /** The API server's message for a failed call, with its HTTP code. */
    static String describe(KubernetesClientException e) {
        Status status = e.getStatus();
        String message = status != null && status.getMessage() != null && !status.getMessage().isBlank()
                ? status.getMessage() : e.getMessage();
        if (message == null) {
            message = e.getClass().getSimpleName();
        }
        message = message.strip().replace('\n', ' ');
        return e.getCode() > 0 ? "HTTP " + e.getCode() + ": " + message : message;
    }

    /** Stops scheduling passes; a pass in progress completes. */
    @Override
    public void close() {
        closed = true;
        leading.set(false);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
