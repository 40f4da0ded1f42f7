package io.egressguard.server;

import static io.egressguard.server.SelfSignedCertificates.AUTHORITY_KEY_IDENTIFIER;
import static io.egressguard.server.SelfSignedCertificates.BASIC_CONSTRAINTS;
import static io.egressguard.server.SelfSignedCertificates.EXTENDED_KEY_USAGE;
import static io.egressguard.server.SelfSignedCertificates.KEY_USAGE;
import static io.egressguard.server.SelfSignedCertificates.SERVER_AUTH;
import static io.egressguard.server.SelfSignedCertificates.SUBJECT_ALTERNATIVE_NAME;
import static io.egressguard.server.SelfSignedCertificates.SUBJECT_KEY_IDENTIFIER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.egressguard.server.SelfSignedCertificates.Authority;
import io.egressguard.server.SelfSignedCertificates.Serving;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA and serving certificates are X.509 v3 certificates that the JDK reads, validates and serves over TLS, with
 * exactly the extensions and encodings RFC 5280 asks for.
 */
class SelfSignedCertificatesTest {

    static final List<String> NAMES = SelfSignedCertificates.dnsNames("egress-guard", "egress-guard",
            "cluster.local");

    static final ExecutorService SERVER = Executors.newCachedThreadPool();

    final Instant now = Instant.parse("2026-03-01T10:15:30.250Z");
    final Authority ca = SelfSignedCertificates.newAuthority(now, SelfSignedCertificates.CA_VALIDITY);
    final Serving serving = SelfSignedCertificates.issue(ca, NAMES, now, SelfSignedCertificates.SERVING_VALIDITY);

    @AfterAll
    static void stopServer() {
        SERVER.shutdownNow();
    }

    /** The fields of a certificate's TBSCertificate, read with {@link Der}. */
    static List<Der.Element> tbs(X509Certificate cert) throws Exception {
        return Der.read(cert.getEncoded()).children(Der.SEQUENCE).get(0).children(Der.SEQUENCE);
    }

    /** The value inside an extension's extnValue OCTET STRING. */
    static Der.Element extension(X509Certificate cert, String oid) {
        return Der.read(Der.read(cert.getExtensionValue(oid)).contents(Der.OCTET_STRING));
    }

    static byte[] subjectKeyIdentifier(X509Certificate cert) {
        return extension(cert, SUBJECT_KEY_IDENTIFIER).contents(Der.OCTET_STRING);
    }

