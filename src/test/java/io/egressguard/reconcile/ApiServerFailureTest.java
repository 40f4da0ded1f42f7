package io.egressguard.reconcile;

import static io.egressguard.reconcile.MockCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.translate.EgressNames;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An API server that answers 500 for a while: the reconciler reports the failure in the declarations' status, backs
 * off exponentially instead of hammering it, and converges once it answers again.
 */
class ApiServerFailureTest {

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
        controller.close();
        cluster.close();
    }

    @Test
    void failedAppliesBackOffExponentiallyAndRecover() throws Exception {
        cluster.faults.fail(r -> "PATCH".equals(r.getMethod()) && r.getPath().contains("/serviceentries/"));
        cluster.createAll(Path.of("src/test/resources/translate/seed/input.yaml"));

        await(() -> cluster.faults.failed.get() >= 4, () -> "four failed applies");
        await(() -> programmed().map(c -> c.path("reason").asText().equals("ApplyFailed")).orElse(false),
                () -> "Programmed=False ApplyFailed on the ExternalService");
        JsonNode programmed = programmed().orElseThrow();
        assertThat(programmed.path("status").asText()).isEqualTo("False");
        assertThat(programmed.path("message").asText()).isEqualTo("ServiceEntry istio-egress/"
                + EgressNames.serviceEntry("global", "httpbin.org") + ": HTTP 500: etcdserver: request timed out");
        assertThat(controller.reconciler().consecutiveFailures()).isGreaterThanOrEqualTo(3);
        // 100 ms, then 200 ms, then 400 ms between attempts: never faster, whatever the machine's load
        List<Long> at = cluster.faults.failedAt;
        assertThat(Duration.ofNanos(at.get(3) - at.get(0))).isGreaterThanOrEqualTo(Duration.ofMillis(650));
        // each wait is at least its step of the backoff (a loaded machine only makes waits longer)
        assertThat(Duration.ofNanos(at.get(1) - at.get(0))).isGreaterThanOrEqualTo(Duration.ofMillis(90));
        assertThat(Duration.ofNanos(at.get(2) - at.get(1))).isGreaterThanOrEqualTo(Duration.ofMillis(190));
        assertThat(Duration.ofNanos(at.get(3) - at.get(2))).isGreaterThanOrEqualTo(Duration.ofMillis(390));
        int failedSoFar = cluster.faults.failed.get();
        Thread.sleep(1600);
        // capped at 800 ms: at most two or three more attempts in 1.6 s
        assertThat(cluster.faults.failed.get() - failedSoFar).isBetween(1, 3);

        cluster.faults.heal();

        await(() -> programmed().map(c -> c.path("status").asText().equals("True")).orElse(false),
                () -> "Programmed=True once the API server answers");
        assertThat(cluster.get(EgressReconcilerTest.serviceEntry(), "istio-egress",
                EgressNames.serviceEntry("global", "httpbin.org"))).isPresent();
        await(() -> controller.reconciler().consecutiveFailures() == 0, () -> "the backoff to reset");
    }

    @Test
    void leaderThatLostTheApiServerTakesOverAgainAndReconcilesWhenItComesBack() {
        await(() -> controller.cache().inputsSynced(), () -> "caches");
        cluster.faults.fail(r -> !r.getPath().contains("watch=true"));

        await(() -> !controller.reconciler().leading(), () -> "the leader to step down: it cannot renew the Lease");

        cluster.faults.heal();
        await(() -> controller.reconciler().leading(), () -> "the leader to take the Lease again");
        cluster.enforcedNamespace("shop");
        await(() -> cluster.get(ManagedKinds.NETWORK_POLICY, "shop", EgressNames.DENY_EGRESS_POLICY).isPresent(),
                () -> "the NetworkPolicy of shop");
    }

    Optional<JsonNode> programmed() {
        return cluster.get(ManagedKinds.EXTERNAL_SERVICE, "global", "httpbin.org")
                .map(o -> cluster.client.getKubernetesSerialization().convertValue(o, JsonNode.class))
                .map(o -> Conditions.find(o.path("status"), Conditions.PROGRAMMED));
    }
}
