package io.egressguard.reconcile;

import static io.egressguard.reconcile.MockCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.server.PackagedApplication;
import io.egressguard.translate.EgressNames;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application, {@code serve --kubeconfig FILE}, against a mock API server: it becomes ready once its
 * caches are loaded, takes the Lease, reconciles a new enforced namespace, and releases the Lease when it stops.
 */
class ServeWithKubeconfigIT {

    static final Path JAR = PackagedApplication.JAR;

    MockCluster cluster;
    Process serve;

    @BeforeEach
    void start() throws Exception {
        cluster = new MockCluster();
    }

    @AfterEach
    void stop() throws Exception {
        if (serve != null && serve.isAlive()) {
            serve.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        cluster.close();
    }

    @Test
    void serveWithAKubeconfigReconcilesAndReleasesTheLeaseOnShutdown(@TempDir Path dir) throws Exception {
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
                """.formatted(cluster.client.getMasterUrl().toString()));
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-jar", JAR.toString(), "serve", "--host", "127.0.0.1", "--port", Integer.toString(port),
                "--tls-dir", dir.resolve("tls").toString(), "--kubeconfig", kubeconfig.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("serve.log").toFile());
        builder.environment().put("EGRESSGUARD_WARMUP_ITERATIONS", "1");
        builder.environment().put("EGRESSGUARD_RECONCILE_DEBOUNCE", "50ms");
        builder.environment().put("HOSTNAME", "serve-it");
        serve = builder.start();

        HttpClient https = HttpClient.newBuilder().sslContext(trusting(dir.resolve("tls").resolve("ca.crt")))
                .connectTimeout(Duration.ofSeconds(2)).build();
        await(Duration.ofSeconds(90), () -> ready(https, port), () -> "serve to be ready; log:\n" + log(dir));
        await(() -> holder().startsWith("serve-it_"), () -> "serve to take the Lease; log:\n" + log(dir));

        cluster.enforcedNamespace("shop");
        await(() -> cluster.get(ManagedKinds.NETWORK_POLICY, "shop", EgressNames.DENY_EGRESS_POLICY).isPresent(),
                () -> "the NetworkPolicy of shop; log:\n" + log(dir));

        serve.destroy();
        assertThat(serve.waitFor(30, TimeUnit.SECONDS)).as("serve stops on SIGTERM").isTrue();
        // released: no holder, or (as fabric8 releases it) a lease that expires one second after the release
        await(() -> released(), () -> "the Lease to be released: " + cluster.client.leases()
                .inNamespace("egress-guard").withName(ReconcileOptions.LEASE_NAME).get());
    }

    boolean ready(HttpClient https, int port) {
        if (!serve.isAlive()) {
            throw new AssertionError("serve exited with " + serve.exitValue());
        }
        try {
            HttpResponse<String> r = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port
                    + "/q/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().contains("caches synced");
        } catch (Exception e) {
            return false;
        }
    }

    boolean released() {
        Lease lease = cluster.client.leases().inNamespace("egress-guard").withName(ReconcileOptions.LEASE_NAME).get();
        return holder().isEmpty() || Integer.valueOf(1).equals(lease.getSpec().getLeaseDurationSeconds());
    }

    String holder() {
        Lease lease = cluster.client.leases().inNamespace("egress-guard").withName(ReconcileOptions.LEASE_NAME).get();
        if (lease == null || lease.getSpec() == null || lease.getSpec().getHolderIdentity() == null) {
            return "";
        }
        return lease.getSpec().getHolderIdentity();
    }

    static SSLContext trusting(Path caFile) throws Exception {
        return io.egressguard.server.TrustedCa.fromFile(caFile, Duration.ofSeconds(60));
    }

    static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("serve.log"));
        } catch (java.io.IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
