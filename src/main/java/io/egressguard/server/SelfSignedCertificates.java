package io.egressguard.server;

import java.io.IOException;
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
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
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
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A CA and a serving certificate for the webhook, made at startup when none is given: EC P-256, the serving
 * certificate valid for {@code localhost}, {@code 127.0.0.1}, {@code ::1} and the in-cluster Service names. Files are
 * written atomically: {@code ca.crt}, {@code tls.crt} (serving certificate then CA), {@code tls.key} (PKCS#8).
 * Existing files are reused while they stay valid for longer than {@link #RENEW_BEFORE}.
 */
public final class SelfSignedCertificates {

    public static final Duration CA_VALIDITY = Duration.ofDays(3650);
    public static final Duration SERVING_VALIDITY = Duration.ofDays(365);
    public static final Duration RENEW_BEFORE = Duration.ofDays(30);

    /** Paths of the three PEM files in a folder. */
    public record Files3(Path caCert, Path cert, Path key) {
        static Files3 in(Path dir) {
            return new Files3(dir.resolve("ca.crt"), dir.resolve("tls.crt"), dir.resolve("tls.key"));
        }
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
        try (var in = Files.newInputStream(files.cert())) {
            Collection<? extends java.security.cert.Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                return false;
            }
            X509Certificate leaf = (X509Certificate) certs.iterator().next();
            if (leaf.getNotAfter().toInstant().isBefore(now.plus(RENEW_BEFORE))) {
                return false;
            }
            List<String> covered = new ArrayList<>();
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                sans.forEach(san -> covered.add(String.valueOf(san.get(1))));
            }
            return covered.containsAll(dnsNames);
        } catch (IOException | GeneralSecurityException e) {
            return false;
        }
    }

    /** Makes a new CA and serving certificate in {@code dir}. */
    public static Files3 generate(Path dir, List<String> dnsNames, Instant now) throws IOException {
        try {
            Files.createDirectories(dir);
            KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
            gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair caKeys = gen.generateKeyPair();
            KeyPair leafKeys = gen.generateKeyPair();
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            Date notBefore = Date.from(now.minus(Duration.ofMinutes(5)));

            X500Name caName = new X500Name("CN=egress-guard-ca");
            X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(), notBefore,
                    Date.from(now.plus(CA_VALIDITY)), caName, caKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(caKeys.getPublic()));
            X509Certificate caCert = sign(ca, caKeys);

            List<GeneralName> names = new ArrayList<>();
            for (String dns : dnsNames) {
                names.add(new GeneralName(GeneralName.dNSName, dns));
            }
            names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
            names.add(new GeneralName(GeneralName.iPAddress, "::1"));
            X509v3CertificateBuilder leaf = new JcaX509v3CertificateBuilder(caCert, serial(), notBefore,
                    Date.from(now.plus(SERVING_VALIDITY)), new X500Name("CN=" + dnsNames.get(dnsNames.size() - 1)),
                    leafKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(GeneralName[]::new)))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(caCert));
            X509Certificate leafCert = sign(leaf, caKeys);

            Files3 files = Files3.in(dir);
            writeAtomically(files.caCert(), pem(caCert));
            writeAtomically(files.key(), pem(new JcaPKCS8Generator(leafKeys.getPrivate(), null).generate()));
            writeAtomically(files.cert(), pem(leafCert) + pem(caCert));
            return files;
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("cannot generate certificates: " + e.getMessage(), e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair issuer)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuer.getPrivate())));
    }

    private static String pem(Object o) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(o);
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
