package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.egressguard.server.SelfSignedCertificates.Authority;
import io.egressguard.server.SelfSignedCertificates.Serving;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTPS server's certificate is loaded once into a key manager and replaced inside it when the files change. */
class ServingCertificateTest {

    static final List<String> NAMES = SelfSignedCertificates.dnsNames("egress-guard", "egress-guard",
            "cluster.local");
    final Instant now = Instant.now();
    final Authority ca = SelfSignedCertificates.newAuthority(now, Duration.ofDays(30));

    static PemDirectory.Contents contents(Authority ca, Serving serving) {
        return new PemDirectory.Contents(SelfSignedCertificates.pem(ca.certificate()),
                SelfSignedCertificates.pem(serving.certificate(), ca.certificate()),
                SelfSignedCertificates.pem(serving.key()));
    }

    ServingCertificate servingFrom(PemDirectory pems) {
        return new ServingCertificate(Optional.of(pems.files().cert()), Optional.of(pems.files().key()),
                Duration.ofSeconds(1));
    }

    @Test
    void givesTheHttpsServerAKeyManagerHoldingTheFilesCertificate(@TempDir Path dir) throws Exception {
        PemDirectory pems = new PemDirectory(dir);
        Serving serving = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));
        pems.write(contents(ca, serving));
        ServingCertificate certificate = servingFrom(pems);
        HttpServerOptions options = new HttpServerOptions();

        certificate.customizeHttpsServer(options);

        assertThat(options.isSsl()).isTrue();
        assertThat(options.getKeyCertOptions()).isNotNull();
        SwappableKeyManager km = certificate.keyManager();
        String alias = km.chooseEngineServerAlias("EC", null, null);
        assertThat(km.getCertificateChain(alias)).containsExactly(serving.certificate(), ca.certificate());
        assertThat(km.getPrivateKey(alias)).isEqualTo(serving.key());
        assertThat(km.chooseEngineServerAlias("RSA", null, null)).as("no RSA key to offer").isNull();
    }

    @Test
    void aRenewedCertificateIsServedFromTheNextHandshakeWhileAHandshakeInFlightKeepsItsOwn(@TempDir Path dir)
            throws Exception {
        PemDirectory pems = new PemDirectory(dir);
        Serving first = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));
        pems.write(contents(ca, first));
        ServingCertificate certificate = servingFrom(pems);
        certificate.customizeHttpsServer(new HttpServerOptions());
        SwappableKeyManager km = certificate.keyManager();
        String chosenBefore = km.chooseEngineServerAlias("EC", null, null);

        Serving renewed = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));
        pems.write(contents(ca, renewed));
        assertThat(certificate.reload()).isTrue();

        assertThat(km.getCertificateChain(km.chooseEngineServerAlias("EC", null, null))[0])
                .isEqualTo(renewed.certificate());
        assertThat(km.getCertificateChain(chosenBefore)[0]).isEqualTo(first.certificate());
        assertThat(km.getPrivateKey(chosenBefore)).isEqualTo(first.key());
        assertThat(certificate.reload()).as("unchanged files").isFalse();
    }

    @Test
    void aCertificateWithAnotherKeyIsNotTaken(@TempDir Path dir) throws Exception {
        PemDirectory pems = new PemDirectory(dir);
        Serving first = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));
        pems.write(contents(ca, first));
        ServingCertificate certificate = servingFrom(pems);
        certificate.customizeHttpsServer(new HttpServerOptions());
        Serving other = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(3));

        // a writer caught between replacing the certificate and replacing the key
        pems.write(new PemDirectory.Contents(SelfSignedCertificates.pem(ca.certificate()),
                SelfSignedCertificates.pem(other.certificate(), ca.certificate()),
                SelfSignedCertificates.pem(first.key())));

        assertThatThrownBy(certificate::reload).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is not the key of the certificate");
        assertThat(certificate.keyManager().leaf()).isEqualTo(first.certificate());
    }

    @Test
    void filesThatCannotBeLoadedStopTheServerFromStarting(@TempDir Path dir) {
        ServingCertificate certificate = new ServingCertificate(Optional.of(dir.resolve("tls.crt")),
                Optional.of(dir.resolve("tls.key")), Duration.ofSeconds(1));

        assertThatThrownBy(() -> certificate.customizeHttpsServer(new HttpServerOptions()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot load the serving certificate");
    }

    @Test
    void withoutFilesTheServerOptionsAreLeftAlone() {
        HttpServerOptions options = new HttpServerOptions();

        new ServingCertificate(Optional.empty(), Optional.empty(), Duration.ofSeconds(1)).customizeHttpsServer(options);

        assertThat(options.isSsl()).isFalse();
        assertThat(options.getKeyCertOptions()).isNull();
    }
}
