package io.egressguard.admission;

import io.egressguard.server.SelfSignedCertificates;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Instant;
import java.util.Map;

/** Serves the test application over HTTPS with certificates made by the same generator {@code serve} uses. */
public class TestCertificates implements QuarkusTestResourceLifecycleManager {

    static final Path DIR = Path.of("target", "test-tls");

    @Override
    public Map<String, String> start() {
        try {
            SelfSignedCertificates.Files3 files = SelfSignedCertificates.ensure(DIR,
                    SelfSignedCertificates.dnsNames("egress-guard", "egress-guard", "cluster.local"), Instant.now());
            return Map.of(
                    "egressguard.tls.cert", files.cert().toAbsolutePath().toString(),
                    "egressguard.tls.key", files.key().toAbsolutePath().toString(),
                    "quarkus.http.insecure-requests", "disabled",
                    "quarkus.http.test-ssl-port", "0");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop() {
    }

    /** A trust store holding only the generated CA: the tests verify the server certificate for real. */
    static KeyStore trustStore() throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(DIR.resolve("ca.crt"))) {
            ks.setCertificateEntry("egress-guard-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        return ks;
    }

    /** A client TLS context that trusts only the generated CA. */
    static javax.net.ssl.SSLContext sslContext() throws Exception {
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustStore());
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
