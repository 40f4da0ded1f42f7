package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.egressguard.server.SelfSignedCertificates.Authority;
import io.egressguard.server.SelfSignedCertificates.Serving;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhook;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application ({@code java -jar egress-guard-runner.jar serve}) serves a renewed certificate without a
 * restart: from files rewritten under it ({@code --tls-cert/--tls-key}, as the kubelet updates a mounted cert-manager
 * Secret), while clients keep sending admission reviews and none fails; and with self-managed certificates ({@code
 * --tls-secret}) against a mock API server, where it creates the Secret, sets the caBundle of both webhook
 * configurations, and follows a renewal written by another replica.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class CertificateRotationIT {

    static final Path JAR = PackagedApplication.JAR;
    static final List<String> NAMES = SelfSignedCertificates.dnsNames("egress-guard", "egress-guard",
            "cluster.local");

    KubernetesClient client;
    @TempDir
    Path dir;

    Process serve;
    int port;
    final byte[] review = review();

    @AfterEach
    void stop() throws Exception {
        if (serve != null && serve.isAlive()) {
            serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void servesTheRenewedCertificateWithoutRestartWhileEveryRequestSucceeds() throws Exception {
        Instant now = Instant.now();
        Authority ca = SelfSignedCertificates.newAuthority(now, Duration.ofDays(30));
        Serving first = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));
        PemDirectory pems = new PemDirectory(dir.resolve("tls"));
        pems.write(contents(ca, first));
        start(Map.of(), "--tls-cert", pems.files().cert().toString(), "--tls-key", pems.files().key().toString());
        String caPem = SelfSignedCertificates.pem(ca.certificate());
        await(Duration.ofSeconds(90), () -> ready(caPem), () -> "serve to be ready; log:\n" + log());
        long pid = serve.pid();
        assertThat(protocolAccepted(caPem, "TLSv1.3")).isTrue();
        assertThat(protocolAccepted(caPem, "TLSv1.2")).isTrue();

        Load load = new Load(caPem);
        try {
            load.start(3);
            await(Duration.ofSeconds(10), () -> load.newConnections.get() >= 10, () -> "requests before the renewal");
            assertThat(load.serials).containsOnly(first.certificate().getSerialNumber());

            Serving renewed = SelfSignedCertificates.issue(ca, NAMES, Instant.now(), Duration.ofDays(3));
            pems.write(contents(ca, renewed));
            BigInteger next = renewed.certificate().getSerialNumber();
            await(Duration.ofSeconds(30), () -> next.equals(load.lastSerial.get()),
                    () -> "the renewed certificate to be served; log:\n" + log());
            int atSwitch = load.newConnections.get();
            await(Duration.ofSeconds(10), () -> load.newConnections.get() >= atSwitch + 20,
                    () -> "requests after the renewal");
        } finally {
            load.stop();
        }

        assertThat(load.failures).as("failed requests").isEmpty();
        assertThat(load.keptAlive.get()).as("requests on one kept-alive connection").isGreaterThan(10);
        assertThat(serve.isAlive()).isTrue();
        assertThat(serve.pid()).isEqualTo(pid);
    }

    @Test
    void selfManagedCertificatesLiveInTheSecretAndFollowARenewalByAnotherReplica() throws Exception {
        for (String file : List.of("validating-webhook.yaml", "mutating-webhook.yaml")) {
            try (InputStream in = Files.newInputStream(Path.of("webhook-config", "base", file))) {
                for (HasMetadata o : client.load(in).items()) {
                    client.resource(o).create();
                }
            }
        }
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: %s
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: tester
                current-context: mock
                users:
                - name: tester
                  user:
                    token: not-checked
                """.formatted(client.getMasterUrl().toString()));
        start(Map.of("EGRESSGUARD_TLS_SYNC_INTERVAL", "1s", "EGRESSGUARD_RECONCILE_ENABLED", "false"),
                "--tls-secret", "egress-guard-tls", "--kubeconfig", kubeconfig.toString(), "--tls-dir",
                dir.resolve("tls").toString());

        await(Duration.ofSeconds(60), () -> secret() != null, () -> "the Secret; log:\n" + log());
        CertificateSecret created = CertificateSecret.from(secret());
        await(Duration.ofSeconds(90), () -> ready(created.caCrt()), () -> "serve to be ready; log:\n" + log());
        assertThat(servedSerial(created.caCrt())).isEqualTo(leaf(created).getSerialNumber());
        String bundle = Base64.getEncoder().encodeToString(created.caCrt().getBytes(StandardCharsets.US_ASCII));
        List<String> caBundles = new ArrayList<>();
        client.admissionRegistration().v1().validatingWebhookConfigurations().withName("egress-guard").get()
                .getWebhooks().stream().map(ValidatingWebhook::getClientConfig).forEach(c -> caBundles.add(
                        c.getCaBundle()));
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName("egress-guard").get()
                .getWebhooks().stream().map(MutatingWebhook::getClientConfig).forEach(c -> caBundles.add(
                        c.getCaBundle()));
        assertThat(caBundles).isNotEmpty().containsOnly(bundle);

        // another replica renews the serving certificate: a new one from the same CA, written to the Secret
        Authority ca = new Authority(SelfSignedCertificates.parseCertificates(created.caCrt()).get(0),
                SelfSignedCertificates.parsePrivateKey(created.caKey()));
        Serving renewal = SelfSignedCertificates.issue(ca, NAMES, Instant.now(), Duration.ofDays(90));
        CertificateSecret written = new CertificateSecret(created.caCrt(), created.caKey(),
                SelfSignedCertificates.pem(renewal.certificate(), ca.certificate()),
                SelfSignedCertificates.pem(renewal.key()), null, created.bundleChangedAt());
        client.secrets().inNamespace("egress-guard").resource(written.toSecret(secret(), "egress-guard",
                "egress-guard-tls")).update();
        CertificateSecret renewed = CertificateSecret.from(secret());
        BigInteger next = leaf(renewed).getSerialNumber();
        assertThat(next).isNotEqualTo(leaf(created).getSerialNumber());

        await(Duration.ofSeconds(30), () -> next.equals(servedSerial(created.caCrt())),
                () -> "the renewed certificate to be served; log:\n" + log());
        assertThat(log()).contains("serving certificate " + next.toString(16) + " written to");

        serve.destroy();
        assertThat(serve.waitFor(30, TimeUnit.SECONDS)).as("serve stops on SIGTERM").isTrue();
    }

    void start(Map<String, String> env, String... args) throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Degressguard.tls.reload-period=1s", "-jar", JAR.toString(), "serve", "--host",
                "127.0.0.1", "--port", Integer.toString(port)));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile());
        builder.environment().put("EGRESSGUARD_WARMUP_ITERATIONS", "1");
        builder.environment().put("EGRESSGUARD_RECONCILE_ENABLED", "false");
        builder.environment().putAll(env);
        serve = builder.start();
    }

    Secret secret() {
        return client.secrets().inNamespace("egress-guard").withName("egress-guard-tls").get();
    }

    static X509Certificate leaf(CertificateSecret s) {
        return SelfSignedCertificates.parseCertificates(s.tlsCrt()).get(0);
    }

    static PemDirectory.Contents contents(Authority ca, Serving serving) {
        return new PemDirectory.Contents(SelfSignedCertificates.pem(ca.certificate()),
                SelfSignedCertificates.pem(serving.certificate(), ca.certificate()),
                SelfSignedCertificates.pem(serving.key()));
    }

    boolean ready(String caPem) {
        if (!serve.isAlive()) {
            throw new AssertionError("serve exited with " + serve.exitValue() + "; log:\n" + log());
        }
        try {
            HttpClient https = HttpClient.newBuilder().sslContext(trusting(caPem))
                    .connectTimeout(Duration.ofSeconds(2)).build();
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port
                    + "/q/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * A new TLS connection, verifying the certificate and the host name. Each has a fresh TLS context, so there is
     * no cached session to resume: every handshake shows the certificate served at that moment.
     */
    SSLSocket connect(String caPem) throws Exception {
        SSLSocket socket = (SSLSocket) trusting(caPem).getSocketFactory().createSocket("localhost", port);
        SSLParameters p = socket.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(p);
        socket.setSoTimeout(5000);
        socket.startHandshake();
        return socket;
    }

    /** Whether a handshake offering only {@code protocol} succeeds. */
    boolean protocolAccepted(String caPem, String protocol) {
        try (SSLSocket socket = (SSLSocket) trusting(caPem).getSocketFactory().createSocket("localhost", port)) {
            socket.setEnabledProtocols(new String[] {protocol});
            socket.setSoTimeout(5000);
            socket.startHandshake();
            return protocol.equals(socket.getSession().getProtocol());
        } catch (Exception e) {
            return false;
        }
    }

    /** The serial of the certificate served on a new connection, or null when the handshake fails. */
    BigInteger servedSerial(String caPem) {
        try (SSLSocket socket = connect(caPem)) {
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Clients sending {@code POST /validate} without pause: some open a new TLS connection (a full handshake, no
     * session resumption) for each request and record the certificate served; one keeps a single connection alive.
     */
    final class Load {

        final String caPem;
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicInteger newConnections = new AtomicInteger();
        final AtomicInteger keptAlive = new AtomicInteger();
        final AtomicReference<BigInteger> lastSerial = new AtomicReference<>();
        final ConcurrentLinkedQueue<BigInteger> serials = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final ExecutorService pool = Executors.newCachedThreadPool();

        Load(String caPem) {
            this.caPem = caPem;
        }

        void start(int newConnectionClients) {
            for (int i = 0; i < newConnectionClients; i++) {
                pool.submit(() -> {
                    while (running.get()) {
                        try {
                            BigInteger serial = postOnNewConnection();
                            serials.add(serial);
                            lastSerial.set(serial);
                            newConnections.incrementAndGet();
                        } catch (Exception e) {
                            failures.add("new connection: " + e);
                        }
                    }
                });
            }
            pool.submit(() -> {
                HttpClient https;
                try {
                    https = HttpClient.newBuilder().sslContext(trusting(caPem)).version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(Duration.ofSeconds(5)).build();
                } catch (Exception e) {
                    failures.add("kept-alive connection: " + e);
                    return;
                }
                while (running.get()) {
                    try {
                        HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://localhost:"
                                + port + "/validate")).header("Content-Type", "application/json")
                                .timeout(Duration.ofSeconds(5)).POST(HttpRequest.BodyPublishers.ofByteArray(review))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 200 || !r.body().contains("\"AdmissionReview\"")) {
                            failures.add("kept-alive connection: " + r.statusCode() + " " + r.body());
                        }
                        keptAlive.incrementAndGet();
                    } catch (Exception e) {
                        failures.add("kept-alive connection: " + e);
                    }
                }
            });
        }

        BigInteger postOnNewConnection() throws Exception {
            try (SSLSocket socket = connect(caPem)) {
                BigInteger serial = ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
                OutputStream out = socket.getOutputStream();
                out.write(("POST /validate HTTP/1.1\r\nHost: localhost:" + port + "\r\nContent-Type: application/json"
                        + "\r\nContent-Length: " + review.length + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(review);
                out.flush();
                String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!response.startsWith("HTTP/1.1 200") || !response.contains("\"AdmissionReview\"")) {
                    throw new IOException("unexpected response: " + response);
                }
                return serial;
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            pool.shutdown();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** A TLS context trusting only the CAs of {@code caPem}, with its own (empty) session cache. */
    static SSLContext trusting(String caPem) throws Exception {
        return TrustedCa.of(caPem);
    }

    static byte[] review() {
        try (InputStream in = CertificateRotationIT.class.getResourceAsStream("/warmup/create-pod.json")) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    String log() {
        try {
            return Files.readString(dir.resolve("serve.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    static void await(Duration timeout, BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeout + " waiting for " + what.get());
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail("interrupted");
            }
        }
    }
}
