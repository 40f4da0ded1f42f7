package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Remediate mode: in an enforced namespace labelled {@code egressguard.io/remediate: "true"}, the mutating webhook
 * removes the redirection holes of threat-model family 2 from Pods and pod templates, with one warning per annotation,
 * instead of letting the validating webhook refuse them. Fed AdmissionReviews captured from a real kube-apiserver.
 */
class RemediateModeTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final String NAMESPACE = "harness-team-a";
    static PolicyEngine engine;

    @BeforeAll
    static void compilePolicies() throws Exception {
        engine = PolicyEngine.load(true, List.of(), Settings.defaults());
    }

    /** A cluster view that knows one namespace's labels, as the informer cache would. */
    record FixedView(Map<String, String> labels) implements ClusterView {
        @Override
        public boolean active() {
            return true;
        }

        @Override
        public Optional<Object> namespace(String name) {
            return name.equals(NAMESPACE) ? Optional.of(Map.of("metadata", Map.of("name", name, "labels", labels)))
                    : Optional.empty();
        }

        @Override
        public Optional<String> podsNotYetAllowed(String namespace) {
            return Optional.empty();
        }
    }

    static AdmissionService webhook(Map<String, String> namespaceLabels) {
        return new AdmissionService(engine, new SimpleMeterRegistry(), new FixedView(namespaceLabels));
    }

    static final Map<String, String> REMEDIATING = Map.of(Settings.MODE_LABEL, "enforce",
            Mutations.REMEDIATE_LABEL, "true");

    static final Map<String, String> HOLES;

    static {
        Map<String, String> holes = new LinkedHashMap<>();
        holes.put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");
        holes.put("traffic.sidecar.istio.io/excludeOutboundPorts", "443");
        holes.put("traffic.sidecar.istio.io/excludeInterfaces", "eth1");
        holes.put("traffic.sidecar.istio.io/kubevirtInterfaces", "net1");
        holes.put("istio.io/reroute-virtual-interfaces", "net1");
        holes.put("traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/8");
        holes.put("sidecar.istio.io/interceptionMode", "NONE");
        HOLES = Map.copyOf(holes);
    }

    @Test
    void stripsEveryRedirectionHoleFromAPodAndNamesEachInAWarning() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        ObjectNode annotations = (ObjectNode) review.path("request").path("object").path("metadata")
                .path("annotations");
        HOLES.forEach(annotations::put);
        annotations.put("traffic.sidecar.istio.io/excludeInboundPorts", "9090");
        annotations.put("traffic.sidecar.istio.io/includeOutboundPorts", "8443");

        JsonNode response = mutate(webhook(REMEDIATING), review);

        assertThat(response.path("allowed").asBoolean()).isTrue();
        JsonNode patched = applied(review, response);
        assertThat(patched.path("metadata").path("annotations").fieldNames()).toIterable().containsExactlyInAnyOrder(
                "sidecar.istio.io/inject", "traffic.sidecar.istio.io/excludeInboundPorts",
                "traffic.sidecar.istio.io/includeOutboundPorts");
        assertThat(patched.path("metadata").path("labels").path("sidecar.istio.io/inject").asText()).isEqualTo("true");
        List<String> warnings = warnings(response);
        assertThat(warnings).hasSize(HOLES.size());
        for (Map.Entry<String, String> hole : HOLES.entrySet()) {
            assertThat(warnings).anyMatch(w -> w.startsWith("[egress-guard] metadata.annotations[\"" + hole.getKey()
                    + "\"]: removed \"" + hole.getValue() + "\", which "));
        }
        assertThat(warnings).allMatch(w -> w.endsWith("(remediate mode: the namespace has egressguard.io/remediate"
                + "=true)"));
    }

    @Test
    void stripsFromTheDeploymentTemplateOnCreateAndUpdate() throws Exception {
        for (String name : List.of("create-deployment-mutating.json", "update-deployment-mutating.json")) {
            ObjectNode review = fixture(name);
            ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("metadata"))
                    .putObject("annotations").put("traffic.sidecar.istio.io/excludeOutboundPorts", "5432")
                    .put("prometheus.io/scrape", "true");

            JsonNode response = mutate(webhook(REMEDIATING), review);

            assertThat(patch(response)).as(name).isEqualTo("[{\"op\":\"remove\",\"path\":\"/spec/template/metadata/"
                    + "annotations/traffic.sidecar.istio.io~1excludeOutboundPorts\"}]");
            assertThat(warnings(response)).singleElement().asString().startsWith("[egress-guard] spec.template"
                    + ".metadata.annotations[\"traffic.sidecar.istio.io/excludeOutboundPorts\"]: removed \"5432\"");
        }
    }

    @Test
    void keepsHarmlessValues() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        ((ObjectNode) review.path("request").path("object").path("metadata").path("annotations"))
                .put("traffic.sidecar.istio.io/includeOutboundIPRanges", "*")
                .put("sidecar.istio.io/interceptionMode", "TPROXY");

        JsonNode response = mutate(webhook(REMEDIATING), review);

        assertThat(patch(response)).isEqualTo(
                "[{\"op\":\"add\",\"path\":\"/metadata/labels/sidecar.istio.io~1inject\",\"value\":\"true\"}]");
        assertThat(response.has("warnings")).isFalse();
    }

    @Test
    void leavesAnnotationsAloneWithoutTheRemediateLabel() throws Exception {
        ObjectNode review = fixture("create-deployment-mutating.json");
        ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("metadata"))
                .putObject("annotations").put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");

        JsonNode response = mutate(webhook(Map.of(Settings.MODE_LABEL, "enforce")), review);

        assertThat(response.has("patch")).isFalse();
        assertThat(response.has("warnings")).isFalse();
    }

    @Test
    void isOffWithoutClusterAccess() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        ((ObjectNode) review.path("request").path("object").path("metadata").path("annotations"))
                .put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");
        AdmissionService webhook = new AdmissionService(engine, new SimpleMeterRegistry(), new NoClusterView());

        JsonNode response = mutate(webhook, review);

        assertThat(patch(response)).doesNotContain("excludeOutboundIPRanges");
    }

    @Test
    void warnModeNamespacesAreNotRemediated() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        ((ObjectNode) review.path("request").path("object").path("metadata").path("annotations"))
                .put("traffic.sidecar.istio.io/excludeOutboundIPRanges", "0.0.0.0/0");
        AdmissionService webhook = webhook(Map.of(Settings.MODE_LABEL, "warn", Mutations.REMEDIATE_LABEL, "true"));

        JsonNode response = MAPPER.readTree(webhook.mutate(MAPPER.writeValueAsBytes(review), Mode.WARN).body())
                .path("response");

        assertThat(response.has("patch")).isFalse();
        assertThat(warnings(response)).noneMatch(w -> w.contains("excludeOutboundIPRanges"));
    }

    @Test
    void remediationIsIdempotentOnReinvocation() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        HOLES.forEach(((ObjectNode) review.path("request").path("object").path("metadata").path("annotations"))::put);
        JsonNode first = mutate(webhook(REMEDIATING), review);
        ((ObjectNode) review.path("request")).set("object", applied(review, first));

        JsonNode second = mutate(webhook(REMEDIATING), review);

        assertThat(second.has("patch")).isFalse();
        assertThat(second.has("warnings")).isFalse();
    }

    @Test
    void findsTheCronJobTemplate() {
        ObjectNode cronJob = MAPPER.createObjectNode();
        cronJob.putObject("spec").putObject("jobTemplate").putObject("spec").putObject("template")
                .putObject("metadata").putObject("annotations").put("sidecar.istio.io/interceptionMode", "none");

        List<String> removed = Mutations.remediate("batch", "cronjobs", "", "CREATE", cronJob);

        assertThat(removed).singleElement().asString().startsWith("spec.jobTemplate.spec.template.metadata"
                + ".annotations[\"sidecar.istio.io/interceptionMode\"]: removed \"none\", which turns off");
        assertThat(cronJob.path("spec").path("jobTemplate").path("spec").path("template").path("metadata")
                .path("annotations").size()).isZero();
        assertThat(Mutations.remediate("", "pods", "", "UPDATE", cronJob)).isEmpty();
        assertThat(Mutations.remediate("", "pods", "ephemeralcontainers", "UPDATE", cronJob)).isEmpty();
    }

    static JsonNode mutate(AdmissionService webhook, ObjectNode review) throws Exception {
        AdmissionService.Reply reply = webhook.mutate(MAPPER.writeValueAsBytes(review), Mode.ENFORCE);
        assertThat(reply.status()).isEqualTo(200);
        return MAPPER.readTree(reply.body()).path("response");
    }

    static String patch(JsonNode response) throws Exception {
        return response.has("patch")
                ? MAPPER.readTree(Base64.getDecoder().decode(response.path("patch").asText())).toString() : "[]";
    }

    /** The request object with the response's JSON patch applied (add, remove and replace of object members). */
    static JsonNode applied(ObjectNode review, JsonNode response) throws Exception {
        ObjectNode object = ((ObjectNode) review.path("request").path("object")).deepCopy();
        for (JsonNode op : MAPPER.readTree(patch(response))) {
            String[] tokens = op.path("path").asText().substring(1).split("/");
            ObjectNode parent = object;
            for (int i = 0; i < tokens.length - 1; i++) {
                parent = (ObjectNode) parent.path(unescape(tokens[i]));
            }
            String last = unescape(tokens[tokens.length - 1]);
            if (op.path("op").asText().equals("remove")) {
                assertThat(parent.has(last)).as(op.toString()).isTrue();
                parent.remove(last);
            } else {
                parent.set(last, op.path("value"));
            }
        }
        return object;
    }

    static String unescape(String token) {
        return token.replace("~1", "/").replace("~0", "~");
    }

    static List<String> warnings(JsonNode response) {
        List<String> out = new ArrayList<>();
        response.path("warnings").forEach(w -> out.add(w.asText()));
        return out;
    }

    static ObjectNode fixture(String name) throws Exception {
        try (InputStream in = RemediateModeTest.class.getResourceAsStream("/admission/" + name)) {
            assertThat(in).as(name).isNotNull();
            return (ObjectNode) MAPPER.readTree(in);
        }
    }
}
