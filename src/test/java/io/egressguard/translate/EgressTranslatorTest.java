package io.egressguard.translate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** The seed scenario's semantics, asserted directly, and the rules around refusals and references. */
class EgressTranslatorTest {

    private static final String GATEWAY = "istio-egress/virtualgateway-egress-vg-istio-egress";
    private final EgressTranslator translator = new EgressTranslator(Settings.defaults());

    private static List<JsonNode> seed() {
        return GoldenYaml.read(EgressTranslatorGoldenTest.CASES.resolve("seed").resolve("input.yaml"));
    }

    private static ObjectNode only(Translation t, String kind) {
        List<ObjectNode> found = t.objects().stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
        assertThat(found).as("%s objects", kind).hasSize(1);
        return found.get(0);
    }

    private static List<String> texts(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    private Translation translateYaml(String yaml) {
        List<JsonNode> inputs = new ArrayList<>(seedWithout("ExternalService"));
        inputs.addAll(GoldenYaml.parse(yaml));
        return translator.translate(inputs);
    }

    private static List<JsonNode> seedWithout(String kind) {
        return seed().stream().filter(d -> !d.path("kind").asText().equals(kind)).toList();
    }

    private static String externalService(String portYaml) {
        return """
                apiVersion: egressguard.io/v1alpha1
                kind: ExternalService
                metadata: {name: httpbin.org, namespace: global}
                spec:
                  hosts: [httpbin.org]
                  ports:
                """ + portYaml.indent(2);
    }

    private static final String SEED_PORT = """
            - number: 443
              name: https
              protocol: HTTPS
              clientsideTls: {}
              egressGatewayRoutes:
                portMatch: 80
                virtualGatewayRefs: [{name: egress-vg, namespace: istio-egress}]
            """;

    @Test
    void seedVirtualServiceRoutesPort80ThroughTheGatewayToHttpbinPort443() {
        Translation t = translator.translate(seed());
        assertThat(t.problems()).isEmpty();
        JsonNode vs = only(t, "VirtualService").get("spec");
        assertThat(texts(vs.get("hosts"))).containsExactly("httpbin.org");
        assertThat(texts(vs.get("gateways"))).containsExactly(GATEWAY, "mesh");
        JsonNode mesh = vs.at("/http/0");
        assertThat(texts(mesh.at("/match/0/gateways"))).containsExactly("mesh");
        assertThat(mesh.at("/match/0/port").intValue()).isEqualTo(80);
        assertThat(mesh.at("/route/0/destination/host").asText())
                .isEqualTo("istio-egressgateway.istio-egress.svc.cluster.local");
        assertThat(mesh.at("/route/0/destination/port/number").intValue()).isEqualTo(443);
        JsonNode gateway = vs.at("/http/1");
        assertThat(texts(gateway.at("/match/0/gateways"))).containsExactly(GATEWAY);
        assertThat(gateway.at("/match/0/port").intValue()).isEqualTo(443);
        assertThat(gateway.at("/route/0/destination/host").asText()).isEqualTo("httpbin.org");
        assertThat(gateway.at("/route/0/destination/port/number").intValue()).isEqualTo(443);
    }

    @Test
    void seedAuthorizationPolicyAllowsProductpageAndNotReviews() {
        JsonNode ap = only(translator.translate(seed()), "AuthorizationPolicy");
        assertThat(ap.at("/metadata/namespace").asText()).isEqualTo("istio-egress");
        assertThat(ap.at("/spec/action").asText()).isEqualTo("ALLOW");
        assertThat(ap.at("/spec/selector/matchLabels/istio").asText()).isEqualTo("egressgateway");
        assertThat(ap.at("/spec/rules")).hasSize(1);
        List<String> principals = texts(ap.at("/spec/rules/0/from/0/source/principals"));
        assertThat(principals).containsExactly("cluster.local/ns/bookinfo/sa/bookinfo-productpage");
        assertThat(principals).noneMatch(p -> p.contains("reviews"));
        assertThat(texts(ap.at("/spec/rules/0/to/0/operation/hosts"))).containsExactly("httpbin.org");
    }

    @Test
    void seedOriginatesTlsAtTheGatewayAndUsesMutualTlsToIt() {
        Translation t = translator.translate(seed());
        List<ObjectNode> rules = t.objects().stream().filter(o -> o.path("kind").asText().equals("DestinationRule"))
                .toList();
        assertThat(rules).extracting(r -> r.at("/spec/host").asText())
                .containsExactlyInAnyOrder("httpbin.org", "istio-egressgateway.istio-egress.svc.cluster.local");
        JsonNode origination = rules.stream().filter(r -> r.at("/spec/host").asText().equals("httpbin.org"))
                .findFirst().orElseThrow();
        assertThat(origination.at("/spec/trafficPolicy/portLevelSettings/0/tls/mode").asText()).isEqualTo("SIMPLE");
        assertThat(origination.at("/spec/trafficPolicy/portLevelSettings/0/tls/sni").asText()).isEqualTo("httpbin.org");
        assertThat(texts(origination.at("/spec/exportTo"))).containsExactly(".");
        JsonNode toGateway = rules.stream().filter(r -> !r.at("/spec/host").asText().equals("httpbin.org"))
                .findFirst().orElseThrow();
        assertThat(toGateway.at("/spec/subsets/0/trafficPolicy/portLevelSettings/0/tls/mode").asText())
                .isEqualTo("ISTIO_MUTUAL");
        assertThat(toGateway.at("/spec/subsets/0/trafficPolicy/portLevelSettings/0/tls/sni").asText())
                .isEqualTo("httpbin.org");
    }

    @Test
    void seedEnforcesTheBookinfoNamespace() {
        Translation t = translator.translate(seed());
        JsonNode sidecar = only(t, "Sidecar");
        assertThat(sidecar.at("/metadata/namespace").asText()).isEqualTo("bookinfo");
        assertThat(sidecar.at("/metadata/name").asText()).isEqualTo(EgressNames.SIDECAR);
        assertThat(sidecar.at("/spec/outboundTrafficPolicy/mode").asText()).isEqualTo("REGISTRY_ONLY");
        JsonNode np = only(t, "NetworkPolicy");
        assertThat(np.at("/metadata/name").asText()).isEqualTo(EgressNames.DENY_EGRESS_POLICY);
        assertThat(texts(np.at("/spec/policyTypes"))).containsExactly("Egress");
        assertThat(np.at("/spec/podSelector").isEmpty()).isTrue();
        assertThat(np.toString()).doesNotContain("ipBlock");
        JsonNode gatewayRule = np.at("/spec/egress/2");
        assertThat(gatewayRule.at("/to/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name").asText())
                .isEqualTo("istio-egress");
        assertThat(gatewayRule.at("/ports/0/port").intValue()).isEqualTo(8443);
    }

    @Test
    void glooApiVersionsTranslateLikeTheSeed() {
        List<JsonNode> gloo = GoldenYaml.read(EgressTranslatorGoldenTest.CASES.resolve("gloo-apiversions")
                .resolve("input.yaml"));
        Translation fromGloo = translator.translate(gloo);
        assertThat(fromGloo.problems()).isEmpty();
        assertThat(fromGloo.objects()).isEqualTo(translator.translate(seed()).objects());
    }

    @Test
    void outputDoesNotDependOnInputOrder() {
        List<JsonNode> inputs = new ArrayList<>(GoldenYaml.read(EgressTranslatorGoldenTest.CASES
                .resolve("clients-from-several-namespaces").resolve("input.yaml")));
        Translation first = translator.translate(inputs);
        Collections.reverse(inputs);
        assertThat(translator.translate(inputs)).isEqualTo(first);
        Collections.shuffle(inputs, new Random(7));
        assertThat(translator.translate(inputs)).isEqualTo(first);
    }

    @Test
    void everyGeneratedObjectIsMarkedAndNamesItsSources() {
        for (ObjectNode o : translator.translate(seed()).objects()) {
            assertThat(o.at("/metadata/labels").get(Settings.MANAGED_BY_LABEL).asText())
                    .isEqualTo(Settings.MANAGED_BY_VALUE);
            String sources = o.at("/metadata/annotations").get(Settings.SOURCE_ANNOTATION).asText();
            List<String> list = List.of(sources.split(","));
            assertThat(list).isSorted().isNotEmpty();
            assertThat(o.fieldNames()).toIterable().containsExactly("apiVersion", "kind", "metadata", "spec");
            assertThat(o.at("/metadata/name").asText()).hasSizeLessThanOrEqualTo(63).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
        }
        assertThat(only(translator.translate(seed()), "ServiceEntry").at("/metadata/annotations")
                .get(Settings.SOURCE_ANNOTATION).asText()).contains("ExternalService/global/httpbin.org");
    }

    @Test
    void hostWithoutAccessPolicyIsOpenToEveryMeshClient() {
        Translation t = translator.translate(seedWithout("AccessPolicy"));
        JsonNode rules = only(t, "AuthorizationPolicy").at("/spec/rules");
        assertThat(rules).hasSize(1);
        assertThat(rules.get(0).has("from")).isFalse();
        assertThat(texts(rules.at("/0/to/0/operation/hosts"))).containsExactly("httpbin.org");
        assertThat(texts(only(t, "ServiceEntry").at("/spec/exportTo"))).containsExactly("*");
    }

    @Test
    void refusesAnUnsupportedFieldWithItsPathAndTranslatesNothingOfTheDeclaration() {
        Translation t = translateYaml(externalService("""
                - number: 443
                  name: https
                  protocol: HTTPS
                  clientsideTls: {clientCertificate: /etc/certs/client.pem}
                  egressGatewayRoutes:
                    portMatch: 80
                    virtualGatewayRefs: [{name: egress-vg, namespace: istio-egress}]
                """));
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::path,
                TranslationProblem::message, TranslationProblem::error).contains(tuple(
                        "ExternalService/global/httpbin.org", "spec.ports[0].clientsideTls.clientCertificate",
                        "not supported by Egress Guard; remove it", true));
        assertThat(t.hasErrors()).isTrue();
        assertThat(t.objects()).extracting(o -> o.path("kind").asText())
                .doesNotContain("ServiceEntry", "VirtualService", "DestinationRule", "AuthorizationPolicy");
    }

