package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The counters a review updates: one review per answer, one decision per policy and outcome. */
class AdmissionMetricsTest {

    @Test
    void reviewsAndDecisionsAreCountedByTheirTags() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AdmissionService service = new AdmissionService(PolicyEngine.load(true, List.of(), Settings.defaults()),
                registry, new NoClusterView());
        byte[] deployment = Files.readAllBytes(Path.of("src/test/resources/admission/create-deployment.json"));
        byte[] networkPolicy = Files.readAllBytes(Path.of("src/test/resources/bench/networkpolicy.json"));
        for (int i = 0; i < 3; i++) {
            assertThat(service.validate(deployment, Mode.ENFORCE).status()).isEqualTo(200);
        }
        service.validate(networkPolicy, Mode.ENFORCE);
        service.validate(networkPolicy, Mode.AUDIT);

        assertThat(registry.get("egressguard.admission.reviews").tags("endpoint", "validate", "mode", "enforce",
                "allowed", "true").counter().count()).isEqualTo(3);
        assertThat(registry.get("egressguard.admission.reviews").tags("endpoint", "validate", "mode", "enforce",
                "allowed", "false").counter().count()).isEqualTo(1);
        assertThat(registry.get("egressguard.admission.reviews").tags("endpoint", "validate", "mode", "audit",
                "allowed", "true").counter().count()).isEqualTo(1);
        assertThat(registry.get("egressguard.policy.decisions").tags("policy", "no-host-network", "outcome", "ALLOW")
                .counter().count()).isEqualTo(3);
        assertThat(registry.get("egressguard.policy.decisions").tags("policy", "no-egress-network-policy-holes",
                "outcome", "DENY").counter().count()).isEqualTo(2);
    }
}
