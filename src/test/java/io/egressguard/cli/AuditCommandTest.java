package io.egressguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.api.model.NamespaceListBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code audit} against fabric8's mock API server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class AuditCommandTest {

    KubernetesMockServer server;
    KubernetesClient client;

    @AfterEach
    void reset() {
        AuditCommand.clientFactory = null;
    }

    static void namespace(KubernetesClient client, String name, String mode) {
        NamespaceBuilder b = new NamespaceBuilder().withNewMetadata().withName(name)
                .addToLabels("kubernetes.io/metadata.name", name).endMetadata();
        if (mode != null) {
            b.editMetadata().addToLabels(Settings.MODE_LABEL, mode).endMetadata();
        }
        client.namespaces().resource(b.build()).create();
    }

    static void deployment(KubernetesClient client, String ns, String name, boolean hostNetwork) {
        client.apps().deployments().inNamespace(ns).resource(new DeploymentBuilder()
                .withNewMetadata().withName(name).withNamespace(ns).endMetadata()
                .withNewSpec().withNewSelector().addToMatchLabels("app", name).endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", name).endMetadata()
                .withNewSpec().withHostNetwork(hostNetwork).addNewContainer().withName(name).withImage("nginx:1.27")
                .endContainer().endSpec().endTemplate().endSpec().build()).create();
    }

    @Test
    void findsExistingViolationsOnlyInEnforcedNamespaces() throws Exception {
                    namespace(client, "shop", "enforce");
            namespace(client, "plain", null);
            namespace(client, "kube-system", "enforce");
            deployment(client, "shop", "agent", true);
            deployment(client, "shop", "web", false);
            deployment(client, "plain", "agent", true);
            deployment(client, "kube-system", "agent", true);
            AuditCommand.clientFactory = () -> server.createClient();

            CheckCommandTest.Run text = CheckCommandTest.run("audit");
            assertThat(text.exit()).as(text.err()).isEqualTo(1);
            assertThat(text.out()).contains("Deployment shop/agent: violates the policies\n"
                    + "  [no-host-network] spec.template.spec.hostNetwork: true shares the node network namespace");
            assertThat(text.out()).doesNotContain("shop/web").doesNotContain("plain/").doesNotContain("kube-system/");
            assertThat(text.out()).endsWith("1 enforced namespaces, 2 objects: 1 violate the policies\n");

            CheckCommandTest.Run json = CheckCommandTest.run("audit", "-o", "json");
            JsonNode report = new ObjectMapper().readTree(json.out());
            assertThat(report.path("results")).hasSize(1);
            assertThat(report.path("results").get(0).path("violations").get(0).path("policy").asText())
                    .isEqualTo("no-host-network");
            assertThat(report.path("summary").path("violating").asInt()).isEqualTo(1);
    }

    @Test
    void exitsZeroWhenNothingViolates() throws Exception {
                    namespace(client, "shop", "enforce");
            deployment(client, "shop", "web", false);
            AuditCommand.clientFactory = () -> server.createClient();
            CheckCommandTest.Run r = CheckCommandTest.run("audit");
            assertThat(r.exit()).as(r.err()).isEqualTo(0);
    }

    static io.fabric8.kubernetes.api.model.Pod pod(String name, boolean hostNetwork) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace("shop").endMetadata()
                .withNewSpec().withHostNetwork(hostNetwork).addNewContainer().withName(name).withImage("nginx")
                .endContainer().endSpec().build();
    }

    @Test
    void unreachableClusterExits2() {
        AuditCommand.clientFactory = () -> new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                .withConfig(new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("https://127.0.0.1:1")
                        .withRequestTimeout(2000).withConnectionTimeout(2000).withRequestRetryBackoffLimit(0).build())
                .build();
        CheckCommandTest.Run r = CheckCommandTest.run("audit");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: cannot read the cluster");
    }
}
