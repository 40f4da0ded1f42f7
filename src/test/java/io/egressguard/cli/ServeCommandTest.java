package io.egressguard.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.server.SelfManagedCertificates;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** How {@code serve} chooses its certificate, checked before anything starts. */
class ServeCommandTest {

    static int run(StringWriter err, String... args) {
        CommandLine cl = EgressGuardCommand.commandLine();
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void inMemoryKeyStoresGetOneKeyDerivationRoundUnlessTheOperatorChoseOtherwise() {
        String before = System.getProperty(ServeCommand.PKCS12_KEY_ROUNDS);
        try {
            System.clearProperty(ServeCommand.PKCS12_KEY_ROUNDS);
            ServeCommand.lightInMemoryKeyStores();
            assertThat(System.getProperty(ServeCommand.PKCS12_KEY_ROUNDS)).isEqualTo("1");

            System.setProperty(ServeCommand.PKCS12_KEY_ROUNDS, "20000");
            ServeCommand.lightInMemoryKeyStores();
            assertThat(System.getProperty(ServeCommand.PKCS12_KEY_ROUNDS)).isEqualTo("20000");
        } finally {
            if (before == null) {
                System.clearProperty(ServeCommand.PKCS12_KEY_ROUNDS);
            } else {
                System.setProperty(ServeCommand.PKCS12_KEY_ROUNDS, before);
            }
        }
    }

    @Test
    void aSecretAndCertificateFilesAreAlternatives() {
        StringWriter err = new StringWriter();

        int code = run(err, "serve", "--tls-secret", "egress-guard-tls", "--tls-cert", "a.crt", "--tls-key", "a.key");

        assertThat(code).isEqualTo(EgressGuardCommand.BAD_INPUT);
        assertThat(err.toString()).contains("--tls-secret and --tls-cert are alternatives");
    }

    @Test
    void aSecretNeedsClusterAccess() {
        // the build runs outside a pod: no service account token
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(Path.of(
                io.fabric8.kubernetes.client.Config.KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH)));
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("EGRESSGUARD_KUBECONFIG") == null);
        StringWriter err = new StringWriter();

        int code = run(err, "serve", "--tls-secret", "egress-guard-tls");

        assertThat(code).isEqualTo(EgressGuardCommand.BAD_INPUT);
        assertThat(err.toString()).contains("--tls-secret needs cluster access");
    }

    @Test
    void selfManagedCertificatesDefaultToNinetyDaysServingTenYearsCaOneMinuteSync() {
        SelfManagedCertificates.Options o = ServeCommand.certificateOptions("egress-guard-tls");

        assertThat(o.secretName()).isEqualTo("egress-guard-tls");
        assertThat(o.webhookConfigurationName()).isEqualTo("egress-guard");
        assertThat(o.dnsNames()).contains("egress-guard.egress-guard.svc",
                "egress-guard.egress-guard.svc.cluster.local");
        assertThat(o.servingValidity()).isEqualTo(Duration.ofDays(90));
        assertThat(o.caValidity()).isEqualTo(Duration.ofDays(3650));
        assertThat(o.caOverlap()).isEqualTo(Duration.ofHours(1));
        assertThat(o.syncInterval()).isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void lifetimesComeFromSystemPropertiesOrTheEnvironment() {
        System.setProperty("egressguard.tls.sync-interval", "15s");
        System.setProperty("egressguard.tls.serving-validity", "30d");
        try {
            SelfManagedCertificates.Options o = ServeCommand.certificateOptions("s");

            assertThat(o.syncInterval()).isEqualTo(Duration.ofSeconds(15));
            assertThat(o.servingValidity()).isEqualTo(Duration.ofDays(30));
        } finally {
            System.clearProperty("egressguard.tls.sync-interval");
            System.clearProperty("egressguard.tls.serving-validity");
        }
    }
}
