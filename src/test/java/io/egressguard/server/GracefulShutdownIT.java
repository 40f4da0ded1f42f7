package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code serve} on SIGTERM: readiness goes down at once, so the Service stops sending new requests, while
 * the requests that keep arriving during the shutdown delay are still answered; then the process exits cleanly.
 */
class GracefulShutdownIT {

    static final Path JAR = PackagedApplication.JAR;

    @Test
    void sigtermDrainsWhileReportingNotReady(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process serve = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString(), "serve", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--tls-dir", dir.resolve("tls").toString())).redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile()).start();
        try {
            HttpClient https = HttpClient.newBuilder().sslContext(trusting(dir.resolve("tls").resolve("ca.crt")))
                    .connectTimeout(Duration.ofSeconds(2)).build();
            URI ready = URI.create("https://localhost:" + port + "/q/health/ready");
            URI validate = URI.create("https://localhost:" + port + "/validate");
            byte[] body;
            try (InputStream in = getClass().getResourceAsStream("/admission/create-deployment.json")) {
                body = in.readAllBytes();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (status(https, ready) != 200) {
                assertThat(serve.isAlive()).as("serve is running; log:\n" + Files.readString(dir.resolve("serve.log")))
                        .isTrue();
                assertThat(System.nanoTime()).as("serve ready in time").isLessThan(deadline);
                Thread.sleep(100);
            }
            HttpRequest post = HttpRequest.newBuilder(validate).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            assertThat(https.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);

            serve.destroy(); // SIGTERM
            AtomicInteger answered = new AtomicInteger();
            boolean sawNotReady = false;
            long drainEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1200);
            while (System.nanoTime() < drainEnd) {
                HttpResponse<String> r = https.send(post, HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("a request during the drain is answered").isEqualTo(200);
                assertThat(r.body()).contains("\"allowed\":true");
                answered.incrementAndGet();
                sawNotReady |= status(https, ready) == 503;
            }
            assertThat(answered.get()).isGreaterThan(0);
            assertThat(sawNotReady).as("readiness reports DOWN during the drain").isTrue();
            assertThat(serve.waitFor(30, TimeUnit.SECONDS)).as("serve stops after the drain").isTrue();
            assertThat(serve.exitValue()).as("clean exit; log:\n" + Files.readString(dir.resolve("serve.log")))
                    .isIn(0, 143);
        } finally {
            serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    static int status(HttpClient https, URI uri) {
        try {
            return https.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    static SSLContext trusting(Path caFile) throws Exception {
        return TrustedCa.fromFile(caFile, Duration.ofSeconds(60));
    }
}
