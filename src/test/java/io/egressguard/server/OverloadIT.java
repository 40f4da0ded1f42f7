package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Past saturation: the packaged {@code serve} with one review thread and a 250 ms queue limit gets a burst of heavy
 * reviews whose total work is several times that limit: Pods with 300 containers (170 KB), judged by 20 extra
 * policies that each compare every container with every other (90,000 iterations, under the 100,000 an evaluation
 * may take). Every request must be answered, well before the API server's 5 s webhook timeout: with an
 * AdmissionReview, or with a 503 that says the server is overloaded; and some of each.
 */
class OverloadIT {

    static final long QUEUE_LIMIT_MS = 250;
    /** The API server's webhook timeout (webhook-config). */
    static final long TIMEOUT_MS = 5000;

    @Test
    void burstPastSaturationIsShedWithClear503sAndNothingWaitsPastTheLimit(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path policies = dir.resolve("policies");
        for (int i = 0; i < 20; i++) {
            Path p = policies.resolve("pairwise-" + i);
            Files.createDirectories(p);
            Files.writeString(p.resolve("policy.yaml"), HEAVY_POLICY.replace("NAME", "pairwise-" + i));
        }
        Process serve = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Degressguard.review-threads=1", "-Degressguard.max-queue-time=" + QUEUE_LIMIT_MS + "ms",
                "-Degressguard.max-queued-body-size=512M",
                "-jar", GracefulShutdownIT.JAR.toString(), "serve", "--host", "127.0.0.1", "--port",
                Integer.toString(port), "--tls-dir", dir.resolve("tls").toString(), "--policies", policies.toString()))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile()).start();
        try {
            // HTTP/1.1: one connection per request in flight, so that the bodies arrive at once (the JDK client's
            // HTTP/2 uploads them one window at a time over a single connection, slower than they are reviewed)
            HttpClient https = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .sslContext(GracefulShutdownIT.trusting(dir.resolve("tls").resolve("ca.crt")))
                    .connectTimeout(Duration.ofSeconds(2)).build();
            URI ready = URI.create("https://localhost:" + port + "/q/health/ready");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (GracefulShutdownIT.status(https, ready) != 200) {
                assertThat(serve.isAlive()).as("serve is running; log:\n" + Files.readString(dir.resolve("serve.log")))
                        .isTrue();
                assertThat(System.nanoTime()).as("serve ready in time").isLessThan(deadline);
                Thread.sleep(100);
            }
            byte[] body = heavyPod(300);
            HttpRequest post = HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/validate"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();

            // one review at a time first: what one costs here, warm
            long[] alone = new long[7];
            for (int i = 0; i < alone.length; i++) {
                long t = System.nanoTime();
                HttpResponse<String> r = https.send(post, HttpResponse.BodyHandlers.ofString());
                alone[i] = System.nanoTime() - t;
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            Arrays.sort(alone);
            long oneMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(alone[alone.length / 2]));
            // enough requests that, reviewed one after the other, the last would be answered after twice the webhook
            // timeout
            int count = (int) Math.min(400, Math.max(40, 2 * TIMEOUT_MS / oneMs + 1));
            assertThat(count * oneMs).as("the burst is work for twice the webhook timeout").isGreaterThan(2 * TIMEOUT_MS);

            List<CompletableFuture<long[]>> burst = new ArrayList<>();
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                long start = System.nanoTime();
                burst.add(https.sendAsync(post, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                    synchronized (bodies) {
                        bodies.add(r.statusCode() + " " + r.body());
                    }
                    return new long[] {r.statusCode(), System.nanoTime() - start};
                }));
            }
            int ok = 0;
            int shed = 0;
            long slowestMs = 0;
            for (CompletableFuture<long[]> f : burst) {
                long[] r = f.get(60, TimeUnit.SECONDS);
                slowestMs = Math.max(slowestMs, TimeUnit.NANOSECONDS.toMillis(r[1]));
                if (r[0] == 200) {
                    ok++;
                } else {
                    assertThat(r[0]).as("a request is answered or shed with 503").isEqualTo(503);
                    shed++;
                }
            }
            for (String b : bodies) {
                if (b.startsWith("200 ")) {
                    assertThat(b).contains("\"kind\":\"AdmissionReview\"").contains("\"allowed\":true");
                } else {
                    assertThat(b).startsWith("503 ").contains("\"kind\":\"Status\"")
                            .contains("\"reason\":\"ServiceUnavailable\"").contains("egress-guard is overloaded")
                            .contains("limit " + QUEUE_LIMIT_MS + " ms").contains("retry");
                }
            }
            String seen = String.format("%d requests, one alone %d ms: %d reviewed, %d shed, slowest %d ms",
                    count, oneMs, ok, shed, slowestMs);
            assertThat(shed).as("requests shed past saturation; " + seen).isPositive();
            assertThat(ok).as("requests reviewed under overload; " + seen).isPositive();
            assertThat(slowestMs).as("slowest answer; " + seen).isLessThan(TIMEOUT_MS);

            HttpResponse<String> metrics = https.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + port + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.body()).containsPattern(
                    "egressguard_admission_shed_total\\{reason=\"waited\"} " + shed + "\\.0");
        } finally {
            serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static final String HEAVY_POLICY = """
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingAdmissionPolicy
            metadata:
              name: NAME
            spec:
              failurePolicy: Fail
              matchConstraints:
                resourceRules:
                - apiGroups: [""]
                  apiVersions: ["v1"]
                  resources: ["pods"]
                  operations: ["CREATE"]
              validations:
              - expression: >-
                  object.spec.containers.all(c, object.spec.containers.all(d,
                    c.name == d.name || c.name != d.name + '-NAME'))
                message: container names are compared pairwise
            """;

    /** The benchmark's 10 KB injected Pod with {@code extra} more application containers. */
    static byte[] heavyPod(int extra) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode review;
        try (InputStream in = OverloadIT.class.getResourceAsStream("/bench/pod-10k.json")) {
            review = (ObjectNode) mapper.readTree(in);
        }
        ArrayNode containers = (ArrayNode) review.path("request").path("object").path("spec").path("containers");
        ObjectNode app = (ObjectNode) containers.get(0);
        for (int i = 0; i < extra; i++) {
            containers.add(app.deepCopy().put("name", "app-" + i));
        }
        return mapper.writeValueAsBytes(review);
    }
}
