package io.egressguard.reconcile;

import static io.egressguard.reconcile.MockCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.translate.EgressNames;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two replicas on one API server: both keep caches, only the holder of the Lease writes. */
class LeaderElectionTest {

    MockCluster cluster;
    ClusterController a;
    ClusterController b;

    @BeforeEach
    void start() throws Exception {
        cluster = new MockCluster();
    }

    @AfterEach
    void stop() {
        for (ClusterController c : new ClusterController[] {a, b}) {
            if (c != null) {
                c.close();
            }
        }
        cluster.close();
    }

    @Test
    void ofTwoReplicasOnlyTheLeaderReconciles() {
        a = cluster.controller("replica-a");
        a.start();
        await(() -> a.reconciler().leading(), () -> "replica-a to lead");
        b = cluster.controller("replica-b");
        b.start();
        await(() -> b.cache().inputsSynced(), () -> "replica-b's caches");

        cluster.enforcedNamespace("shop");

        await(() -> cluster.generatedObjects().size() == 2, () -> "objects in shop; found "
                + cluster.generatedObjects());
        // every replica keeps the caches the webhook answers from
        await(() -> b.view().podsNotYetAllowed("shop").isEmpty(), () -> "replica-b to see the NetworkPolicy");
        assertThat(a.reconciler().writes()).isPositive();
        assertThat(b.reconciler().leading()).isFalse();
        assertThat(b.reconciler().writes()).isZero();
        assertThat(b.reconciler().passes()).isZero();
        Lease lease = cluster.client.leases().inNamespace("egress-guard").withName(ReconcileOptions.LEASE_NAME)
                .get();
        assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("replica-a");
    }

    @Test
    void whenTheLeaderStopsTheOtherReplicaTakesOver() {
        a = cluster.controller("replica-a");
        a.start();
        await(() -> a.reconciler().leading(), () -> "replica-a to lead");
        b = cluster.controller("replica-b");
        b.start();
        await(() -> b.cache().inputsSynced(), () -> "replica-b's caches");

        a.close();
        a = null;

        await(() -> b.reconciler().leading(), () -> "replica-b to take over");
        cluster.enforcedNamespace("cart");
        await(() -> cluster.get(ManagedKinds.NETWORK_POLICY, "cart", EgressNames.DENY_EGRESS_POLICY).isPresent(),
                () -> "the NetworkPolicy of cart");
        assertThat(b.reconciler().writes()).isPositive();
        assertThat(cluster.client.leases().inNamespace("egress-guard").withName(ReconcileOptions.LEASE_NAME).get()
                .getSpec().getHolderIdentity()).isEqualTo("replica-b");
    }
}
