package io.egressguard.server;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The HTTPS server's certificate: read from the PEM files {@code egressguard.tls.cert} and {@code egressguard.tls.key}
 * ({@code serve} sets them from {@code --tls-cert/--tls-key}, {@code --tls-secret} or the generated files), checked
 * again every {@code egressguard.tls.reload-period}, and served from the next handshake on when they change.
 *
 * <p>The server's TLS context is given a {@link SwappableKeyManager} once, and a new certificate replaces the one
 * inside it. Reloading through the TLS registry ({@code quarkus.tls.reload-period}) would instead make Vert.x build a
 * new TLS context, and while it does (about 200 ms) Vert.x 4.5 closes new connections during their handshake; an
 * API server calling the webhook at that moment would see its call fail.
 *
 * <p>Files that do not parse, or a certificate that does not match the key (a writer that replaces the two files
 * one after the other, caught in between), are not taken: the current certificate stays until a later check finds
 * a consistent pair. The certificate's expiry is exported as {@code
 * egressguard_tls_serving_certificate_expiry_timestamp_seconds}.
 */
@Singleton
public class ServingCertificate implements HttpServerOptionsCustomizer {

    private static final Logger LOG = Logger.getLogger(ServingCertificate.class);

    private final Optional<Path> certFile;
    private final Optional<Path> keyFile;
    private final Duration reloadPeriod;
    private final SwappableKeyManager keyManager = new SwappableKeyManager();
    private byte[] loadedCert;
    private byte[] loadedKey;
    private String lastProblem;
    private ScheduledExecutorService reloader;

    @Inject
    public ServingCertificate(EgressGuardConfig config) {
        this(config.tls().cert(), config.tls().key(), config.tls().reloadPeriod());
    }

    ServingCertificate(Optional<Path> certFile, Optional<Path> keyFile, Duration reloadPeriod) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.reloadPeriod = reloadPeriod;
    }

    /** The key manager the HTTPS server asks on each handshake. */
    SwappableKeyManager keyManager() {
        return keyManager;
    }

    /** Gives the HTTPS server the swappable key manager, loaded with the files' certificate. */
    @Override
    public void customizeHttpsServer(HttpServerOptions options) {
        if (certFile.isEmpty() || keyFile.isEmpty()) {
            return;
        }
        try {
            reload();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot load the serving certificate: " + e.getMessage(), e);
        }
        options.setSsl(true);
        options.setKeyCertOptions(KeyCertOptions.wrap(keyManager));
    }

    void onStart(@Observes StartupEvent event, MeterRegistry registry) {
        if (certFile.isEmpty() || keyFile.isEmpty()) {
            return;
        }
        Gauge.builder("egressguard.tls.serving.certificate.expiry.timestamp", keyManager,
                k -> k.leaf() == null ? Double.NaN : k.leaf().getNotAfter().getTime() / 1000.0)
                .description("When the certificate being served expires (Unix time)").baseUnit("seconds")
                .register(registry);
        reloader = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "egress-guard-serving-certificate");
            t.setDaemon(true);
            return t;
        });
        long every = reloadPeriod.toMillis();
        reloader.scheduleWithFixedDelay(this::check, every, every, TimeUnit.MILLISECONDS);
    }

    void onStop(@Observes ShutdownEvent event) {
        if (reloader != null) {
            reloader.shutdownNow();
        }
    }

    private void check() {
        try {
            if (reload()) {
                X509Certificate leaf = keyManager.leaf();
                LOG.infof("serving certificate %s (valid until %s) loaded from %s", leaf.getSerialNumber().toString(16),
                        leaf.getNotAfter().toInstant(), certFile.get());
            }
            lastProblem = null;
        } catch (IOException | IllegalArgumentException e) {
            String problem = e.getMessage();
            if (!problem.equals(lastProblem)) {
                LOG.warnf("cannot load the serving certificate (%s); still serving %s, next check in %s", problem,
                        keyManager.leaf() == null ? "nothing" : keyManager.leaf().getSerialNumber().toString(16),
                        reloadPeriod);
            }
            lastProblem = problem;
        }
    }

    /**
     * Reads the files and serves their certificate when it differs from the one being served.
     *
     * @return whether the certificate changed
     * @throws IOException when a file cannot be read
     * @throws IllegalArgumentException when the files do not hold a certificate and its key
     */
    synchronized boolean reload() throws IOException {
        Path cert = certFile.orElseThrow();
        Path key = keyFile.orElseThrow();
        byte[] certBytes = Files.readAllBytes(cert);
        byte[] keyBytes = Files.readAllBytes(key);
        if (Arrays.equals(certBytes, loadedCert) && Arrays.equals(keyBytes, loadedKey)) {
            return false;
        }
        List<X509Certificate> chain = SelfSignedCertificates.parseCertificates(
                new String(certBytes, StandardCharsets.US_ASCII));
        PrivateKey privateKey = SelfSignedCertificates.parsePrivateKey(new String(keyBytes, StandardCharsets.US_ASCII));
        if (!SelfSignedCertificates.matches(chain.get(0), privateKey)) {
            throw new IllegalArgumentException(key + " is not the key of the certificate in " + cert);
        }
        keyManager.set(chain.toArray(X509Certificate[]::new), privateKey);
        loadedCert = certBytes;
        loadedKey = keyBytes;
        return true;
    }
}
