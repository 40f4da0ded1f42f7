package io.egressguard.install;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestReader;
import io.egressguard.policy.LabelSelector;
import io.egressguard.policy.Policy;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.ResourceRule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The install manifests as the API server will see them ({@code kubectl kustomize webhook-config}): the webhook rules
 * route exactly the kinds the policies judge, and the selectors can never send the webhook a request from the
 * platform namespaces or its own (which would deadlock it).
 */
class WebhookConfigTest {

    static final Path DIR = Path.of("webhook-config");
    static List<JsonNode> rendered;

    @BeforeAll
    static void render() throws Exception {
        rendered = new ArrayList<>();
        for (ManifestDocument d : ManifestReader.parse(kustomize(DIR), "kubectl kustomize webhook-config", false)) {
            rendered.add(d.tree());
        }
    }

    /** {@code kubectl kustomize DIR}; without kubectl, the resources the kustomization lists, concatenated. */
    static String kustomize(Path dir) throws Exception {
        try {
            Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return out;
            }
            throw new AssertionError("kubectl kustomize " + dir + " failed:\n" + out);
        } catch (IOException noKubectl) {
            StringBuilder all = new StringBuilder();
            JsonNode k = ManifestReader.parse(Files.readString(dir.resolve("kustomization.yaml")), "k", false)
                    .get(0).tree();
            for (JsonNode r : k.path("resources")) {
                all.append(Files.readString(dir.resolve(r.asText()))).append("\n---\n");
            }
            return all.toString();
        }
    }

    static JsonNode object(String kind, String name) {
        return rendered.stream().filter(o -> o.path("kind").asText().equals(kind)
                && o.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    static List<JsonNode> validatingWebhooks() {
        List<JsonNode> out = new ArrayList<>();
        object("ValidatingWebhookConfiguration", "egress-guard").path("webhooks").forEach(out::add);
        return out;
    }

    /** The entries selected by a namespace's egressguard.io/mode: tenant objects. */
    static List<JsonNode> modeWebhooks() {
        return validatingWebhooks().stream().filter(w -> !isDeclarations(w) && !isNamespaces(w)).toList();
    }

    static boolean isDeclarations(JsonNode webhook) {
        return webhook.path("name").asText().startsWith("declarations.");
    }

    /** The entry for Namespace objects themselves (the enforcement label). */
    static boolean isNamespaces(JsonNode webhook) {
        return webhook.path("name").asText().startsWith("namespaces.validate.");
    }

    /** Which entries must route a (group, resource): declarations, Namespaces, or each mode entry. */
    static boolean routes(JsonNode webhook, String group, String resource) {
        if (isDeclarationRule(group)) {
            return isDeclarations(webhook);
        }
        if (group.isEmpty() && resource.equals("namespaces")) {
            return isNamespaces(webhook);
        }
        return !isDeclarations(webhook) && !isNamespaces(webhook);
    }

    /** Egress Guard's own declarations are routed by their own entry; every other kind by each mode entry. */
    static boolean isDeclarationRule(String group) {
        return "egressguard.io".equals(group);
    }

    static List<JsonNode> allWebhooks() {
        List<JsonNode> out = validatingWebhooks();
        object("MutatingWebhookConfiguration", "egress-guard").path("webhooks").forEach(out::add);
        return out;
    }

    static List<ResourceRule> rules(JsonNode webhook) throws Exception {
        List<ResourceRule> out = new ArrayList<>();
        for (JsonNode r : webhook.path("rules")) {
            out.add(ResourceRule.parse(r, webhook.path("name").asText()));
        }
        return out;
    }

    @Test
    void rendersTheWholeSet() {
        TreeSet<String> kinds = new TreeSet<>();
        rendered.forEach(o -> kinds.add(o.path("kind").asText()));
        assertThat(kinds).contains("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                "RoleBinding", "Service", "Deployment", "PodDisruptionBudget", "ValidatingWebhookConfiguration",
                "MutatingWebhookConfiguration");
    }

    @Test
    void everyKindAPolicyJudgesIsRoutedByEveryValidatingEntry() throws Exception {
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        List<String> missing = new ArrayList<>();
        for (JsonNode webhook : validatingWebhooks()) {
            List<ResourceRule> routed = rules(webhook);
            for (Policy p : engine.policies()) {
                for (ResourceRule r : p.resourceRules()) {
                    for (String[] t : expand(r)) {
                        if (!routes(webhook, t[0], t[2])) {
                            continue;
                        }
                        boolean namespaced = io.egressguard.policy.ResourceTable.forResource(t[0], t[2])
                                .map(io.egressguard.policy.ResourceTable.Resource::namespaced).orElse(true);
                        boolean covered = routed.stream()
                                .anyMatch(w -> w.matches(t[0], t[1], t[2], t[3], t[4], namespaced));
                        if (!covered) {
                            missing.add(webhook.path("name").asText() + " does not route " + String.join("/", t)
                                    + " (policy " + p.id() + ")");
                        }
                    }
                }
            }
        }
        assertThat(missing).isEmpty();
    }

    @Test
    void everyRoutedKindIsJudgedBySomePolicy() throws Exception {
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        List<String> unused = new ArrayList<>();
        for (JsonNode webhook : validatingWebhooks()) {
            for (ResourceRule w : rules(webhook)) {
                for (String[] t : expand(w)) {
                    if (engine.candidates(t[0], t[1], t[2], t[3], t[4]).isEmpty()) {
                        unused.add(webhook.path("name").asText() + " routes " + String.join("/", t)
                                + " but no policy judges it");
                    }
                }
            }
        }
        assertThat(unused).isEmpty();
    }

    /** group, version, resource, subresource, operation tuples named by a rule ("*" versions become v1). */
    static List<String[]> expand(ResourceRule r) {
        List<String[]> out = new ArrayList<>();
        List<String> versions = r.apiVersions().isEmpty() || r.apiVersions().contains("*") ? List.of("v1")
                : List.copyOf(r.apiVersions());
        List<String> ops = r.operations().contains("*") ? List.of("CREATE", "UPDATE", "DELETE")
                : List.copyOf(r.operations());
        for (String g : r.apiGroups()) {
            for (String v : versions) {
                for (String res : r.resources()) {
                    String[] parts = res.split("/", 2);
                    for (String op : ops) {
                        out.add(new String[] {g, v, parts[0], parts.length > 1 ? parts[1] : "", op});
                    }
                }
            }
        }
        return out;
    }

    @Test
    void neverRoutesPlatformNamespacesOrItsOwnEvenWhenLabelled() throws Exception {
        Settings s = Settings.defaults();
        for (JsonNode webhook : allWebhooks()) {
            LabelSelector selector = LabelSelector.parse(webhook.get("namespaceSelector"), "test");
            assertThat(selector.isEmpty()).as(webhook.path("name").asText()).isFalse();
            // declarations live in the gateway namespace: their entry only keeps out the control plane and its own
            java.util.Set<String> never = isDeclarations(webhook)
                    ? java.util.Set.of("kube-system", "kube-public", "kube-node-lease", s.ownNamespace())
                    : s.platformNamespaces();
            for (String ns : never) {
                for (String mode : List.of("enforce", "warn", "audit")) {
                    Map<String, String> labels = Map.of(Settings.MODE_LABEL, mode,
                            "kubernetes.io/metadata.name", ns);
                    assertThat(selector.matches(labels)).as(webhook.path("name").asText() + " on " + ns).isFalse();
                }
            }
            assertThat(selector.matches(Map.of("kubernetes.io/metadata.name", "shop")))
                    .isEqualTo(isDeclarations(webhook) || isNamespaces(webhook));
        }
    }

    @Test
    void eachModeHasItsOwnEntryPathAndFailurePolicy() {
        Map<String, String[]> expected = Map.of(
                "enforce", new String[] {"/validate", "Fail"},
                "warn", new String[] {"/validate/warn", "Ignore"},
                "audit", new String[] {"/validate/audit", "Ignore"});
        for (JsonNode w : modeWebhooks()) {
            String mode = w.path("namespaceSelector").path("matchExpressions").get(0).path("values").get(0).asText();
            assertThat(w.path("clientConfig").path("service").path("path").asText()).isEqualTo(expected.get(mode)[0]);
            assertThat(w.path("failurePolicy").asText()).isEqualTo(expected.get(mode)[1]);
        }
        assertThat(modeWebhooks()).hasSize(3);
        JsonNode declarations = validatingWebhooks().stream().filter(WebhookConfigTest::isDeclarations).findFirst()
                .orElseThrow();
        assertThat(declarations.path("failurePolicy").asText()).isEqualTo("Fail");
        assertThat(declarations.path("clientConfig").path("service").path("path").asText()).isEqualTo("/validate");
    }

    @Test
    void webhooksAreShortSideEffectFreeAndSpeakBothVersions() {
        for (JsonNode w : allWebhooks()) {
            String name = w.path("name").asText();
            assertThat(w.path("sideEffects").asText()).as(name).isEqualTo("None");
            assertThat(w.path("timeoutSeconds").asInt()).as(name).isBetween(1, 5);
            assertThat(w.path("matchPolicy").asText()).as(name).isEqualTo("Equivalent");
            assertThat(w.path("admissionReviewVersions").toString()).as(name).isEqualTo("[\"v1\",\"v1beta1\"]");
            assertThat(w.path("clientConfig").path("service").path("namespace").asText()).isEqualTo("egress-guard");
        }
        object("MutatingWebhookConfiguration", "egress-guard").path("webhooks")
                .forEach(w -> assertThat(w.path("reinvocationPolicy").asText()).isEqualTo("IfNeeded"));
    }

    @Test
    void everyObjectMatchesItsKubernetesSchemaWithNoUnknownField() throws Exception {
        List<String> problems = new ArrayList<>();
        for (JsonNode o : rendered) {
            Object typed = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(o.toString());
            String name = o.path("kind").asText() + "/" + o.path("metadata").path("name").asText();
            assertThat(typed).as(name).isNotInstanceOf(io.fabric8.kubernetes.api.model.GenericKubernetesResource.class);
            unknownFields(typed, name, problems, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        }
        assertThat(problems).isEmpty();
    }

    /** Fields the typed model did not know land in additionalProperties: each is a field the API server rejects. */
    static void unknownFields(Object o, String path, List<String> problems, java.util.Set<Object> seen)
            throws Exception {
        if (o == null || !o.getClass().getName().startsWith("io.fabric8.") || !seen.add(o)) {
            if (o instanceof List<?> list) {
                int i = 0;
                for (Object item : list) {
                    unknownFields(item, path + "[" + i++ + "]", problems, seen);
                }
            } else if (o instanceof Map<?, ?> map && !path.endsWith("additionalProperties")) {
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    unknownFields(e.getValue(), path + "." + e.getKey(), problems, seen);
                }
            }
            return;
        }
        for (java.lang.reflect.Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getName().equals("getClass")) {
                continue;
            }
            Object value = m.invoke(o);
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    problems.add(path + ": unknown fields " + extra.keySet());
                }
                continue;
            }
            unknownFields(value, path + "." + m.getName().substring(3), problems, seen);
        }
    }

    @Test
    void schemaCheckCatchesAMisspelledField() throws Exception {
        ObjectNode d = (ObjectNode) object("Deployment", "egress-guard").deepCopy();
        ((ObjectNode) d.path("spec").path("template").path("spec").path("containers").get(0))
                .putObject("securityContxt").put("privileged", false);
        List<String> problems = new ArrayList<>();
        unknownFields(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(d.toString()), "Deployment", problems,
                java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        assertThat(problems).singleElement().asString().contains("securityContxt");
    }

    @Test
    void certManagerOverlayInjectsTheCaIntoBothWebhookConfigurations() throws Exception {
        List<JsonNode> overlay = new ArrayList<>();
        for (ManifestDocument d : ManifestReader.parse(kustomize(DIR.resolve("cert-manager")), "overlay", false)) {
            overlay.add(d.tree());
        }
        List<String> injected = new ArrayList<>();
        for (JsonNode o : overlay) {
            if (o.path("kind").asText().endsWith("WebhookConfiguration")) {
                injected.add(o.path("kind").asText() + "=" + o.path("metadata").path("annotations")
                        .path("cert-manager.io/inject-ca-from").asText());
            }
        }
        assertThat(injected).containsExactlyInAnyOrder(
                "ValidatingWebhookConfiguration=egress-guard/egress-guard-serving",
                "MutatingWebhookConfiguration=egress-guard/egress-guard-serving");
        JsonNode cert = overlay.stream().filter(o -> o.path("kind").asText().equals("Certificate")
                && o.path("metadata").path("name").asText().equals("egress-guard-serving")).findFirst().orElseThrow();
        assertThat(cert.path("spec").path("secretName").asText()).isEqualTo("egress-guard-tls");
        assertThat(cert.path("spec").path("dnsNames").toString()).contains("egress-guard.egress-guard.svc");
    }

    @Test
    void theBaseDeploymentManagesItsOwnCertificatesAndNeedsNoSecretToStart() {
        JsonNode spec = object("Deployment", "egress-guard").path("spec").path("template").path("spec");
        JsonNode c = spec.path("containers").get(0);
        assertThat(args(c)).contains("--tls-secret=egress-guard-tls", "--tls-dir=/tmp/egress-guard/tls")
                .noneMatch(a -> a.startsWith("--tls-cert") || a.startsWith("--tls-key"));
        assertThat(spec.path("volumes").findValues("secret")).as("Secret volumes").isEmpty();
        JsonNode tmp = volume(spec, "tmp");
        assertThat(tmp.has("emptyDir")).isTrue();
        assertThat(mountPaths(c)).containsEntry("tmp", "/tmp");
        // the Role lets it read and write that Secret, and create it
        JsonNode role = object("Role", "egress-guard");
        assertThat(role.path("rules").toString()).contains("\"resourceNames\":[\"egress-guard-tls\"]");
    }

    @Test
    void theCertManagerOverlayServesTheMountedSecretInstead() throws Exception {
        JsonNode d = null;
        for (ManifestDocument doc : ManifestReader.parse(kustomize(DIR.resolve("cert-manager")), "overlay", false)) {
            if (doc.tree().path("kind").asText().equals("Deployment")) {
                d = doc.tree();
            }
        }
        assertThat(d).isNotNull();
        JsonNode spec = d.path("spec").path("template").path("spec");
        JsonNode c = spec.path("containers").get(0);
        assertThat(args(c)).containsExactly("serve", "--port=8443", "--tls-cert=/etc/egress-guard/tls/tls.crt",
                "--tls-key=/etc/egress-guard/tls/tls.key");
        assertThat(volume(spec, "tls").path("secret").path("secretName").asText()).isEqualTo("egress-guard-tls");
        assertThat(mountPaths(c)).containsEntry("tls", "/etc/egress-guard/tls").containsEntry("tmp", "/tmp");
    }

    static List<String> args(JsonNode container) {
        List<String> out = new ArrayList<>();
        container.path("args").forEach(a -> out.add(a.asText()));
        return out;
    }

    static JsonNode volume(JsonNode podSpec, String name) {
        for (JsonNode v : podSpec.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    static Map<String, String> mountPaths(JsonNode container) {
        Map<String, String> out = new java.util.TreeMap<>();
        container.path("volumeMounts").forEach(m -> out.put(m.path("name").asText(), m.path("mountPath").asText()));
        return out;
    }

    @Test
    void deploymentIsHighlyAvailableAndHardened() {
        JsonNode d = object("Deployment", "egress-guard");
        JsonNode spec = d.path("spec").path("template").path("spec");
        assertThat(d.path("spec").path("replicas").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(spec.has("topologySpreadConstraints") || spec.path("affinity").has("podAntiAffinity")).isTrue();
        assertThat(spec.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(spec.path("securityContext").path("seccompProfile").path("type").asText())
                .isEqualTo("RuntimeDefault");
        JsonNode c = spec.path("containers").get(0);
        assertThat(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(c.path("securityContext").path("allowPrivilegeEscalation").asBoolean()).isFalse();
        assertThat(c.path("securityContext").path("capabilities").path("drop").toString()).isEqualTo("[\"ALL\"]");
        assertThat(c.path("resources").path("requests").has("memory")).isTrue();
        assertThat(c.path("resources").path("limits").has("memory")).isTrue();
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/ready");
        assertThat(c.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/live");
        assertThat(object("PodDisruptionBudget", "egress-guard").path("spec").path("minAvailable").asInt())
                .isEqualTo(1);
    }
}
