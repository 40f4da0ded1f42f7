package io.egressguard.admission;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.config.RestAssuredConfig;
import io.restassured.config.SSLConfig;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The webhook over real HTTPS (certificate verified against the generated CA), fed AdmissionReviews captured from a
 * real kube-apiserver.
 */
@QuarkusTest
@QuarkusTestResource(TestCertificates.class)
class AdmissionEndpointIT {

    static final ObjectMapper MAPPER = new ObjectMapper();

    @TestHTTPResource(value = "/", tls = true)
    URL base;

    RequestSpecification https;

    @BeforeEach
    void https() throws Exception {
        https = given()
                .baseUri("https://localhost")
                .port(base.getPort())
                .config(RestAssuredConfig.config().sslConfig(SSLConfig.sslConfig()
                        .trustStore(TestCertificates.trustStore())));
    }

    static ObjectNode fixture(String name) throws Exception {
        try (InputStream in = AdmissionEndpointIT.class.getResourceAsStream("/admission/" + name)) {
            assertThat(in).as(name).isNotNull();
            return (ObjectNode) MAPPER.readTree(in);
        }
    }

    Response post(String path, JsonNode body) {
        return https.contentType("application/json").body(body.toString()).post(path);
    }

    static List<String> lines(JsonNode response) {
        return List.of(response.path("status").path("message").asText().split("\n"));
    }