    @Test
    void theCaIsASelfSignedV3CaCertificateWithItsThreeExtensions() throws Exception {
        X509Certificate cert = ca.certificate();

        cert.verify(cert.getPublicKey());
        assertThat(cert.getVersion()).isEqualTo(3);
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=egress-guard-ca-20260301T101530Z");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        assertThat(cert.getBasicConstraints()).as("CA with path length 0").isZero();
        assertThat(cert.getKeyUsage()).containsExactly(true, false, false, false, false, true, true, false, false);
        assertThat(cert.getExtendedKeyUsage()).isNull();
        assertThat(cert.getSubjectAlternativeNames()).isNull();
        assertThat(cert.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(cert.getNonCriticalExtensionOIDs()).containsExactlyInAnyOrder(SUBJECT_KEY_IDENTIFIER);
        assertThat(DerTest.hex(extension(cert, BASIC_CONSTRAINTS).encoding())).isEqualTo("30060101FF020100");
        assertThat(DerTest.hex(extension(cert, KEY_USAGE).encoding())).isEqualTo("03020186");
        assertThat(cert.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(SelfSignedCertificates.matches(cert, ca.key())).isTrue();
    }

    @Test
    void theSubjectKeyIdentifierIsTheSha1OfTheSubjectPublicKeyBits() throws Exception {
        byte[] spki = ca.certificate().getPublicKey().getEncoded();
        // an uncompressed P-256 point: 65 octets, at the end of the SubjectPublicKeyInfo after the unused-bits octet
        byte[] point = Arrays.copyOfRange(spki, spki.length - 65, spki.length);
        assertThat(spki[spki.length - 66]).as("no unused bits").isZero();

        assertThat(subjectKeyIdentifier(ca.certificate()))
                .isEqualTo(MessageDigest.getInstance("SHA-1").digest(point))
                .isEqualTo(SelfSignedCertificates.keyIdentifier(ca.certificate().getPublicKey()));
    }

    @Test
    void theServingCertificateHasItsFiveExtensionsAndNamesItsIssuer() throws Exception {
        X509Certificate cert = serving.certificate();

        cert.verify(ca.certificate().getPublicKey());
        assertThat(SelfSignedCertificates.issuedBy(cert, ca.certificate())).isTrue();
        assertThat(SelfSignedCertificates.matches(cert, serving.key())).isTrue();
        assertThat(cert.getVersion()).isEqualTo(3);
        assertThat(cert.getSubjectX500Principal().getName())
                .isEqualTo("CN=egress-guard.egress-guard.svc.cluster.local");
        assertThat(cert.getIssuerX500Principal().getEncoded())
                .isEqualTo(ca.certificate().getSubjectX500Principal().getEncoded());
        assertThat(cert.getBasicConstraints()).as("not a CA").isEqualTo(-1);
        assertThat(DerTest.hex(extension(cert, BASIC_CONSTRAINTS).encoding())).isEqualTo("3000");
        assertThat(cert.getKeyUsage()).containsExactly(true, false, false, false, false, false, false, false, false);
        assertThat(DerTest.hex(extension(cert, KEY_USAGE).encoding())).isEqualTo("03020780");
        assertThat(cert.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
        assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(2, "localhost"),
                List.of(2, "egress-guard"), List.of(2, "egress-guard.egress-guard"),
                List.of(2, "egress-guard.egress-guard.svc"), List.of(2, "egress-guard.egress-guard.svc.cluster.local"),
                List.of(7, "127.0.0.1"), List.of(7, "0:0:0:0:0:0:0:1"));
        assertThat(cert.getCriticalExtensionOIDs()).containsExactlyInAnyOrder(BASIC_CONSTRAINTS, KEY_USAGE);
        assertThat(cert.getNonCriticalExtensionOIDs()).containsExactlyInAnyOrder(EXTENDED_KEY_USAGE,
                SUBJECT_ALTERNATIVE_NAME, AUTHORITY_KEY_IDENTIFIER);
        assertThat(SelfSignedCertificates.covers(cert, NAMES)).isTrue();
    }

    @Test
    void theAuthorityKeyIdentifierHoldsOnlyTheCasSubjectKeyIdentifier() {
        List<Der.Element> aki = extension(serving.certificate(), AUTHORITY_KEY_IDENTIFIER).children(Der.SEQUENCE);

        assertThat(aki).singleElement().satisfies(keyIdentifier -> {
            assertThat(keyIdentifier.tag()).as("[0] IMPLICIT OCTET STRING").isEqualTo(0x80);
            assertThat(keyIdentifier.contents()).hasSize(20).isEqualTo(subjectKeyIdentifier(ca.certificate()));
        });
    }

    @Test
    void extensionsComeInTheOrderTheyAreListedAndBothSignaturesNameEcdsaWithSha256WithoutParameters()
            throws Exception {
        List<Der.Element> tbs = tbs(serving.certificate());
        List<Der.Element> certificate = Der.read(serving.certificate().getEncoded()).children(Der.SEQUENCE);

        assertThat(DerTest.hex(tbs.get(0).encoding())).as("v3").isEqualTo("A003020102");
        assertThat(DerTest.hex(tbs.get(2).encoding())).isEqualTo("300A06082A8648CE3D040302");
        assertThat(certificate.get(1).encoding()).isEqualTo(tbs.get(2).encoding());
        assertThat(serving.certificate().getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(serving.certificate().getSigAlgParams()).isNull();
        List<Der.Element> extensions = tbs.get(7).children(0xa3).get(0).children(Der.SEQUENCE);
        assertThat(extensions).extracting(e -> Der.oidString(
                e.children(Der.SEQUENCE).get(0).contents(Der.OBJECT_IDENTIFIER))).containsExactly(BASIC_CONSTRAINTS,
                        KEY_USAGE, EXTENDED_KEY_USAGE, SUBJECT_ALTERNATIVE_NAME, AUTHORITY_KEY_IDENTIFIER);
        assertThat(tbs(ca.certificate()).get(7).children(0xa3).get(0).children(Der.SEQUENCE))
                .extracting(e -> Der.oidString(e.children(Der.SEQUENCE).get(0).contents(Der.OBJECT_IDENTIFIER)))
                .containsExactly(BASIC_CONSTRAINTS, KEY_USAGE, SUBJECT_KEY_IDENTIFIER);
    }

    @Test
    void namesArePrintedAsUtf8Strings() throws Exception {
        for (X509Certificate cert : List.of(ca.certificate(), serving.certificate())) {
            Der.Element subject = tbs(cert).get(5);
            Der.Element attribute = subject.children(Der.SEQUENCE).get(0).children(Der.SET).get(0);
            assertThat(attribute.children(Der.SEQUENCE).get(1).tag()).isEqualTo(Der.UTF8_STRING);
        }
    }

    @Test
    void serialNumbersArePositiveRandomAndAtMost127Bits() {
        Authority other = SelfSignedCertificates.newAuthority(now, Duration.ofDays(1));

        for (X509Certificate cert : List.of(ca.certificate(), serving.certificate(), other.certificate())) {
            assertThat(cert.getSerialNumber()).isPositive();
            assertThat(cert.getSerialNumber().bitLength()).isLessThanOrEqualTo(127);
        }
        assertThat(other.certificate().getSerialNumber()).isNotEqualTo(ca.certificate().getSerialNumber());
    }

    @Test
    void validityStartsFiveMinutesEarlyToTheSecondAndTheServingCertificateNeverOutlivesItsCa() {
        Instant start = now.minus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);

        assertThat(ca.certificate().getNotBefore().toInstant()).isEqualTo(start);
        assertThat(ca.certificate().getNotAfter().toInstant())
                .isEqualTo(now.plus(SelfSignedCertificates.CA_VALIDITY).truncatedTo(ChronoUnit.SECONDS));
        assertThat(serving.certificate().getNotBefore().toInstant()).isEqualTo(start);
        assertThat(serving.certificate().getNotAfter().toInstant())
                .isEqualTo(now.plus(SelfSignedCertificates.SERVING_VALIDITY).truncatedTo(ChronoUnit.SECONDS));

        Serving longer = SelfSignedCertificates.issue(ca, NAMES, now, Duration.ofDays(5000));
        assertThat(longer.certificate().getNotAfter()).isEqualTo(ca.certificate().getNotAfter());
    }

    @Test
    void validityIsUtcTimeBefore2050AndGeneralizedTimeFrom2050() throws Exception {
        Instant late2049 = Instant.parse("2049-12-31T23:50:00Z");
        Authority crossing = SelfSignedCertificates.newAuthority(late2049, Duration.ofDays(3650));
        Serving leaf = SelfSignedCertificates.issue(crossing, NAMES, late2049, Duration.ofMinutes(15));
        Serving after = SelfSignedCertificates.issue(crossing, NAMES, Instant.parse("2051-01-01T00:00:00Z"),
                Duration.ofDays(1));

        assertThat(validityTags(crossing.certificate())).containsExactly(Der.UTC_TIME, Der.GENERALIZED_TIME);
        assertThat(validityTags(leaf.certificate())).containsExactly(Der.UTC_TIME, Der.GENERALIZED_TIME);
        assertThat(validityTags(after.certificate())).containsExactly(Der.GENERALIZED_TIME, Der.GENERALIZED_TIME);
        assertThat(validityTags(ca.certificate())).containsExactly(Der.UTC_TIME, Der.UTC_TIME);
        assertThat(leaf.certificate().getNotBefore().toInstant()).isEqualTo("2049-12-31T23:45:00Z");
        assertThat(leaf.certificate().getNotAfter().toInstant()).isEqualTo("2050-01-01T00:05:00Z");
        assertThat(crossing.certificate().getNotAfter().toInstant()).isEqualTo("2059-12-29T23:50:00Z");
        assertThat(new String(tbs(leaf.certificate()).get(4).children(Der.SEQUENCE).get(1).contents(),
                StandardCharsets.US_ASCII)).isEqualTo("20500101000500Z");
        leaf.certificate().verify(crossing.certificate().getPublicKey());
    }

    static List<Integer> validityTags(X509Certificate cert) throws Exception {
        return tbs(cert).get(4).children(Der.SEQUENCE).stream().map(Der.Element::tag).toList();
    }

    @Test
    void anRsaCaSignsWithSha256WithRsaAndANullParameter() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        Authority rsaCa = SelfSignedCertificates.newAuthority(rsa.generateKeyPair(), now, Duration.ofDays(30));

        Serving leaf = SelfSignedCertificates.issue(rsaCa, NAMES, now, Duration.ofDays(3));

        for (X509Certificate cert : List.of(rsaCa.certificate(), leaf.certificate())) {
            assertThat(cert.getSigAlgName()).isEqualTo("SHA256withRSA");
            assertThat(DerTest.hex(tbs(cert).get(2).encoding())).isEqualTo("300D06092A864886F70D01010B0500");
            cert.verify(rsaCa.certificate().getPublicKey());
        }
        assertThat(leaf.certificate().getPublicKey().getAlgorithm()).as("the serving key stays EC").isEqualTo("EC");
        assertThat(rsaCa.certificate().getBasicConstraints()).isZero();
        assertThat(extension(leaf.certificate(), AUTHORITY_KEY_IDENTIFIER).children(Der.SEQUENCE).get(0).contents())
                .isEqualTo(subjectKeyIdentifier(rsaCa.certificate()));
    }

    @Test
    void theCertificatesReadBackFromTheirPemThroughCertificateFactory() throws Exception {
        String pem = SelfSignedCertificates.pem(serving.certificate(), ca.certificate());

        assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----\n").endsWith("-----END CERTIFICATE-----\n");
        assertThat(pem.lines().filter(l -> !l.startsWith("-----"))).allSatisfy(l -> assertThat(l.length())
                .isLessThanOrEqualTo(64));
        List<Certificate> read = List.copyOf(CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))));
        assertThat(read).containsExactly(serving.certificate(), ca.certificate());
        assertThat(SelfSignedCertificates.parseCertificates(pem)).containsExactly(serving.certificate(),
                ca.certificate());
    }

    @Test
    void theFilesServeWritesHoldPkcs8AndTheChain(@TempDir Path dir) throws Exception {
        SelfSignedCertificates.Files3 files = SelfSignedCertificates.generate(dir, NAMES, Instant.now());

        String key = Files.readString(files.key());
        assertThat(key).startsWith("-----BEGIN PRIVATE KEY-----\n");
        List<X509Certificate> chain = SelfSignedCertificates.parseCertificates(Files.readString(files.cert()));
        assertThat(chain).hasSize(2);
        assertThat(chain.get(1)).isEqualTo(SelfSignedCertificates.parseCertificates(
                Files.readString(files.caCert())).get(0));
        assertThat(SelfSignedCertificates.matches(chain.get(0), SelfSignedCertificates.parsePrivateKey(key))).isTrue();
        assertThat(SelfSignedCertificates.ensure(dir, NAMES, Instant.now())).isEqualTo(files);
        assertThat(Files.readString(files.key())).as("reused while valid").isEqualTo(key);
    }

    @Test
    void aJdkClientTrustingOnlyTheCaCompletesAHandshakeForEveryNameAndLoopbackAddress() throws Exception {
        SSLContext server = serverContext(serving, ca);
        SSLContext client = TrustedCa.of(SelfSignedCertificates.pem(ca.certificate()));

        for (String host : List.of("egress-guard.egress-guard.svc", "localhost", "127.0.0.1")) {
            assertThat(handshake(server, client, host)).as(host).isEqualTo(serving.certificate());
        }
    }

    @Test
    void aHandshakeFailsForAnotherNameOrAnotherCa() throws Exception {
        SSLContext server = serverContext(serving, ca);
        SSLContext client = TrustedCa.of(SelfSignedCertificates.pem(ca.certificate()));
        Authority otherCa = SelfSignedCertificates.newAuthority(now, Duration.ofDays(30));
        SSLContext otherClient = TrustedCa.of(SelfSignedCertificates.pem(otherCa.certificate()));

        assertThatThrownBy(() -> handshake(server, client, "egress-guard.other.svc"))
                .isInstanceOf(SSLHandshakeException.class);
        assertThatThrownBy(() -> handshake(server, otherClient, "localhost"))
                .isInstanceOf(SSLHandshakeException.class);
    }

    static SSLContext serverContext(Serving serving, Authority ca) throws Exception {
        char[] password = "test".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("serving", serving.key(), password,
                new X509Certificate[] {serving.certificate(), ca.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        return context;
    }

    /**
     * Connects to a TLS server on 127.0.0.1 as a client that checks the server certificate against {@code host}
     * (HTTPS endpoint identification), and returns the certificate the server presented.
     */
    static X509Certificate handshake(SSLContext server, SSLContext client, String host) throws Exception {
        try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 1,
                InetAddress.getByName("127.0.0.1"))) {
            Future<String> served = SERVER.submit(() -> {
                try (SSLSocket accepted = (SSLSocket) listener.accept()) {
                    accepted.setSoTimeout(10_000);
                    accepted.getOutputStream().write(42);
                    accepted.getOutputStream().flush();
                    return accepted.getSession().getProtocol();
                }
            });
            X509Certificate presented;
            try (Socket plain = new Socket()) {
                plain.connect(new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort()), 10_000);
                plain.setSoTimeout(10_000);
                try (SSLSocket tls = (SSLSocket) client.getSocketFactory().createSocket(plain, host,
                        listener.getLocalPort(), false)) {
                    SSLParameters parameters = tls.getSSLParameters();
                    parameters.setEndpointIdentificationAlgorithm("HTTPS");
                    tls.setSSLParameters(parameters);
                    tls.startHandshake();
                    assertThat(tls.getInputStream().read()).isEqualTo(42);
                    presented = (X509Certificate) tls.getSession().getPeerCertificates()[0];
                }
            } catch (Exception e) {
                served.cancel(true);
                throw e;
            }
            // the server's close waits for the client's close_notify: it ends once the client has closed
            assertThat(served.get(10, TimeUnit.SECONDS)).startsWith("TLS");
            return presented;
        }
    }
}
