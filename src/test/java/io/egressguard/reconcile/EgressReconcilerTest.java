package io.egressguard.reconcile;

import static io.egressguard.reconcile.MockCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.egressguard.Settings;
import io.egressguard.translate.EgressNames;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Namespace;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler against a mock API server in CRUD mode: namespaces, declarations, deletions, status conditions and
 * the no-op pass.
 */
class EgressReconcilerTest {

    static final Path SEED = Path.of("src/test/resources/translate/seed");

    MockCluster cluster;
    ClusterController controller;

    @BeforeEach
    void start() throws Exception {
        cluster = new MockCluster();
        controller = cluster.controller("replica-a");
        controller.start();
        await(() -> controller.reconciler().leading(), () -> "replica-a to lead");
    }

    @AfterEach
    void stop() {
        if (controller != null) {
            controller.close();
        }
        cluster.close();
    }

    @Test
    void namespaceThatGetsTheLabelGainsItsNetworkPolicyAndSidecar() {
        cluster.namespace("shop", Map.of());
        await(() -> controller.cache().namespace("shop").isPresent(), () -> "namespace shop in the cache");
        assertThat(cluster.generatedObjects()).isEmpty();

        Namespace shop = cluster.client.namespaces().withName("shop").get();
        shop.getMetadata().getLabels().put(Settings.MODE_LABEL, "enforce");
        cluster.client.namespaces().resource(shop).update();

        await(() -> cluster.get(ManagedKinds.NETWORK_POLICY, "shop", EgressNames.DENY_EGRESS_POLICY).isPresent()
                && cluster.get(sidecar(), "shop", EgressNames.SIDECAR).isPresent(),
                () -> "NetworkPolicy and Sidecar in shop; found " + cluster.generatedObjects());
        GenericKubernetesResource policy = cluster.get(ManagedKinds.NETWORK_POLICY, "shop",
                EgressNames.DENY_EGRESS_POLICY).orElseThrow();
        assertThat(policy.getMetadata().getLabels()).containsEntry(Settings.MANAGED_BY_LABEL, "egress-guard");
        assertThat(policy.getMetadata().getAnnotations()).containsEntry(Settings.SOURCE_ANNOTATION, "Namespace/shop");
        assertThat(field(policy, "spec").path("policyTypes").toString()).isEqualTo("[\"Egress\"]");
        GenericKubernetesResource sidecar = cluster.get(sidecar(), "shop", EgressNames.SIDECAR).orElseThrow();
        assertThat(field(sidecar, "spec").path("outboundTrafficPolicy").path("mode").asText())
                .isEqualTo("REGISTRY_ONLY");
    }

    @Test
    void namespaceThatLosesTheLabelLosesItsObjects() {
        cluster.enforcedNamespace("shop");
        await(() -> cluster.generatedObjects().size() == 2, () -> "two objects in shop");

        Namespace shop = cluster.client.namespaces().withName("shop").get();
        shop.getMetadata().getLabels().remove(Settings.MODE_LABEL);
        cluster.client.namespaces().resource(shop).update();

        await(() -> cluster.generatedObjects().isEmpty(), () -> "no generated objects; found "
                + cluster.generatedObjects());
    }

    @Test
    void externalServiceProducesItsIstioObjectsAsTheTranslatorGeneratesThem() throws Exception {
        cluster.createAll(SEED.resolve("input.yaml"));
        List<JsonNode> expected = golden(SEED.resolve("expected.yaml"));
        await(() -> cluster.generatedObjects().size() == expected.size(),
                () -> expected.size() + " objects; found " + cluster.generatedObjects());
        for (JsonNode want : expected) {
            ManagedKinds.Kind kind = ManagedKinds.generated(want.path("apiVersion").asText(),
                    want.path("kind").asText()).orElseThrow();
            String namespace = want.path("metadata").path("namespace").asText();
            String name = want.path("metadata").path("name").asText();
            GenericKubernetesResource have = cluster.get(kind, namespace, name).orElseThrow(
                    () -> new AssertionError(kind.kind() + " " + namespace + "/" + name + " missing"));
            assertThat(field(have, "spec")).as(kind.kind() + " " + name).isEqualTo(want.path("spec"));
            assertThat(have.getMetadata().getAnnotations()).containsEntry(Settings.SOURCE_ANNOTATION,
                    want.path("metadata").path("annotations").path(Settings.SOURCE_ANNOTATION).asText());
        }
    }