    @Test
    void admitsCapturedDeploymentAndEchoesUidAndVersion() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        JsonNode out = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString());
        assertThat(out.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
        assertThat(out.path("kind").asText()).isEqualTo("AdmissionReview");
        assertThat(out.path("response").path("uid").asText()).isEqualTo(review.path("request").path("uid").asText());
        assertThat(out.path("response").path("allowed").asBoolean()).isTrue();
        assertThat(out.path("response").has("status")).isFalse();
    }

    @Test
    void answersV1beta1InKind() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        review.put("apiVersion", "admission.k8s.io/v1beta1");
        JsonNode out = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString());
        assertThat(out.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1beta1");
        assertThat(out.path("response").path("uid").asText()).isEqualTo(review.path("request").path("uid").asText());
    }

    @Test
    void deniesHostNetworkAndOptOutOnDeploymentTemplateWithAllLinesIn403() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        ObjectNode template = (ObjectNode) review.path("request").path("object").path("spec").path("template");
        ((ObjectNode) template.path("spec")).put("hostNetwork", true);
        ((ObjectNode) template.path("metadata")).putObject("annotations").put("sidecar.istio.io/inject", "false");
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(response.path("status").path("code").asInt()).isEqualTo(403);
        assertThat(response.path("status").path("reason").asText()).isEqualTo("Forbidden");
        assertThat(lines(response)).containsExactly(
                "[no-host-network] spec.template.spec.hostNetwork: true shares the node network namespace, which the"
                        + " sidecar never captures and NetworkPolicies do not cover; remove hostNetwork",
                "[no-sidecar-opt-out] spec.template.metadata.annotations[\"sidecar.istio.io/inject\"]: \"false\" opts"
                        + " the pod out of the sidecar, so its traffic bypasses the egress gateway; remove the"
                        + " annotation or set it to \"true\"");
    }

    @Test
    void dryRunIsEvaluatedLikeAnyOtherRequest() throws Exception {
        ObjectNode review = fixture("update-deployment-dryrun.json");
        assertThat(review.path("request").path("dryRun").asBoolean()).isTrue();
        ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("spec"))
                .put("hostNetwork", true);
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(lines(response)).anyMatch(l -> l.startsWith("[no-host-network] spec.template.spec.hostNetwork:"));
    }

    @Test
    void updateWithOldObjectIsJudgedOnTheNewObject() throws Exception {
        ObjectNode review = fixture("update-deployment.json");
        assertThat(review.path("request").path("oldObject").isObject()).isTrue();
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
    }

    @Test
    void deleteIsAdmitted() throws Exception {
        ObjectNode review = fixture("delete-deployment.json");
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("uid").asText()).isEqualTo(review.path("request").path("uid").asText());
        assertThat(response.path("allowed").asBoolean()).isTrue();
    }

    @Test
    void warnModeAdmitsWithTheSameLinesAsWarnings() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("spec"))
                .put("hostNetwork", true);
        JsonNode response = MAPPER.readTree(post("/validate/warn", review).then().statusCode(200).extract()
                .asString()).path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        List<String> warnings = new ArrayList<>();
        response.path("warnings").forEach(w -> warnings.add(w.asText()));
        assertThat(warnings).anyMatch(w -> w.startsWith("[no-host-network] spec.template.spec.hostNetwork: true"));
    }

    @Test
    void auditModeAdmitsAndRecordsAuditAnnotations() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("spec"))
                .put("hostNetwork", true);
        JsonNode response = MAPPER.readTree(post("/validate/audit", review).then().statusCode(200).extract()
                .asString()).path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.path("auditAnnotations").path("no-host-network").asText())
                .startsWith("[no-host-network] spec.template.spec.hostNetwork: true");
        assertThat(response.has("warnings")).isFalse();
    }

    @Test
    void finalizerRemovalOnATerminatingObjectIsNotBlocked() throws Exception {
        ObjectNode review = fixture("update-deployment.json");
        ObjectNode request = (ObjectNode) review.path("request");
        ObjectNode old = (ObjectNode) request.path("object").deepCopy();
        ((ObjectNode) old.path("spec").path("template").path("spec")).put("hostNetwork", true);
        ((ObjectNode) old.path("metadata")).put("deletionTimestamp", "2026-11-26T21:50:00Z");
        ((ObjectNode) old.path("metadata")).putArray("finalizers").add("example.com/cleanup");
        ObjectNode updated = old.deepCopy();
        ((ObjectNode) updated.path("metadata")).remove("finalizers");
        request.set("oldObject", old);
        request.set("object", updated);
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();

        ((ObjectNode) updated.path("metadata")).putObject("annotations").put("traffic.sidecar.istio.io/x", "1");
        ((ObjectNode) updated.path("spec")).put("replicas", 5);
        JsonNode changed = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(changed.path("allowed").asBoolean()).isFalse();
    }

    @Test
    void declarationsAreJudgedInTheGatewayNamespace() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        ObjectNode request = (ObjectNode) review.path("request");
        request.put("namespace", "istio-egress");
        request.putObject("kind").put("group", "egressguard.io").put("version", "v1alpha1").put("kind", "ExternalService");
        request.putObject("resource").put("group", "egressguard.io").put("version", "v1alpha1")
                .put("resource", "externalservices");
        request.set("object", MAPPER.readTree("{\"apiVersion\":\"egressguard.io/v1alpha1\",\"kind\":\"ExternalService\","
                + "\"metadata\":{\"name\":\"everything\",\"namespace\":\"istio-egress\"},\"spec\":{\"hosts\":[\"*.com\"],"
                + "\"ports\":[{\"number\":443,\"name\":\"https\",\"protocol\":\"HTTPS\",\"egressGatewayRoutes\":"
                + "{\"portMatch\":80,\"virtualGatewayRefs\":[{\"name\":\"egress-vg\",\"namespace\":\"istio-egress\"}]}}]}}"));
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(lines(response)).anyMatch(l -> l.startsWith("[valid-external-service] spec.hosts[0]:"));
    }

    @Test
    void platformNamespacesAreNeverGuarded() throws Exception {
        ObjectNode review = fixture("create-deployment.json");
        ((ObjectNode) review.path("request")).put("namespace", "kube-system");
        ((ObjectNode) review.path("request").path("object").path("spec").path("template").path("spec"))
                .put("hostNetwork", true);
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
    }

    @Test
    void mutationLabelsPodForInjectionWithJsonPatchAgainstRawObject() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        JsonNode response = MAPPER.readTree(post("/mutate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
        JsonNode patch = MAPPER.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
        assertThat(patch.toString()).isEqualTo(
                "[{\"op\":\"add\",\"path\":\"/metadata/labels/sidecar.istio.io~1inject\",\"value\":\"true\"}]");
    }

    @Test
    void mutationLeavesAnAlreadyLabelledNamespaceAlone() throws Exception {
        ObjectNode review = fixture("create-namespace-mutating.json");
        ((ObjectNode) review.path("request").path("object").path("metadata").path("labels"))
                .put("egressguard.io/mode", "enforce");
        JsonNode response = MAPPER.readTree(post("/mutate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.has("patch")).isFalse();
    }

    @Test
    void mutationEnablesInjectionOnEnforcedNamespace() throws Exception {
        ObjectNode review = fixture("create-namespace-mutating.json");
        ObjectNode labels = (ObjectNode) review.path("request").path("object").path("metadata").path("labels");
        labels.remove("istio-injection");
        labels.put("egressguard.io/mode", "enforce");
        JsonNode response = MAPPER.readTree(post("/mutate", review).then().statusCode(200).extract().asString())
                .path("response");
        JsonNode patch = MAPPER.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
        assertThat(patch.toString()).isEqualTo(
                "[{\"op\":\"add\",\"path\":\"/metadata/labels/istio-injection\",\"value\":\"enabled\"}]");
    }

    @Test
    void mutationInWarnModeOnlyWarns() throws Exception {
        ObjectNode review = fixture("create-pod-mutating.json");
        JsonNode response = MAPPER.readTree(post("/mutate/warn", review).then().statusCode(200).extract()
                .asString()).path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.has("patch")).isFalse();
        assertThat(response.path("warnings").get(0).asText()).contains("sidecar.istio.io/inject");
    }

    @Test
    void ephemeralContainersUpdateIsAnswered() throws Exception {
        ObjectNode review = fixture("update-pod-ephemeralcontainers.json");
        JsonNode response = MAPPER.readTree(post("/validate", review).then().statusCode(200).extract().asString())
                .path("response");
        assertThat(response.path("uid").asText()).isEqualTo(review.path("request").path("uid").asText());
        assertThat(response.has("allowed")).isTrue();
    }

    @Test
    void malformedJsonIs400WithJsonBody() {
        https.contentType("application/json").body("{\"kind\": \"AdmissionReview\", ")
                .post("/validate").then().statusCode(400).contentType("application/json")
                .body("code", equalTo(400)).body("reason", equalTo("BadRequest"));
    }

    @Test
    void bodyThatIsNotAnAdmissionReviewIs400() {
        https.contentType("application/json").body("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}")
                .post("/validate").then().statusCode(400)
                .body("message", equalTo("expected kind AdmissionReview, found \"Pod\""));
    }

    @Test
    void duplicateKeysAre400() {
        https.contentType("application/json").body("{\"kind\":\"AdmissionReview\",\"kind\":\"AdmissionReview\"}")
                .post("/validate").then().statusCode(400).body("reason", equalTo("BadRequest"));
    }

    @Test
    void wrongContentTypeIs415() throws Exception {
        https.contentType("text/plain").body(fixture("create-pod.json").toString())
                .post("/validate").then().statusCode(415);
    }

    @Test
    void bodyOver3MiBIs413BeforeItIsRead() throws Exception {
        try (javax.net.ssl.SSLSocket socket = rawSocket()) {
            String head = "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + (3 * 1024 * 1024 + 1) + "\r\n\r\n";
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write("{\"kind\":\"AdmissionReview\"".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            assertThat(status).startsWith("HTTP/1.1 413");
        }
    }

    /**
     * The API server calls webhooks over HTTP/2 (ALPN h2) and sends the body with the headers, so the request has
     * ended by the time it is routed: reviews, errors and the floor must be answered on that path too.
     */
    @Test
    void reviewsAreAnsweredOverHttp2() throws Exception {
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .sslContext(TestCertificates.sslContext())
                .version(java.net.http.HttpClient.Version.HTTP_2).build();
        for (String path : new String[] {"/validate", "/validate/warn", "/mutate", "/noop", "/validate"}) {
            java.net.http.HttpResponse<String> r = client.send(java.net.http.HttpRequest
                    .newBuilder(java.net.URI.create("https://localhost:" + base.getPort() + path))
                    .header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(fixture("create-deployment.json")
                            .toString())).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
            assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        }
        java.net.http.HttpResponse<String> bad = client.send(java.net.http.HttpRequest
                .newBuilder(java.net.URI.create("https://localhost:" + base.getPort() + "/validate"))
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"kind\":")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(MAPPER.readTree(bad.body()).path("reason").asText()).isEqualTo("BadRequest");
    }

    /** A TLS socket to the server that trusts its test certificate, for requests written by hand. */
    javax.net.ssl.SSLSocket rawSocket() throws Exception {
        javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) TestCertificates.sslContext().getSocketFactory()
                .createSocket("localhost", base.getPort());
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** A chunked body (no Content-Length) is cut off at the same limit as it is read. */
    @Test
    void chunkedBodyOver3MiBIs413() throws Exception {
        try (javax.net.ssl.SSLSocket socket = rawSocket()) {
            java.io.OutputStream out = socket.getOutputStream();
            out.write(("POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[64 * 1024];
            java.util.Arrays.fill(chunk, (byte) ' ');
            byte[] size = (Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            try {
                // 4 MiB in 64 KiB chunks; the server may answer and close before all of it is written
                for (int i = 0; i < 64; i++) {
                    out.write(size);
                    out.write(chunk);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (java.io.IOException closed) {
                // the answer is read below
            }
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            assertThat(status).startsWith("HTTP/1.1 413");
        }
    }

    @Test
    void healthAndMetricsAreServed() throws Exception {
        https.get("/q/health/live").then().statusCode(200);
        long deadline = System.currentTimeMillis() + 20_000;
        while (https.get("/q/health/ready").statusCode() != 200 && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        https.get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
        post("/validate", fixture("create-deployment.json")).then().statusCode(200);
        String metrics = https.get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(metrics).contains("egressguard_policy_decisions_total{");
        assertThat(metrics).contains("egressguard_evaluation_seconds_bucket");
        assertThat(metrics).contains("policy=\"no-host-network\"");
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
