package io.egressguard.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** TLS contexts for tests that talk to a {@code serve} process: they trust only the CAs it generated. */
public final class TrustedCa {

    private TrustedCa() {
    }

    /** A context trusting only the CAs in {@code caPem}, with its own (empty) session cache. */
    public static SSLContext of(String caPem) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (X509Certificate ca : SelfSignedCertificates.parseCertificates(caPem)) {
            ks.setCertificateEntry("ca-" + i++, ca);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Waits for {@code serve} to write its CA bundle, then trusts it. */
    public static SSLContext fromFile(Path caFile, Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!Files.isRegularFile(caFile)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(caFile + " was not written within " + wait);
            }
            Thread.sleep(50);
        }
        return of(Files.readString(caFile));
    }
}
