package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code serve} decides whether it has cluster access, and how it talks to the API server. */
class ClusterAccessTest {

    @Test
    void aKubeconfigGivesAccessThroughItsCurrentContext(@TempDir Path dir) throws Exception {
        Path kubeconfig = dir.resolve("config");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: other
                  cluster: {server: "https://other.example:6443"}
                - name: kind
                  cluster: {server: "https://127.0.0.1:39443", insecure-skip-tls-verify: true}
                contexts:
                - name: other
                  context: {cluster: other, user: me}
                - name: kind
                  context: {cluster: kind, user: me, namespace: shop}
                current-context: kind
                users:
                - name: me
                  user: {token: abc}
                """);

        Config config = ClusterAccess.clientConfig(Optional.of(kubeconfig)).orElseThrow();

        assertThat(config.getMasterUrl()).startsWith("https://127.0.0.1:39443");
        assertThat(config.getAutoOAuthToken()).isEqualTo("abc");
        assertThat(config.getRequestRetryBackoffLimit()).isEqualTo(ClusterAccess.REQUEST_RETRIES);
    }

    @Test
    void anUnreadableKubeconfigIsAnError(@TempDir Path dir) {
        assertThatThrownBy(() -> ClusterAccess.clientConfig(Optional.of(dir.resolve("missing"))))
                .hasMessageContaining("cannot read kubeconfig");
    }

    @Test
    void withoutKubeconfigOrServiceAccountTokenThereIsNoAccess() {
        // the build runs outside a pod: no token at the in-cluster path
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(ClusterAccess.SERVICE_ACCOUNT_TOKEN));
        assertThat(ClusterAccess.clientConfig(Optional.empty())).isEmpty();
    }

    @Test
    void eachReplicaHasItsOwnIdentity() {
        assertThat(ClusterAccess.identity()).isNotEqualTo(ClusterAccess.identity()).contains("_");
    }
}
