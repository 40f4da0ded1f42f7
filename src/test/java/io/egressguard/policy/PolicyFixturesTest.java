package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every policy's fixtures, through the same runner as {@code egress-guard test}: one dynamic test per fixture
 * document, plus a failing test for a policy that lacks an allowed or a denied case.
 */
class PolicyFixturesTest {

    static final Path POLICIES = Path.of("policies");

    @TestFactory
    Stream<DynamicTest> everyPolicyFixture() throws Exception {
        PolicyEngine engine = PolicyEngine.load(false, List.of(POLICIES), Settings.defaults());
        List<PolicySuite.CaseResult> results = PolicySuite.run(engine, POLICIES);
        assertThat(results).isNotEmpty();
        return results.stream().map(r -> DynamicTest.dynamicTest(
                r.policyId() + " " + r.expectation() + " " + r.fixture(),
                () -> assertThat(r.passed()).as(r.detail()).isTrue()));
    }

    @Test
    void everyPolicyFolderHasBothKindsOfFixture() throws Exception {
        try (Stream<Path> folders = Files.list(POLICIES)) {
            for (Path folder : folders.filter(f -> Files.isRegularFile(f.resolve("policy.yaml"))).toList()) {
                for (String kind : List.of("allowed", "denied")) {
                    Path dir = folder.resolve("tests").resolve(kind);
                    try (Stream<Path> files = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
                        assertThat(files.anyMatch(f -> f.toString().matches(".*\\.(ya?ml|json)$")))
                                .as(folder + " needs tests/" + kind + " fixtures").isTrue();
                    }
                }
            }
        }
    }

    @Test
    void runnerReportsAPolicyWithoutDeniedFixtures(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path policy = dir.resolve("no-host-network");
        Files.createDirectories(policy.resolve("tests/allowed"));
        Files.copy(POLICIES.resolve("no-host-network/policy.yaml"), policy.resolve("policy.yaml"));
        Files.copy(POLICIES.resolve("no-host-network/tests/allowed/pod-default-network.yaml"),
                policy.resolve("tests/allowed/pod.yaml"));
        PolicyEngine engine = PolicyEngine.load(false, List.of(dir), Settings.defaults());
        List<PolicySuite.CaseResult> results = PolicySuite.run(engine, dir);
        assertThat(results).anyMatch(r -> !r.passed() && r.expectation().equals("denied")
                && r.detail().contains("no denied fixture"));
    }

    @Test
    void runnerReportsADeniedFixtureThatIsAdmitted(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path policy = dir.resolve("no-host-network");
        Files.createDirectories(policy.resolve("tests/allowed"));
        Files.createDirectories(policy.resolve("tests/denied"));
        Files.copy(POLICIES.resolve("no-host-network/policy.yaml"), policy.resolve("policy.yaml"));
        Path ok = POLICIES.resolve("no-host-network/tests/allowed/pod-default-network.yaml");
        Files.copy(ok, policy.resolve("tests/allowed/pod.yaml"));
        Files.copy(ok, policy.resolve("tests/denied/not-really.yaml"));
        PolicyEngine engine = PolicyEngine.load(false, List.of(dir), Settings.defaults());
        assertThat(PolicySuite.run(engine, dir)).filteredOn(r -> !r.passed()).singleElement()
                .satisfies(r -> assertThat(r.detail()).contains("should have refused"));
    }
}
