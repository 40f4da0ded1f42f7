package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The corpus gate: every real public manifest in {@code src/test/resources/corpus} (see its README and SOURCES.md),
 * evaluated with the built-in policies as a CREATE into an enforced namespace, as {@code check} does. Verdicts must
 * agree with {@code index.json}; for each refusal, a policy that explains each listed mechanism must be among the
 * refusing ones. Rows marked {@code context_dependent} follow the decisions recorded in {@link #DECISIONS} (and in the
 * READMEs of the policies named there).
 */
class CorpusGateTest {

    static final Path CORPUS = Path.of("src/test/resources/corpus");
    static final String NAMESPACE = "egress-guard-corpus";

    /** Which policies explain each bypass mechanism of the corpus. */
    static final Map<String, Set<String>> EXPLAINED_BY = Map.ofEntries(
            Map.entry("inject-false", Set.of("no-sidecar-opt-out")),
            Map.entry("excludeOutboundIPRanges", Set.of("no-outbound-exclusions")),
            Map.entry("excludeOutboundPorts", Set.of("no-outbound-exclusions")),
            Map.entry("includeOutboundIPRanges", Set.of("no-outbound-exclusions")),
            Map.entry("interceptionMode-NONE", Set.of("no-interception-override")),
            Map.entry("status-annotation", Set.of("no-proxy-tampering")),
            Map.entry("uid-1337", Set.of("no-proxy-uid")),
            Map.entry("gid-1337", Set.of("no-proxy-uid")),
            Map.entry("capabilities", Set.of("no-network-privilege", "no-proxy-tampering")),
            Map.entry("privileged", Set.of("no-network-privilege")),
            Map.entry("hostNetwork", Set.of("no-host-network")),
            Map.entry("ExternalName", Set.of("no-external-service-registration")),
            Map.entry("selectorless-Service+Endpoints", Set.of("no-external-service-registration")),
            Map.entry("ServiceEntry-external", Set.of("no-tenant-service-entry")),
            Map.entry("WorkloadEntry-external", Set.of("no-tenant-service-entry")),
            Map.entry("Sidecar-ALLOW_ANY", Set.of("no-allow-any-sidecar")),
            Map.entry("EnvoyFilter", Set.of("no-envoy-filter")),
            Map.entry("VirtualService-egress-gateway", Set.of("no-egress-gateway-binding")),
            Map.entry("NetworkPolicy-egress-all", Set.of("no-egress-network-policy-holes")));

    /**
     * Decisions on the rows whose verdict depends on a design choice: file, then "allow" or "deny" and why.
     */
    static final Map<String, String[]> DECISIONS = Map.of(
            "benign/istio__inject-proxy-override-runas__Deployment-hello.yaml", new String[] {"allow",
                "a user istio-proxy that only sets a non-1337 UID/GID is merged by the injector, which moves "
                        + "istio-init's -u to it; no-proxy-uid then treats that UID as the proxy's"},
            "bypass/istio__inject-merge-probers__Deployment-hello.yaml", new String[] {"deny",
                "a pod template never carries sidecar.istio.io/status or a hand-written istio-init"},
            "bypass/istio__inject-hello-cncf-networks-injected__Deployment-hello.yaml", new String[] {"deny",
                "injector output submitted as a template: status annotation and istio-validation as 1337"},
            "bypass/istio__config-rule-route-via-egressgateway__VirtualService-route-via-egressgateway.yaml",
            new String[] {"deny", "the short name of the egress gateway Service is refused statically"},
            "bypass/istio__se-example-gw__VirtualService-gateway-routing.yaml", new String[] {"deny",
                "the short name of the egress gateway Service is refused statically"},
            "bypass/k8s-examples__glusterfs-service__Service-glusterfs-cluster.yaml", new String[] {"allow",
                "a selector-less Service opens nothing by itself; its Endpoints are judged on their own"},
            "bypass/k8s-examples__glusterfs-endpoints__Endpoints-glusterfs-cluster.yaml", new String[] {"deny",
                "addresses outside the configured cluster CIDRs"},
            "bypass/kyverno-policies__service-mesh-disallow-capabilities__good__Pod-good01.yaml",
            new String[] {"deny", "a hand-written istio-init with NET_ADMIN; the injector adds its own"},
            "bypass/kyverno-policies__service-mesh-disallow-capabilities__good__Pod-good02.yaml",
            new String[] {"deny", "a hand-written istio-init with NET_ADMIN; the injector adds its own"});

    static PolicyEngine engine;
    static JsonNode index;

    @BeforeAll
    static void load() throws Exception {
        engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        index = new ObjectMapper().readTree(CORPUS.resolve("index.json").toFile());
    }

    @TestFactory
    Stream<DynamicTest> everyCorpusFileGetsItsVerdict() {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode row : index) {
            String file = row.path("file").asText();
            tests.add(DynamicTest.dynamicTest(file, () -> check(row)));
        }
        assertThat(tests).hasSize(143);
        return tests.stream();
    }

    static void check(JsonNode row) throws Exception {
        String file = row.path("file").asText();
        String expected = row.path("verdict").asText();
        if (row.path("context_dependent").asBoolean()) {
            assertThat(DECISIONS).as("a decision for context row " + file).containsKey(file);
            expected = DECISIONS.get(file)[0];
        }
        List<ManifestDocument> docs = ManifestReader.parse(ManifestReader.readFile(CORPUS.resolve(file)), file, false);
        assertThat(docs).hasSize(1);
        ObjectNode object = (ObjectNode) docs.get(0).tree();
        if (object.path("metadata").has("namespace")) {
            ((ObjectNode) object.path("metadata")).put("namespace", NAMESPACE);
        }
        AdmissionAttributes attrs = AdmissionAttributes.ofManifest(object, NAMESPACE, "corpus").orElseThrow(
                () -> new AssertionError(file + ": kind " + object.path("kind").asText() + " is not evaluated"));
        Evaluation eval = engine.evaluate(attrs, p -> !p.injectedPodsOnly());
        String refusals = eval.refusals().stream().map(Decision::line).collect(Collectors.joining("\n"));
        if (expected.equals("allow")) {
            assertThat(eval.allowed()).as(file + " must be admitted, but:\n" + refusals).isTrue();
            return;
        }
        assertThat(eval.allowed()).as(file + " must be refused").isFalse();
        assertThat(eval.refusals()).as(file).noneMatch(d -> d.outcome() == Decision.Outcome.ERROR);
        Set<String> refusing = eval.refusals().stream().map(Decision::policyId).collect(Collectors.toSet());
        for (JsonNode m : row.path("mechanisms")) {
            if (file.equals("bypass/k8s-examples__glusterfs-service__Service-glusterfs-cluster.yaml")) {
                continue;
            }
            Set<String> explaining = EXPLAINED_BY.get(m.asText());
            assertThat(explaining).as("mechanism " + m.asText() + " is mapped to policies").isNotNull();
            assertThat(refusing).as(file + ": mechanism " + m.asText() + " must be named by one of " + explaining
                    + "; refused by:\n" + refusals).containsAnyElementsOf(explaining);
        }
    }
}