    @Test
    void refusesAMisspelledFieldInsteadOfIgnoringIt() {
        Translation t = translateYaml(externalService(SEED_PORT.replace("portMatch", "portmatch")));
        assertThat(t.problems()).extracting(TranslationProblem::path, TranslationProblem::error)
                .contains(tuple("spec.ports[0].egressGatewayRoutes.portmatch", true));
    }

    @Test
    void refusedAccessPolicyLeavesItsHostDeniedToEveryone() {
        List<JsonNode> inputs = new ArrayList<>(seedWithout("AccessPolicy"));
        inputs.addAll(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1alpha1
                kind: AccessPolicy
                metadata: {name: broken, namespace: istio-egress}
                spec:
                  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: httpbin.org}}]
                  config:
                    authzList:
                    - allowedClients: [{serviceAccountSelector: {namespace: bookinfo}}]
                      allowedIpBlocks: [10.0.0.0/8]
                """));
        Translation t = translator.translate(inputs);
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::error)
                .contains(tuple("AccessPolicy/istio-egress/broken", true),
                        tuple("ExternalService/global/httpbin.org", false));
        assertThat(only(t, "AuthorizationPolicy").at("/spec").has("rules")).isFalse();
        assertThat(texts(only(t, "ServiceEntry").at("/spec/exportTo"))).containsExactly(".");
    }

    @Test
    void warnsAboutAnUnknownVirtualGatewayAndGeneratesNothingForThePort() {
        Translation t = translateYaml(externalService(SEED_PORT.replace("name: egress-vg", "name: missing")));
        assertThat(t.hasErrors()).isFalse();
        assertThat(t.problems()).extracting(TranslationProblem::path, TranslationProblem::error).contains(
                tuple("spec.ports[0].egressGatewayRoutes.virtualGatewayRefs[0]", false));
        assertThat(t.objects()).extracting(o -> o.path("kind").asText()).doesNotContain("ServiceEntry");
    }

    @Test
    void warnsAboutAnAccessPolicySelectingNoExternalService() {
        List<JsonNode> inputs = new ArrayList<>(seed());
        inputs.addAll(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1alpha1
                kind: AccessPolicy
                metadata: {name: nothing, namespace: istio-egress}
                spec:
                  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: nowhere}}]
                  config:
                    authzList: [{allowedClients: [{serviceAccountSelector: {namespace: bookinfo}}]}]
                """));
        Translation t = translator.translate(inputs);
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::path,
                TranslationProblem::error).containsExactly(tuple("AccessPolicy/istio-egress/nothing",
                        "spec.applyToDestinations[0]", false));
    }

    @Test
    void refusesClientsideTlsOnAnHttpPort() {
        Translation t = translateYaml(externalService(SEED_PORT.replace("protocol: HTTPS", "protocol: HTTP")));
        assertThat(t.problems()).extracting(TranslationProblem::path, TranslationProblem::error)
                .contains(tuple("spec.ports[0].clientsideTls", true));
    }

    @Test
    void refusesPortMatchEqualToAnotherPortsNumber() {
        Translation t = translateYaml(externalService(SEED_PORT + """
                - number: 80
                  name: http
                  protocol: HTTP
                  egressGatewayRoutes:
                    portMatch: 8080
                    virtualGatewayRefs: [{name: egress-vg, namespace: istio-egress}]
                """));
        assertThat(t.problems()).extracting(TranslationProblem::path, TranslationProblem::error)
                .contains(tuple("spec.ports[0].egressGatewayRoutes.portMatch", true));
    }

    @Test
    void refusesHostsThatAreNotFullyQualifiedOrPutAWildcardOnAPublicSuffix() {
        for (String host : List.of("httpbin", "*.com", "*.co.uk", "api.*.example.com", "kubernetes.default.svc.cluster.local",
                "1.2.3.4", "Httpbin.org")) {
            Translation t = translateYaml(externalService(SEED_PORT).replace("hosts: [httpbin.org]",
                    "hosts: [\"" + host + "\"]"));
            assertThat(t.problems()).as(host).extracting(TranslationProblem::path, TranslationProblem::error)
                    .contains(tuple("spec.hosts[0]", true));
        }
    }

    @Test
    void refusesClientRestrictionsOnAPassthroughListener() {
        Translation t = translator.translate(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1alpha1
                kind: VirtualGateway
                metadata: {name: pass, namespace: istio-egress}
                spec:
                  listeners: [{port: {number: 443}, tls: {mode: PASSTHROUGH}}]
                ---
                apiVersion: egressguard.io/v1alpha1
                kind: ExternalService
                metadata: {name: stripe, namespace: global}
                spec:
                  hosts: [api.stripe.com]
                  ports:
                  - {number: 443, protocol: TLS, egressGatewayRoutes: {portMatch: 443,
                     virtualGatewayRefs: [{name: pass, namespace: istio-egress}]}}
                ---
                apiVersion: egressguard.io/v1alpha1
                kind: AccessPolicy
                metadata: {name: stripe-clients, namespace: istio-egress}
                spec:
                  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: stripe}}]
                  config:
                    authzList: [{allowedClients: [{serviceAccountSelector: {name: orders, namespace: shop}}]}]
                """));
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::path,
                TranslationProblem::error).contains(tuple("AccessPolicy/istio-egress/stripe-clients",
                        "spec.config.authzList[0].allowedClients", true));
        assertThat(only(t, "AuthorizationPolicy").at("/spec").has("rules")).isFalse();
    }

    @Test
    void refusesAPassthroughListenerForAPortWhoseTlsTheGatewayOriginates() {
        List<JsonNode> inputs = new ArrayList<>(seedWithout("VirtualGateway"));
        inputs.addAll(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1alpha1
                kind: VirtualGateway
                metadata: {name: egress-vg, namespace: istio-egress}
                spec:
                  listeners: [{port: {number: 443}, tls: {mode: PASSTHROUGH}}]
                """));
        Translation t = translator.translate(inputs);
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::path,
                TranslationProblem::error).contains(tuple("ExternalService/global/httpbin.org",
                        "spec.ports[0].egressGatewayRoutes.virtualGatewayRefs[0]", true));
    }

    @Test
    void refusesAHostDeclaredByTwoExternalServices() {
        List<JsonNode> inputs = new ArrayList<>(seed());
        inputs.addAll(GoldenYaml.parse(externalService(SEED_PORT).replace("name: httpbin.org", "name: zz-copy")));
        Translation t = translator.translate(inputs);
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::path,
                TranslationProblem::error).containsExactly(tuple("ExternalService/global/zz-copy", "spec.hosts[0]",
                        true));
        assertThat(t.objects()).filteredOn(o -> o.path("kind").asText().equals("ServiceEntry")).hasSize(1);
    }

    @Test
    void neverGuardsAPlatformNamespace() {
        Translation t = translator.translate(GoldenYaml.parse("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: istio-egress, labels: {egressguard.io/mode: enforce}}
                """));
        assertThat(t.objects()).isEmpty();
        assertThat(t.problems()).extracting(TranslationProblem::source, TranslationProblem::error)
                .containsExactly(tuple("Namespace/istio-egress", false));
    }

    @Test
    void refusesAnUnknownKindOfItsOwnGroup() {
        Translation t = translator.translate(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1beta1
                kind: ExternalService
                metadata: {name: x, namespace: global}
                spec: {}
                """));
        assertThat(t.problems()).extracting(TranslationProblem::path, TranslationProblem::error)
                .containsExactly(tuple("apiVersion", true));
    }

    @Test
    void ignoresOtherKinds() {
        Translation t = translator.translate(GoldenYaml.parse("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: shop}
                spec: {replicas: 1}
                """));
        assertThat(t.objects()).isEmpty();
        assertThat(t.problems()).isEmpty();
    }

    @Test
    void usesTheConfiguredTrustDomainAndGateway() {
        Settings d = Settings.defaults();
        Settings custom = new Settings("egress", "egw", Map.of("app", "egw"), d.istiodNamespace(),
                d.ownNamespace(), d.proxyUid(), d.proxyGid(), d.proxyImagePattern(), d.clusterCidrs(),
                d.installedRevisions(), d.exemptNamespaces(), "corp.local", "corp.example", d.adminGroups(),
                d.serviceAccount());
        List<JsonNode> inputs = new ArrayList<>(seedWithout("VirtualGateway"));
        inputs.addAll(GoldenYaml.parse("""
                apiVersion: egressguard.io/v1alpha1
                kind: VirtualGateway
                metadata: {name: egress-vg, namespace: istio-egress}
                spec:
                  workloads: [{selector: {namespace: egress}}]
                  listeners: [{port: {number: 443}, tls: {mode: ISTIO_MUTUAL}}]
                """));
        Translation t = new EgressTranslator(custom).translate(inputs);
        assertThat(t.problems()).isEmpty();
        JsonNode ap = only(t, "AuthorizationPolicy");
        assertThat(ap.at("/metadata/namespace").asText()).isEqualTo("egress");
        assertThat(ap.at("/spec/selector/matchLabels/app").asText()).isEqualTo("egw");
        assertThat(texts(ap.at("/spec/rules/0/from/0/source/principals")))
                .containsExactly("corp.example/ns/bookinfo/sa/bookinfo-productpage");
        assertThat(only(t, "VirtualService").at("/spec/http/0/route/0/destination/host").asText())
                .isEqualTo("egw.egress.svc.corp.local");
    }
}
