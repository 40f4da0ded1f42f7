package io.egressguard.server;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A CA and serving certificates for the webhook: EC P-256, the serving certificate valid for {@code localhost},
 * {@code 127.0.0.1}, {@code ::1} and the in-cluster Service names, with the serverAuth extended key usage.
 *
 * <p>Two uses. Without a certificate and without a Secret, {@code serve} keeps a CA and a serving certificate in a
 * folder ({@link #ensure}): {@code ca.crt}, {@code tls.crt} (serving certificate then CA), {@code tls.key} (PKCS#8),
 * each written atomically and reused while valid for longer than {@link #RENEW_BEFORE}. With self-managed
 * certificates ({@link SelfManagedCertificates}) the same primitives make an {@link Authority} whose key is kept, and
 * issue serving certificates from it again and again ({@link #issue}).
 */
public final class SelfSignedCertificates {

    public static final Duration CA_VALIDITY = Duration.ofDays(3650);
    public static final Duration SERVING_VALIDITY = Duration.ofDays(365);
    public static final Duration RENEW_BEFORE = Duration.ofDays(30);

    private static final DateTimeFormatter CA_NAME_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    /** Paths of the three PEM files in a folder. */
    public record Files3(Path caCert, Path cert, Path key) {
        static Files3 in(Path dir) {
            return new Files3(dir.resolve("ca.crt"), dir.resolve("tls.crt"), dir.resolve("tls.key"));
        }
    }

    /**
     * A CA that can sign: its self-signed certificate and its private key.
     *
     * @param certificate the CA certificate (basic constraints CA, key usage keyCertSign)
     * @param key its private key
     */
    public record Authority(X509Certificate certificate, PrivateKey key) {
    }

    /**
     * A serving certificate and its private key.
     *
     * @param certificate the leaf certificate, issued by an {@link Authority}
     * @param key its private key
     */
    public record Serving(X509Certificate certificate, PrivateKey key) {
    }

    private SelfSignedCertificates() {
    }

    /** The DNS names the serving certificate covers for a Service {@code name} in {@code namespace}. */
    public static List<String> dnsNames(String service, String namespace, String clusterDomain) {
        return List.of("localhost", service, service + "." + namespace, service + "." + namespace + ".svc",
                service + "." + namespace + ".svc." + clusterDomain);
    }

    /** Reuses valid certificates in {@code dir}, or makes new ones. */
    public static Files3 ensure(Path dir, List<String> dnsNames, Instant now) throws IOException {
        Files3 files = Files3.in(dir);
        if (stillValid(files, dnsNames, now)) {
            return files;
        }
        return generate(dir, dnsNames, now);
    }

    static boolean stillValid(Files3 files, List<String> dnsNames, Instant now) {
        if (!Files.isRegularFile(files.cert()) || !Files.isRegularFile(files.key())
                || !Files.isRegularFile(files.caCert())) {
            return false;
        }
        try {
            List<X509Certificate> certs = parseCertificates(Files.readString(files.cert(), StandardCharsets.US_ASCII));
            if (certs.isEmpty()) {
                return false;
            }
            X509Certificate leaf = certs.get(0);
            return !leaf.getNotAfter().toInstant().isBefore(now.plus(RENEW_BEFORE)) && covers(leaf, dnsNames);
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Makes a new CA and serving certificate in {@code dir}. */
    public static Files3 generate(Path dir, List<String> dnsNames, Instant now) throws IOException {
        Files.createDirectories(dir);
        Authority ca = newAuthority(now, CA_VALIDITY);
        Serving serving = issue(ca, dnsNames, now, SERVING_VALIDITY);
        Files3 files = Files3.in(dir);
        writeAtomically(files.caCert(), pem(ca.certificate()));
        writeAtomically(files.key(), pem(serving.key()));
        writeAtomically(files.cert(), pem(serving.certificate(), ca.certificate()));
        return files;
    }

    /**
     * A new self-signed CA, valid from five minutes before {@code now} (clock skew between replicas and the API
     * server) for {@code validity}. Its subject names the time it was made, so that two CAs in one bundle (during a
     * CA rotation) are told apart by name as well as by key identifier.
     */
    public static Authority newAuthority(Instant now, Duration validity) {
        try {
            KeyPair keys = newKeyPair();
            X500Name name = new X500Name("CN=egress-guard-ca-" + CA_NAME_TIME.format(now));
            X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), name, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
            return new Authority(sign(ca, keys.getPrivate()), keys.getPrivate());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make a CA: " + e.getMessage(), e);
        }
    }

    /**
     * A serving certificate from {@code ca} with a new key, for {@code dnsNames} plus the loopback addresses, valid
     * from five minutes before {@code now} for {@code validity} (never past the CA's own expiry).
     */
    public static Serving issue(Authority ca, List<String> dnsNames, Instant now, Duration validity) {
        try {
            KeyPair keys = newKeyPair();
            List<GeneralName> names = new ArrayList<>();
            for (String dns : dnsNames) {
                names.add(new GeneralName(GeneralName.dNSName, dns));
            }
            names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
            names.add(new GeneralName(GeneralName.iPAddress, "::1"));
            Instant notAfter = now.plus(validity);
            Instant caNotAfter = ca.certificate().getNotAfter().toInstant();
            if (notAfter.isAfter(caNotAfter)) {
                notAfter = caNotAfter;
            }
            X509v3CertificateBuilder leaf = new JcaX509v3CertificateBuilder(ca.certificate(), serial(),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(notAfter),
                    new X500Name("CN=" + dnsNames.get(dnsNames.size() - 1)), keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(GeneralName[]::new)))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(ca.certificate()));
            return new Serving(sign(leaf, ca.key()), keys.getPrivate());
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot issue a serving certificate: " + e.getMessage(), e);
        }
    }

    /** Whether the certificate's subject alternative names include every one of {@code dnsNames}. */
    public static boolean covers(X509Certificate cert, List<String> dnsNames) {
        try {
            List<String> covered = new ArrayList<>();
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                sans.forEach(san -> covered.add(String.valueOf(san.get(1))));
            }
            return covered.containsAll(dnsNames);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** Whether {@code key} is the private key of {@code cert}: a signature made with it verifies. */
    public static boolean matches(X509Certificate cert, PrivateKey key) {
        return verifies(cert.getPublicKey(), key);
    }

    /** Whether {@code cert} was signed by {@code issuer}'s key. */
    public static boolean issuedBy(X509Certificate cert, X509Certificate issuer) {
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The PEM text of certificates, in order. */
    public static String pem(X509Certificate... certs) {
        StringBuilder out = new StringBuilder();
        for (X509Certificate c : certs) {
            out.append(pemObject(c));
        }
        return out.toString();
    }

    /** The PEM text of a private key, as unencrypted PKCS#8 ({@code PRIVATE KEY}). */
    public static String pem(PrivateKey key) {
        try {
            return pemObject(new JcaPKCS8Generator(key, null).generate());
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode a private key: " + e.getMessage(), e);
        }
    }

    /**
     * The certificates of a PEM text, in order.
     *
     * @throws IllegalArgumentException when the text holds no certificate or a certificate that does not parse
     */
    public static List<X509Certificate> parseCertificates(String pem) {
        try {
            Collection<? extends java.security.cert.Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("no certificate");
            }
            List<X509Certificate> out = new ArrayList<>();
            certs.forEach(c -> out.add((X509Certificate) c));
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a PEM certificate: " + e.getMessage(), e);
        }
    }

    /**
     * The private key of a PEM text: PKCS#8 ({@code PRIVATE KEY}), or the traditional {@code EC PRIVATE KEY} and
     * {@code RSA PRIVATE KEY} forms.
     *
     * @throws IllegalArgumentException when the text holds no unencrypted private key
     */
    public static PrivateKey parsePrivateKey(String pem) {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return converter.getKeyPair(pair).getPrivate();
                }
            }
            throw new IllegalArgumentException("no private key");
        } catch (IOException e) {
            throw new IllegalArgumentException("not a PEM private key: " + e.getMessage(), e);
        }
    }

    private static boolean verifies(PublicKey publicKey, PrivateKey key) {
        if (!publicKey.getAlgorithm().equals(key.getAlgorithm())) {
            return false;
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (algorithm == null) {
            return false;
        }
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
        gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return gen.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey)
            throws OperatorCreationException, GeneralSecurityException {
        String algorithm = "RSA".equals(issuerKey.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
    }

    private static String pemObject(Object o) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode PEM: " + e.getMessage(), e);
        }
        return sw.toString();
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