    @Test
    void deletingTheExternalServiceRemovesItsObjects() throws Exception {
        cluster.createAll(SEED.resolve("input.yaml"));
        String serviceEntry = EgressNames.serviceEntry("global", "httpbin.org");
        String virtualService = EgressNames.virtualService("httpbin.org");
        await(() -> cluster.get(serviceEntry(), "istio-egress", serviceEntry).isPresent()
                && cluster.get(virtualService(), "istio-egress", virtualService).isPresent(),
                () -> "ServiceEntry and VirtualService; found " + cluster.generatedObjects());

        cluster.client.genericKubernetesResources(ManagedKinds.EXTERNAL_SERVICE.context()).inNamespace("global")
                .withName("httpbin.org").delete();

        await(() -> cluster.get(serviceEntry(), "istio-egress", serviceEntry).isEmpty()
                && cluster.get(virtualService(), "istio-egress", virtualService).isEmpty(),
                () -> "ServiceEntry and VirtualService gone; found " + cluster.generatedObjects());
        assertThat(cluster.generatedObjects()).contains(
                "NetworkPolicy/bookinfo/" + EgressNames.DENY_EGRESS_POLICY, "Sidecar/bookinfo/" + EgressNames.SIDECAR)
                .noneMatch(o -> o.startsWith("ServiceEntry/") || o.startsWith("VirtualService/"));
    }

    @Test
    void writesAcceptedAndProgrammedConditionsWithObservedGeneration() throws Exception {
        cluster.createAll(SEED.resolve("input.yaml"));
        // early passes may see the ExternalService before its VirtualGateway; wait for the complete translation
        await(() -> condition(ManagedKinds.EXTERNAL_SERVICE, "global", "httpbin.org", Conditions.PROGRAMMED)
                .map(c -> c.path("message").asText().contains("ServiceEntry")).orElse(false),
                () -> "Programmed on ExternalService global/httpbin.org");
        GenericKubernetesResource es = cluster.get(ManagedKinds.EXTERNAL_SERVICE, "global", "httpbin.org")
                .orElseThrow();
        JsonNode status = field(es, "status");
        long generation = es.getMetadata().getGeneration() == null ? 0 : es.getMetadata().getGeneration();
        assertThat(status.path("observedGeneration").asLong()).isEqualTo(generation);
        JsonNode accepted = Conditions.find(status, Conditions.ACCEPTED);
        assertThat(accepted.path("status").asText()).isEqualTo("True");
        assertThat(accepted.path("reason").asText()).isEqualTo("Accepted");
        assertThat(accepted.path("observedGeneration").asLong()).isEqualTo(generation);
        assertThat(accepted.path("lastTransitionTime").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
        JsonNode programmed = Conditions.find(status, Conditions.PROGRAMMED);
        assertThat(programmed.path("status").asText()).isEqualTo("True");
        assertThat(programmed.path("reason").asText()).isEqualTo("Programmed");
        assertThat(programmed.path("message").asText())
                .contains("ServiceEntry istio-egress/" + EgressNames.serviceEntry("global", "httpbin.org"));
        for (var decl : List.of(List.of(ManagedKinds.VIRTUAL_GATEWAY, "istio-egress", "egress-vg"),
                List.of(ManagedKinds.ACCESS_POLICY, "istio-egress", "httpbin-productpage-only"))) {
            ManagedKinds.Kind kind = (ManagedKinds.Kind) decl.get(0);
            await(() -> condition(kind, (String) decl.get(1), (String) decl.get(2), Conditions.PROGRAMMED)
                    .map(c -> c.path("status").asText().equals("True")).orElse(false),
                    () -> "Programmed=True on " + decl);
        }
    }

    @Test
    void refusedDeclarationIsNotAcceptedAndNamesTheProblem() {
        cluster.namespace("global", Map.of());
        cluster.declare(ManagedKinds.EXTERNAL_SERVICE, """
                apiVersion: egressguard.io/v1alpha1
                kind: ExternalService
                metadata:
                  name: everything
                  namespace: global
                spec:
                  hosts: ["*.co.uk"]
                  ports:
                  - number: 443
                    name: https
                    protocol: HTTPS
                """);
        await(() -> condition(ManagedKinds.EXTERNAL_SERVICE, "global", "everything", Conditions.ACCEPTED)
                .isPresent(), () -> "status on ExternalService global/everything");
        JsonNode accepted = condition(ManagedKinds.EXTERNAL_SERVICE, "global", "everything", Conditions.ACCEPTED)
                .orElseThrow();
        assertThat(accepted.path("status").asText()).isEqualTo("False");
        assertThat(accepted.path("reason").asText()).isEqualTo("InvalidSpec");
        // every refused field, one per line
        assertThat(accepted.path("message").asText().split("\n")).containsExactly(
                "spec.hosts[0]: \"*.co.uk\" puts a wildcard directly on the public suffix co.uk, which would admit"
                        + " hosts run by anybody; name the domain, as in *.example.co.uk",
                "spec.ports[0].egressGatewayRoutes: required: Egress Guard sends every external port through an egress"
                        + " gateway; name its VirtualGateway in virtualGatewayRefs");
        JsonNode programmed = condition(ManagedKinds.EXTERNAL_SERVICE, "global", "everything",
                Conditions.PROGRAMMED).orElseThrow();
        assertThat(programmed.path("status").asText()).isEqualTo("False");
        assertThat(programmed.path("reason").asText()).isEqualTo("Pending");
        assertThat(cluster.generatedObjects()).isEmpty();
    }

    @Test
    void aPassWithNothingToChangeWritesNothing() throws Exception {
        cluster.createAll(SEED.resolve("input.yaml"));
        await(() -> converged(), () -> "a pass that finds nothing to change");
        long writes = controller.reconciler().writes();
        String resourceVersion = cluster.get(ManagedKinds.EXTERNAL_SERVICE, "global", "httpbin.org").orElseThrow()
                .getMetadata().getResourceVersion();

        EgressReconciler.Report report = controller.reconciler().reconcileNow();

        assertThat(report.wrote()).isFalse();
        assertThat(report.errors()).isEmpty();
        assertThat(report.unchanged()).isEqualTo(golden(SEED.resolve("expected.yaml")).size());
        assertThat(controller.reconciler().writes()).isEqualTo(writes);
        assertThat(cluster.get(ManagedKinds.EXTERNAL_SERVICE, "global", "httpbin.org").orElseThrow().getMetadata()
                .getResourceVersion()).isEqualTo(resourceVersion);
    }

    @Test
    void anEditedGeneratedObjectIsPutBack() {
        cluster.enforcedNamespace("shop");
        await(() -> cluster.get(sidecar(), "shop", EgressNames.SIDECAR).isPresent(), () -> "Sidecar in shop");
        GenericKubernetesResource sidecar = cluster.get(sidecar(), "shop", EgressNames.SIDECAR).orElseThrow();
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) sidecar.getAdditionalProperties().get("spec");
        spec.put("outboundTrafficPolicy", Map.of("mode", "ALLOW_ANY"));
        cluster.client.genericKubernetesResources(sidecar().context()).inNamespace("shop").resource(sidecar)
                .update();

        await(() -> cluster.get(sidecar(), "shop", EgressNames.SIDECAR).map(s -> field(s, "spec")
                .path("outboundTrafficPolicy").path("mode").asText()).orElse("").equals("REGISTRY_ONLY"),
                () -> "Sidecar back to REGISTRY_ONLY");
    }

