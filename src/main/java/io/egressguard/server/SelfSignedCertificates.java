package io.egressguard.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

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

    /** Object identifiers: the name attribute, the extensions (RFC 5280 4.2.1), the signature algorithms. */
    private static final String COMMON_NAME = "2.5.4.3";
    static final String SUBJECT_KEY_IDENTIFIER = "2.5.29.14";
    static final String KEY_USAGE = "2.5.29.15";
    static final String SUBJECT_ALTERNATIVE_NAME = "2.5.29.17";
    static final String BASIC_CONSTRAINTS = "2.5.29.19";
    static final String AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";
    static final String EXTENDED_KEY_USAGE = "2.5.29.37";
    static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
    private static final String SHA256_WITH_RSA_ENCRYPTION = "1.2.840.113549.1.1.11";

    /** KeyUsage bits (RFC 5280 4.2.1.3). */
    private static final int DIGITAL_SIGNATURE = 0;
    private static final int KEY_CERT_SIGN = 5;
    private static final int CRL_SIGN = 6;

    /** GeneralName choices (RFC 5280 4.2.1.6). */
    private static final int DNS_NAME = 2;
    private static final int IP_ADDRESS = 7;

    private static final byte[] IPV4_LOOPBACK = {127, 0, 0, 1};
    private static final byte[] IPV6_LOOPBACK = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

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
        return newAuthority(newKeyPair(), now, validity);
    }

    /** {@link #newAuthority(Instant, Duration)} with the given keys, EC or RSA. */
    static Authority newAuthority(KeyPair keys, Instant now, Duration validity) {
        try {
            byte[] name = commonName("egress-guard-ca-" + CA_NAME_TIME.format(now));
            X509Certificate certificate = certificate(name, name, now.minus(Duration.ofMinutes(5)), now.plus(validity),
                    keys.getPublic(), keys.getPrivate(),
                    extension(BASIC_CONSTRAINTS, true, Der.sequence(Der.bool(true), Der.integer(0))),
                    extension(KEY_USAGE, true, Der.namedBits(DIGITAL_SIGNATURE, KEY_CERT_SIGN, CRL_SIGN)),
                    extension(SUBJECT_KEY_IDENTIFIER, false, Der.octetString(keyIdentifier(keys.getPublic()))));
            return new Authority(certificate, keys.getPrivate());
        } catch (GeneralSecurityException e) {
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
            List<byte[]> names = new ArrayList<>();
            for (String dns : dnsNames) {
                names.add(Der.implicit(DNS_NAME, Der.ia5String(dns)));
            }
            names.add(Der.implicit(IP_ADDRESS, Der.octetString(IPV4_LOOPBACK)));
            names.add(Der.implicit(IP_ADDRESS, Der.octetString(IPV6_LOOPBACK)));
            Instant notAfter = now.plus(validity);
            Instant caNotAfter = ca.certificate().getNotAfter().toInstant();
            if (notAfter.isAfter(caNotAfter)) {
                notAfter = caNotAfter;
            }
            X509Certificate certificate = certificate(ca.certificate().getSubjectX500Principal().getEncoded(),
                    commonName(dnsNames.get(dnsNames.size() - 1)), now.minus(Duration.ofMinutes(5)), notAfter,
                    keys.getPublic(), ca.key(),
                    extension(BASIC_CONSTRAINTS, true, Der.sequence()),
                    extension(KEY_USAGE, true, Der.namedBits(DIGITAL_SIGNATURE)),
                    extension(EXTENDED_KEY_USAGE, false, Der.sequence(Der.oid(SERVER_AUTH))),
                    extension(SUBJECT_ALTERNATIVE_NAME, false, Der.sequence(names.toArray(byte[][]::new))),
                    extension(AUTHORITY_KEY_IDENTIFIER, false,
                            Der.sequence(Der.implicit(0, Der.octetString(authorityKeyIdentifier(ca.certificate()))))));
            return new Serving(certificate, keys.getPrivate());
        } catch (GeneralSecurityException e) {
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
            try {
                out.append(Pem.encode(Pem.CERTIFICATE, c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot encode PEM: " + e.getMessage(), e);
            }
        }
        return out.toString();
    }

    /** The PEM text of a private key, as unencrypted PKCS#8 ({@code PRIVATE KEY}). */
    public static String pem(PrivateKey key) {
        byte[] der = key.getEncoded();
        if (der == null || !"PKCS#8".equals(key.getFormat())) {
            throw new IllegalStateException("cannot encode a private key: the " + key.getAlgorithm()
                    + " key has no PKCS#8 encoding");
        }
        return Pem.encode(Pem.PRIVATE_KEY, der);
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
     * {@code RSA PRIVATE KEY} forms. Blocks before the key that are not private keys (a certificate, the
     * {@code EC PARAMETERS} that {@code openssl ecparam -genkey} writes) are skipped.
     *
     * @throws IllegalArgumentException when the text holds no private key, or an encrypted one, or one that does not
     *     parse
     */
    public static PrivateKey parsePrivateKey(String pem) {
        return Pem.privateKey(pem);
    }

    private static boolean verifies(PublicKey publicKey, PrivateKey key) {
        if (!publicKey.getAlgorithm().equals(key.getAlgorithm())) {
            return false;
        }
        String algorithm = signatureAlgorithm(key);
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

    /** The signature algorithm made with {@code key}: SHA-256 with ECDSA or RSA, or null for other keys. */
    private static String signatureAlgorithm(PrivateKey key) {
        return switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            return gen.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot make an EC P-256 key pair: " + e.getMessage(), e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    /**
     * An X.509 v3 certificate (RFC 5280 4.1) signed with {@code issuerKey}, read back by the JDK.
     *
     * @param issuer the issuer's Name, DER
     * @param subject the subject's Name, DER
     * @param extensions Extension elements, in order
     */
    private static X509Certificate certificate(byte[] issuer, byte[] subject, Instant notBefore, Instant notAfter,
            PublicKey publicKey, PrivateKey issuerKey, byte[]... extensions) throws GeneralSecurityException {
        String algorithm = signatureAlgorithm(issuerKey);
        if (algorithm == null) {
            throw new NoSuchAlgorithmException("no signature algorithm for " + issuerKey.getAlgorithm() + " keys");
        }
        // ecdsa-with-SHA256 has no parameters (RFC 5758 3.2), sha256WithRSAEncryption a NULL (RFC 4055 5)
        byte[] algorithmIdentifier = "RSA".equals(issuerKey.getAlgorithm())
                ? Der.sequence(Der.oid(SHA256_WITH_RSA_ENCRYPTION), Der.nul())
                : Der.sequence(Der.oid(ECDSA_WITH_SHA256));
        byte[] tbs = Der.sequence(Der.explicit(0, Der.integer(2)), Der.integer(serial()), algorithmIdentifier, issuer,
                Der.sequence(Der.time(notBefore), Der.time(notAfter)), subject, publicKey.getEncoded(),
                Der.explicit(3, Der.sequence(extensions)));
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(issuerKey);
        signer.update(tbs);
        byte[] der = Der.sequence(tbs, algorithmIdentifier, Der.bitString(signer.sign()));
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    /** An Extension: its OID, the critical flag when set (the default is false), the DER value. */
    private static byte[] extension(String oid, boolean critical, byte[] value) {
        return critical ? Der.sequence(Der.oid(oid), Der.bool(true), Der.octetString(value))
                : Der.sequence(Der.oid(oid), Der.octetString(value));
    }

    /** The Name {@code CN=commonName}, the common name a UTF8String. */
    private static byte[] commonName(String commonName) {
        return Der.sequence(Der.set(Der.sequence(Der.oid(COMMON_NAME), Der.utf8String(commonName))));
    }

    /**
     * The key identifier of a public key: the SHA-1 of the subjectPublicKey BIT STRING's bits (RFC 5280 4.2.1.2,
     * method 1).
     */
    static byte[] keyIdentifier(PublicKey key) throws NoSuchAlgorithmException {
        // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
        List<Der.Element> info = Der.read(key.getEncoded()).children(Der.SEQUENCE);
        return MessageDigest.getInstance("SHA-1").digest(info.get(1).bitStringOctets());
    }

    /**
     * The key identifier that certificates issued by {@code ca} name: its subject key identifier, or the key
     * identifier of its public key when it has none.
     */
    private static byte[] authorityKeyIdentifier(X509Certificate ca) throws NoSuchAlgorithmException {
        byte[] extnValue = ca.getExtensionValue(SUBJECT_KEY_IDENTIFIER);
        if (extnValue == null) {
            return keyIdentifier(ca.getPublicKey());
        }
        // the OCTET STRING extnValue holds SubjectKeyIdentifier ::= OCTET STRING
        return Der.read(Der.read(extnValue).contents(Der.OCTET_STRING)).contents(Der.OCTET_STRING);
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
