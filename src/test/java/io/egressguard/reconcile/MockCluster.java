package io.egressguard.reconcile;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.server.mock.crud.KubernetesCrudDispatcherException;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A fabric8 mock API server in CRUD mode, with Egress Guard's CRDs installed, the Istio kinds known, and two
 * additions the tests need:
 * <ul>
 *   <li>server-side apply, which the CRUD dispatcher of kubernetes-server-mock does not know: an apply of a missing
 *       object creates it, and an apply of an existing one merges the applied fields over it (RFC 7386), which is
 *       what the API server does for a single field manager that forces conflicts;</li>
 *   <li>faults: while a predicate matches, matching requests get HTTP 500, as from an API server in trouble.</li>
 * </ul>
 */
final class MockCluster implements AutoCloseable {

    static final Path CRDS = Path.of("webhook-config", "base", "crds");

    final ApplyingCrudDispatcher crud = new ApplyingCrudDispatcher();
    final FaultInjector faults = new FaultInjector(crud);
    final KubernetesMockServer server;
    final KubernetesClient client;
    private final List<KubernetesClient> clients = new ArrayList<>();

    MockCluster() throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), faults, false);
        server.init();
        client = newClient();
        for (ManagedKinds.Kind kind : ManagedKinds.GENERATED) {
            if (!kind.group().equals("networking.k8s.io")) {
                crud.expectCustomResource(new io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext
                        .Builder().withGroup(kind.group()).withVersion(kind.version()).withKind(kind.kind())
                        .withPlural(kind.plural()).withScope("Namespaced").build());
            }
        }
        try (var files = Files.list(CRDS)) {
            for (Path file : files.sorted().toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(in,
                            CustomResourceDefinition.class);
                    client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
                }
            }
        }
    }

    /** Another client of the same server (another replica), without request retries. */
    KubernetesClient newClient() {
        KubernetesClient base = server.createClient();
        KubernetesClient c = new KubernetesClientBuilder().withConfig(new ConfigBuilder(base.getConfiguration())
                .withRequestRetryBackoffLimit(0).build()).build();
        base.close();
        clients.add(c);
        return c;
    }

    /** Creates a Namespace with labels. */
    void namespace(String name, Map<String, String> labels) {
        Map<String, String> all = new HashMap<>(labels);
        all.put("kubernetes.io/metadata.name", name);
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(all)
                .endMetadata().build()).create();
    }

    /** Creates an enforced Namespace. */
    void enforcedNamespace(String name) {
        namespace(name, Map.of(Settings.MODE_LABEL, "enforce"));
    }

    /** Creates the objects of a (multi-document) YAML file: declarations, ServiceAccounts, Namespaces. */
    void createAll(Path yaml) throws java.io.IOException {
        try (InputStream in = Files.newInputStream(yaml)) {
            for (HasMetadata o : client.load(in).items()) {
                if (o instanceof GenericKubernetesResource g && g.getApiVersion().startsWith("egressguard.io/")) {
                    ManagedKinds.Kind kind = ManagedKinds.DECLARATIONS.stream()
                            .filter(k -> k.kind().equals(g.getKind())).findFirst().orElseThrow();
                    client.genericKubernetesResources(kind.context()).inNamespace(g.getMetadata().getNamespace())
                            .resource(g).create();
                } else {
                    client.resource(o).create();
                }
            }
        }
    }

    /** Test pacing: 50 ms debounce, backoff from 100 ms to 800 ms, a 1.5 s Lease renewed every 200 ms. */
    static ReconcileOptions options(String identity) {
        return new ReconcileOptions(Duration.ofMillis(50), Duration.ofMinutes(1), Duration.ofMillis(100),
                Duration.ofMillis(800), "egress-guard", ReconcileOptions.LEASE_NAME, identity,
                Duration.ofMillis(1500), Duration.ofMillis(1000), Duration.ofMillis(200));
    }

    /** A replica's controller (caches, reconciler, election) on its own client; the caller starts and closes it. */
    ClusterController controller(String identity) {
        return new ClusterController(newClient(), Settings.defaults(), options(identity));
    }

    /** Creates a declaration from YAML. */
    GenericKubernetesResource declare(ManagedKinds.Kind kind, String yaml) {
        GenericKubernetesResource r = client.getKubernetesSerialization().unmarshal(yaml,
                GenericKubernetesResource.class);
        return client.genericKubernetesResources(kind.context()).inNamespace(r.getMetadata().getNamespace())
                .resource(r).create();
    }

    Optional<GenericKubernetesResource> get(ManagedKinds.Kind kind, String namespace, String name) {
        return Optional.ofNullable(client.genericKubernetesResources(kind.context()).inNamespace(namespace)
                .withName(name).get());
    }

    /** Every object of every generated kind, as kind/namespace/name. */
    List<String> generatedObjects() {
        List<String> all = new ArrayList<>();
        for (ManagedKinds.Kind kind : ManagedKinds.GENERATED) {
            for (GenericKubernetesResource o : client.genericKubernetesResources(kind.context()).inAnyNamespace()
                    .list().getItems()) {
                all.add(kind.kind() + "/" + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName());
            }
        }
        all.sort(null);
        return all;
    }

    /** Waits until {@code condition} holds, failing with {@code what} after {@code timeout}. */
    static void await(Duration timeout, BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout + " waiting for " + what.get());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }

    static void await(BooleanSupplier condition, Supplier<String> what) {
        await(Duration.ofSeconds(15), condition, what);
    }

    @Override
    public void close() {
        clients.forEach(KubernetesClient::close);
        server.destroy();
    }

    /** The CRUD dispatcher, creating objects on a server-side apply of a missing object. */
    static final class ApplyingCrudDispatcher extends KubernetesCrudDispatcher {

        @Override
        public MockResponse handlePatch(RecordedRequest request) {
            String type = request.getHeader("Content-Type");
            String path = request.getPath();
            String base = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
            if (type == null || !type.startsWith("application/apply-patch")) {
                return super.handlePatch(request);
            }
            byte[] applied = request.getBody().getBytes();
            Map.Entry<AttributeSet, String> existing = findResource(getKey(base));
            if (existing == null) {
                return handleCreate(new RecordedRequest(request.getHttpVersion(), HttpMethod.POST,
                        base.substring(0, base.lastIndexOf('/')), request.getHeaders(), new Buffer(applied)));
            }
            // one field manager, forcing conflicts: the applied fields win (an RFC 7386 merge)
            JsonNode merged;
            try {
                merged = merge(asNode(existing), asNode(new String(applied, StandardCharsets.UTF_8)));
            } catch (KubernetesCrudDispatcherException e) {
                return new MockResponse().setResponseCode(400).setBody(e.getMessage());
            }
            return handleUpdate(new RecordedRequest(request.getHttpVersion(), HttpMethod.PUT, base,
                    request.getHeaders().newBuilder().set("Content-Type", "application/json").build(),
                    new Buffer(merged.toString().getBytes(StandardCharsets.UTF_8))));
        }

        /** RFC 7386: objects merge member by member, null removes, everything else replaces. */
        static JsonNode merge(JsonNode target, JsonNode patch) {
            if (!patch.isObject()) {
                return patch;
            }
            ObjectNode result = target.isObject() ? ((ObjectNode) target).deepCopy()
                    : JsonNodeFactory.instance.objectNode();
            patch.fields().forEachRemaining(e -> {
                if (e.getValue().isNull()) {
                    result.remove(e.getKey());
                } else {
                    result.set(e.getKey(), merge(result.path(e.getKey()), e.getValue()));
                }
            });
            return result;
        }
    }

    /** Answers matching requests with HTTP 500 while a fault is set; counts the requests it failed. */
    static final class FaultInjector extends Dispatcher {

        private final Dispatcher next;
        private volatile Predicate<RecordedRequest> failing = r -> false;
        final AtomicInteger failed = new AtomicInteger();
        /** Requests that change something, other than Lease renewals. */
        final AtomicInteger writes = new AtomicInteger();
        final List<Long> failedAt = new CopyOnWriteArrayList<>();

        FaultInjector(Dispatcher next) {
            this.next = next;
        }

        void fail(Predicate<RecordedRequest> which) {
            failing = which;
        }

        void heal() {
            failing = r -> false;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            if (failing.test(request)) {
                failed.incrementAndGet();
                failedAt.add(System.nanoTime());
                return new MockResponse().setResponseCode(500).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                        + "\"status\":\"Failure\",\"code\":500,\"reason\":\"InternalError\",\"message\":\"etcdserver:"
                        + " request timed out\"}");
            }
            if (!"GET".equals(request.getMethod()) && !request.getPath().contains("/leases")) {
                writes.incrementAndGet();
            }
            return next.dispatch(request);
        }

        @Override
        public void shutdown() {
            next.shutdown();
        }
    }
}
