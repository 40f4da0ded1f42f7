package io.egressguard.reconcile;

import static io.egressguard.reconcile.MockCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.admission.AdmissionService;
import io.egressguard.admission.Mode;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.translate.EgressNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The webhook answering from the informer caches while the reconciler runs: pod gating until the namespace's
 * NetworkPolicy exists, dry-run requests that change nothing, and remediate mode driven by the namespace's labels.
 */
class AdmissionWithClusterTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static PolicyEngine engine;

    MockCluster cluster;
    ClusterCache cache;
    ClusterController controller;
    AdmissionService webhook;

    @BeforeAll
    static void compilePolicies() throws Exception {
        engine = PolicyEngine.load(true, List.of(), Settings.defaults());
    }

    @BeforeEach
    void start() throws Exception {
        cluster = new MockCluster();
        cache = new ClusterCache(cluster.newClient());
        cache.start();
        webhook = new AdmissionService(engine, new SimpleMeterRegistry(),
                new CachedClusterView(cache, Settings.defaults()));
    }

    @AfterEach
    void stop() {
        if (controller != null) {
            controller.close();
        }
        cache.close();
        cluster.close();
    }

    void startReconciler() {
        controller = cluster.controller("replica-a");
        controller.start();
        await(() -> controller.reconciler().leading(), () -> "the reconciler to lead");
    }

    @Test
    void podCreateIsRefusedUntilTheNetworkPolicyIsInTheCacheThenAdmitted() throws Exception {
        cluster.enforcedNamespace("shop");
        await(() -> cache.viewSynced() && cache.namespace("shop").isPresent(), () -> "namespace shop in the cache");

        // the Pod as validation sees it: after Istio's injector (a captured review plus the injected sidecar)
        JsonNode refused = response(webhook.validate(review(INJECTED_POD, "shop"), Mode.ENFORCE));
        assertThat(refused.path("allowed").asBoolean()).isFalse();
        assertThat(refused.path("status").path("code").asInt()).isEqualTo(503);
        assertThat(refused.path("status").path("message").asText()).isEqualTo("[egress-guard] namespace shop: its"
                + " egress NetworkPolicy egress-guard-deny-egress is not in place yet; this is temporary: the"
                + " ReplicaSet controller retries, or retry in a few seconds");

        startReconciler();
        await(() -> cache.generated(ManagedKinds.NETWORK_POLICY, "shop", EgressNames.DENY_EGRESS_POLICY)
                .isPresent(), () -> "the NetworkPolicy of shop in the webhook's cache");

        JsonNode admitted = response(webhook.validate(review(INJECTED_POD, "shop"), Mode.ENFORCE));
        assertThat(admitted.path("allowed").asBoolean()).isTrue();
    }

    @Test
    void podsInNamespacesThatAreNotEnforcedAreNotGated() throws Exception {
        cluster.namespace("lab", Map.of(Settings.MODE_LABEL, "warn"));
        await(() -> cache.viewSynced() && cache.namespace("lab").isPresent(), () -> "namespace lab in the cache");
        JsonNode response = response(webhook.validate(review(INJECTED_POD, "lab"), Mode.ENFORCE));
        assertThat(response.path("allowed").asBoolean()).isTrue();
    }

    @Test
    void dryRunAdmissionRequestsCreateNothing() throws Exception {
        startReconciler();
        cluster.enforcedNamespace("shop");
        await(() -> cache.generated(ManagedKinds.NETWORK_POLICY, "shop", EgressNames.DENY_EGRESS_POLICY)
                .isPresent(), () -> "the NetworkPolicy of shop");
        await(() -> controller.reconciler().lastReport() != null && !controller.reconciler().lastReport().wrote(),
                () -> "the reconciler to settle");
        List<String> objects = cluster.generatedObjects();
        List<String> namespaces = cluster.client.namespaces().list().getItems().stream()
                .map(n -> n.getMetadata().getName() + "@" + n.getMetadata().getResourceVersion()).toList();
        int writes = cluster.faults.writes.get();
        long reconcilerWrites = controller.reconciler().writes();

        List<JsonNode> answers = new ArrayList<>();
        for (String fixture : List.of("create-pod-dryrun.json", "create-pod-denied-dryrun.json")) {
            answers.add(response(webhook.validate(review(fixture, "shop"), Mode.ENFORCE)));
        }
        for (String fixture : List.of("create-pod-dryrun-mutating.json", "update-deployment-dryrun-mutating.json")) {
            answers.add(response(webhook.mutate(review(fixture, "shop"), Mode.ENFORCE)));
        }
        ObjectNode namespaceReview = fixture("create-namespace-mutating.json");
        ((ObjectNode) namespaceReview.path("request")).put("dryRun", true);
        ObjectNode labels = (ObjectNode) namespaceReview.path("request").path("object").path("metadata")
                .path("labels");
        labels.remove("istio-injection");
        labels.put(Settings.MODE_LABEL, "enforce");
        answers.add(response(webhook.mutate(MAPPER.writeValueAsBytes(namespaceReview), Mode.ENFORCE)));
        Thread.sleep(500);

        assertThat(answers).allMatch(a -> a.has("allowed"));
        assertThat(answers.get(2).path("patchType").asText()).isEqualTo("JSONPatch");
        assertThat(cluster.generatedObjects()).isEqualTo(objects);
        assertThat(cluster.client.namespaces().list().getItems().stream()
                .map(n -> n.getMetadata().getName() + "@" + n.getMetadata().getResourceVersion()).toList())
                .isEqualTo(namespaces);
        assertThat(cluster.faults.writes.get()).isEqualTo(writes);
        assertThat(controller.reconciler().writes()).isEqualTo(reconcilerWrites);
    }

    @Test
    void remediatingNamespaceGetsRedirectionHolesStrippedWithWarnings() throws Exception {
        cluster.namespace("shop", Map.of(Settings.MODE_LABEL, "enforce", "egressguard.io/remediate", "true"));
        await(() -> cache.namespace("shop").isPresent(), () -> "namespace shop in the cache");
        ObjectNode review = fixture("create-pod-mutating.json");
        retarget(review, "shop");
        ObjectNode annotations = (ObjectNode) review.path("request").path("object").path("metadata")
                .path("annotations");
        annotations.put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");
        annotations.put("traffic.sidecar.istio.io/excludeInboundPorts", "9090");

        JsonNode response = response(webhook.mutate(MAPPER.writeValueAsBytes(review), Mode.ENFORCE));

        assertThat(response.path("allowed").asBoolean()).isTrue();
        // computed against the raw object: its labels come before its annotations
        assertThat(patch(response)).isEqualTo("[{\"op\":\"add\",\"path\":\"/metadata/labels/sidecar.istio.io"
                + "~1inject\",\"value\":\"true\"},{\"op\":\"remove\",\"path\":\"/metadata/annotations/traffic"
                + ".sidecar.istio.io~1excludeOutboundIPRanges\"}]");
        assertThat(response.path("warnings")).hasSize(1);
        assertThat(response.path("warnings").get(0).asText()).startsWith("[egress-guard] metadata.annotations["
                + "\"traffic.sidecar.istio.io/excludeOutboundIPRanges\"]: removed \"0.0.0.0/0\"");
    }

    @Test
    void namespaceWithoutTheRemediateLabelKeepsItsAnnotations() throws Exception {
        cluster.enforcedNamespace("shop");
        await(() -> cache.namespace("shop").isPresent(), () -> "namespace shop in the cache");
        ObjectNode review = fixture("create-pod-mutating.json");
        retarget(review, "shop");
        ((ObjectNode) review.path("request").path("object").path("metadata").path("annotations"))
                .put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");

        JsonNode response = response(webhook.mutate(MAPPER.writeValueAsBytes(review), Mode.ENFORCE));

        assertThat(patch(response)).doesNotContain("excludeOutboundIPRanges");
        assertThat(response.has("warnings")).isFalse();
    }

    static String patch(JsonNode response) throws Exception {
        return MAPPER.readTree(Base64.getDecoder().decode(response.path("patch").asText())).toString();
    }

    /** A captured Pod CREATE with the containers Istio's injector adds. */
    static final String INJECTED_POD = "bench/pod-10k.json";

    static ObjectNode fixture(String name) throws Exception {
        String resource = name.contains("/") ? "/" + name : "/admission/" + name;
        try (InputStream in = AdmissionWithClusterTest.class.getResourceAsStream(resource)) {
            assertThat(in).as(name).isNotNull();
            return (ObjectNode) MAPPER.readTree(in);
        }
    }

    /** A captured review, moved into {@code namespace}. */
    static byte[] review(String name, String namespace) throws Exception {
        ObjectNode review = fixture(name);
        retarget(review, namespace);
        return MAPPER.writeValueAsBytes(review);
    }

    static void retarget(ObjectNode review, String namespace) {
        ObjectNode request = (ObjectNode) review.path("request");
        request.put("namespace", namespace);
        for (String field : List.of("object", "oldObject")) {
            if (request.path(field).path("metadata").isObject()) {
                ((ObjectNode) request.path(field).path("metadata")).put("namespace", namespace);
            }
        }
    }

    static JsonNode response(AdmissionService.Reply reply) throws Exception {
        assertThat(reply.status()).isEqualTo(200);
        return MAPPER.readTree(reply.body()).path("response");
    }
}
