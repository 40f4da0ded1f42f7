package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PEM private keys in the forms openssl writes, read without a third-party library. The samples under
 * {@code src/test/resources/pem} were made by openssl (see SOURCES.md there).
 */
class PemTest {

    static String resource(String name) throws IOException {
        try (InputStream in = PemTest.class.getResourceAsStream("/pem/" + name)) {
            if (in == null) {
                throw new IOException("no test resource /pem/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    static PublicKey publicKey(String name, String algorithm) throws Exception {
        byte[] der = Pem.decode(resource(name)).get(0).der();
        return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
    }

    /** Whether a signature made with {@code key} verifies with {@code publicKey}. */
    static boolean signsFor(PrivateKey key, PublicKey publicKey) throws GeneralSecurityException {
        String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        byte[] message = "egress-guard".getBytes(StandardCharsets.US_ASCII);
        Signature signer = Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(message);
        Signature verifier = Signature.getInstance(algorithm);
        verifier.initVerify(publicKey);
        verifier.update(message);
        return verifier.verify(signer.sign());
    }

    @Test
    void blocksAreWrittenInLinesOf64CharactersEachEndedByANewline() {
        byte[] der = new byte[100];
        Arrays.fill(der, (byte) 0xab);

        String pem = Pem.encode("PRIVATE KEY", der);

        List<String> lines = pem.lines().toList();
        assertThat(lines.get(0)).isEqualTo("-----BEGIN PRIVATE KEY-----");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("-----END PRIVATE KEY-----");
        assertThat(lines.subList(1, lines.size() - 1)).extracting(String::length).containsExactly(64, 64, 8);
        assertThat(pem).endsWith("-----\n").doesNotContain("\r");
        assertThat(Pem.decode(pem)).singleElement().satisfies(b -> {
            assertThat(b.label()).isEqualTo("PRIVATE KEY");
            assertThat(b.der()).isEqualTo(der);
        });
        assertThat(Pem.encode("X", new byte[48]).lines().toList()).hasSize(3).element(1).isEqualTo("A".repeat(64));
    }

    @Test
    void rsaPkcs1AndPkcs8AreTheSameKey() throws Exception {
        PrivateKey pkcs1 = Pem.privateKey(resource("rsa-pkcs1.pem"));
        PrivateKey pkcs8 = Pem.privateKey(resource("rsa-pkcs8.pem"));

        assertThat(pkcs1).isInstanceOf(RSAPrivateCrtKey.class);
        assertThat(pkcs1.getAlgorithm()).isEqualTo("RSA");
        assertThat(pkcs1.getEncoded()).isEqualTo(pkcs8.getEncoded());
        assertThat(((RSAPrivateCrtKey) pkcs1).getModulus().bitLength()).isEqualTo(2048);
        assertThat(signsFor(pkcs1, publicKey("rsa-public.pem", "RSA"))).isTrue();
    }

    @Test
    void ecSec1AfterItsEcParametersBlockIsTheSameKeyAsItsPkcs8() throws Exception {
        String sec1 = resource("ec-p256-sec1.pem");
        assertThat(Pem.decode(sec1)).extracting(Pem.Block::label).containsExactly("EC PARAMETERS", "EC PRIVATE KEY");

        ECPrivateKey fromSec1 = (ECPrivateKey) Pem.privateKey(sec1);
        ECPrivateKey fromPkcs8 = (ECPrivateKey) Pem.privateKey(resource("ec-p256-pkcs8.pem"));

        assertThat(fromSec1.getAlgorithm()).isEqualTo("EC");
        assertThat(fromSec1.getS()).isEqualTo(fromPkcs8.getS());
        assertThat(fromSec1.getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(signsFor(fromSec1, publicKey("ec-p256-public.pem", "EC"))).isTrue();
        assertThat(signsFor(fromPkcs8, publicKey("ec-p256-public.pem", "EC"))).isTrue();
    }

    @Test
    void ecSec1OnP384TakesItsCurveFromItsParameters() throws Exception {
        String sec1 = resource("ec-p384-sec1.pem");
        assertThat(Pem.decode(sec1)).extracting(Pem.Block::label).containsExactly("EC PRIVATE KEY");

        ECPrivateKey key = (ECPrivateKey) Pem.privateKey(sec1);

        assertThat(key.getParams().getCurve().getField().getFieldSize()).isEqualTo(384);
        assertThat(signsFor(key, publicKey("ec-p384-public.pem", "EC"))).isTrue();
    }

    @Test
    void aKeyWrittenByTheGeneratorReadsBackEqual() {
        PrivateKey key = SelfSignedCertificates.newAuthority(Instant.now(), Duration.ofDays(1)).key();

        String pem = SelfSignedCertificates.pem(key);

        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n").endsWith("-----END PRIVATE KEY-----\n");
        assertThat(Pem.privateKey(pem)).isEqualTo(key);
    }

    @Test
    void anEcKeyWithoutParametersNamesTheProblem() throws Exception {
        ECPrivateKey key = (ECPrivateKey) Pem.privateKey(resource("ec-p256-pkcs8.pem"));
        byte[] s = key.getS().toByteArray();
        byte[] sec1 = Der.sequence(Der.integer(1), Der.octetString(Arrays.copyOfRange(s, s.length - 32, s.length)));

        assertThatThrownBy(() -> Pem.privateKey(Pem.encode("EC PRIVATE KEY", sec1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("EC PRIVATE KEY: no curve named: the parameters are absent");
    }

    @Test
    void anEcKeyWithExplicitCurveParametersNamesTheProblem() {
        assertThatThrownBy(() -> Pem.privateKey(resource("ec-p256-explicit-sec1.pem")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("explicit parameters");
    }

    @ParameterizedTest
    @CsvSource({"rsa-pkcs1-encrypted.pem, 'Proc-Type: 4,ENCRYPTED'",
        "ec-p256-pkcs8-encrypted.pem, ENCRYPTED PRIVATE KEY"})
    void anEncryptedKeyIsRefusedWithTheReason(String file, String form) {
        assertThatThrownBy(() -> Pem.privateKey(resource(file))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the private key is encrypted (" + form + "): an unencrypted key is needed");
    }

    @Test
    void blocksBeforeTheKeyAreSkipped() throws Exception {
        String certificate = SelfSignedCertificates.pem(
                SelfSignedCertificates.newAuthority(Instant.now(), Duration.ofDays(1)).certificate());

        PrivateKey key = Pem.privateKey(certificate + resource("ec-p256-public.pem") + resource("rsa-pkcs1.pem"));

        assertThat(key).isEqualTo(Pem.privateKey(resource("rsa-pkcs8.pem")));
    }

    @Test
    void textWithoutAPrivateKeyHasNone() throws Exception {
        assertThatThrownBy(() -> Pem.privateKey(resource("rsa-public.pem")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no private key");
        assertThatThrownBy(() -> Pem.privateKey("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no private key");
        assertThatThrownBy(() -> Pem.privateKey("not PEM at all")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no private key");
    }

    @Test
    void windowsLineEndsAndSurroundingTextAreAccepted() throws Exception {
        String crlf = "a note\r\n" + resource("ec-p384-sec1.pem").replace("\n", "\r\n") + "trailing text\r\n";

        assertThat(Pem.privateKey(crlf)).isEqualTo(Pem.privateKey(resource("ec-p384-sec1.pem")));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "-----BEGIN PRIVATE KEY-----\nMIGH!!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nBQA=\n-----END PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN DSA PRIVATE KEY-----\nMAA=\n-----END DSA PRIVATE KEY-----\n"})
    void malformedKeysAreRefusedAsIllegalArguments(String pem) {
        assertThatThrownBy(() -> Pem.privateKey(pem)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPkcs8KeyOfAnAlgorithmNoProviderKnowsIsNamedByItsOid() {
        byte[] info = Pem.privateKeyInfo("1.2.3.4", Der.nul(), new byte[] {1, 2, 3});

        assertThatThrownBy(() -> Pem.privateKey(Pem.encode("PRIVATE KEY", info)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("OID 1.2.3.4");
    }

    @Test
    void headersContinuedOnTheNextLineStayHeaders() {
        String pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,\n"
                + " 0011223344556677\n\nMAA=\n-----END RSA PRIVATE KEY-----\n";

        Pem.Block block = Pem.decode(pem).get(0);

        assertThat(block.headers()).containsExactly("Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,0011223344556677");
        assertThat(block.encrypted()).isTrue();
        assertThat(block.der()).isEqualTo(Der.sequence());
    }
}