    /** Runs a pass; true when it had nothing to write (the caches had caught up with earlier writes). */
    boolean converged() {
        try {
            EgressReconciler.Report report = controller.reconciler().reconcileNow();
            return report.errors().isEmpty() && !report.wrote() && report.unchanged() > 0;
        } catch (InterruptedException | IllegalStateException e) {
            return false;
        }
    }

    Optional<JsonNode> condition(ManagedKinds.Kind kind, String namespace, String name, String type) {
        return cluster.get(kind, namespace, name).map(o -> Conditions.find(field(o, "status"), type));
    }

    JsonNode field(GenericKubernetesResource o, String name) {
        return cluster.client.getKubernetesSerialization().convertValue(o, JsonNode.class).path(name);
    }

    static ManagedKinds.Kind sidecar() {
        return ManagedKinds.generated("networking.istio.io/v1", "Sidecar").orElseThrow();
    }

    static ManagedKinds.Kind serviceEntry() {
        return ManagedKinds.generated("networking.istio.io/v1", "ServiceEntry").orElseThrow();
    }

    static ManagedKinds.Kind virtualService() {
        return ManagedKinds.generated("networking.istio.io/v1", "VirtualService").orElseThrow();
    }

    static List<JsonNode> golden(Path file) throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = yaml.getFactory().createParser(file.toFile())) {
            yaml.readValues(parser, JsonNode.class).forEachRemaining(d -> {
                if (d != null && d.isObject()) {
                    docs.add(d);
                }
            });
        }
        return docs;
    }
}
