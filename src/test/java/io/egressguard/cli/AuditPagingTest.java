package io.egressguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.fabric8.kubernetes.api.model.NamespaceListBuilder;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code audit} follows the API server's continue tokens through large lists. */
@EnableKubernetesMockClient
class AuditPagingTest {

    KubernetesMockServer server;

    @Test
    void pagesThroughLargeLists() throws Exception {
        server.expect().get().withPath("/api/v1/namespaces?labelSelector=egressguard.io%2Fmode")
                .andReturn(200, new NamespaceListBuilder().addNewItem().withNewMetadata().withName("shop")
                        .addToLabels(Settings.MODE_LABEL, "enforce").endMetadata().endItem().build())
                .always();
        server.expect().get().withPath("/api/v1/namespaces/shop/pods?limit=2")
                .andReturn(200, new PodListBuilder().withNewMetadata().withContinue("page-2").endMetadata()
                        .addToItems(AuditCommandTest.pod("a", false), AuditCommandTest.pod("b", false)).build())
                .once();
        server.expect().get().withPath("/api/v1/namespaces/shop/pods?continue=page-2&limit=2")
                .andReturn(200, new PodListBuilder().withNewMetadata().endMetadata()
                        .addToItems(AuditCommandTest.pod("c", true)).build()).once();
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        try (KubernetesClient client = server.createClient()) {
            ClusterAudit.Report report = new ClusterAudit(client, engine, 2).run();
            assertThat(report.findings()).filteredOn(f -> f.kind().equals("Pod"))
                    .filteredOn(f -> f.evaluation().refusals().stream()
                            .anyMatch(d -> d.policyId().equals("no-host-network")))
                    .extracting(ClusterAudit.Finding::name).containsExactly("c");
            assertThat(report.objects()).isGreaterThanOrEqualTo(3);
        }
    }

}
