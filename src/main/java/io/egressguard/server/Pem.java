package io.egressguard.server;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * PEM text (RFC 7468): blocks written with 64-character lines, and private keys read in the unencrypted forms that
 * openssl and cert-manager write: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) and SEC 1
 * ({@code EC PRIVATE KEY}, possibly after an {@code EC PARAMETERS} block).
 */
final class Pem {

    static final String CERTIFICATE = "CERTIFICATE";
    static final String PRIVATE_KEY = "PRIVATE KEY";
    private static final String RSA_PRIVATE_KEY = "RSA PRIVATE KEY";
    private static final String EC_PRIVATE_KEY = "EC PRIVATE KEY";
    private static final String ENCRYPTED_PRIVATE_KEY = "ENCRYPTED PRIVATE KEY";

    /** The algorithms of PKCS#1 and SEC 1 keys, for their PKCS#8 PrivateKeyInfo. */
    private static final String RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
    private static final String EC_PUBLIC_KEY = "1.2.840.10045.2.1";

    private static final int LINE = 64;

    private Pem() {
    }

    /**
     * One block of a PEM text.
     *
     * @param label the word between {@code BEGIN} and the dashes, such as {@code CERTIFICATE}
     * @param headers the RFC 1421 header lines before the base64 text ({@code Proc-Type: 4,ENCRYPTED}), if any
     * @param base64 the contents, base64 without line breaks
     */
    record Block(String label, List<String> headers, String base64) {

        /**
         * The decoded contents.
         *
         * @throws IllegalArgumentException when they are not base64
         */
        byte[] der() {
            try {
                return Base64.getDecoder().decode(base64);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the PEM block " + label + " is not base64: " + e.getMessage(), e);
            }
        }

        /** Whether an RFC 1421 header says that the contents are encrypted. */
        boolean encrypted() {
            return headers.stream().anyMatch(h -> h.startsWith("Proc-Type:") && h.contains("ENCRYPTED"));
        }
    }

    /** The PEM block of {@code der} under {@code label}: base64 in lines of 64 characters, each ended by a newline. */
    static String encode(String label, byte[] der) {
        String base64 = Base64.getEncoder().encodeToString(der);
        StringBuilder out = new StringBuilder(base64.length() + base64.length() / LINE + 2 * label.length() + 40);
        out.append("-----BEGIN ").append(label).append("-----\n");
        for (int i = 0; i < base64.length(); i += LINE) {
            out.append(base64, i, Math.min(base64.length(), i + LINE)).append('\n');
        }
        return out.append("-----END ").append(label).append("-----\n").toString();
    }

    /**
     * The blocks of a PEM text, in order; text outside the blocks is left aside.
     *
     * @throws IllegalArgumentException when a block has no END line
     */
    static List<Block> decode(String text) {
        List<Block> blocks = new ArrayList<>();
        String label = null;
        List<String> headers = new ArrayList<>();
        StringBuilder body = new StringBuilder();
        for (String raw : text.split("\r\n|\r|\n")) {
            String line = raw.strip();
            if (label == null) {
                if (line.startsWith("-----BEGIN ") && line.endsWith("-----") && line.length() > 16) {
                    label = line.substring("-----BEGIN ".length(), line.length() - "-----".length());
                    headers.clear();
                    body.setLength(0);
                }
            } else if (line.startsWith("-----END ")) {
                if (!line.equals("-----END " + label + "-----")) {
                    throw new IllegalArgumentException("the PEM block " + label + " ends with " + line);
                }
                blocks.add(new Block(label, List.copyOf(headers), body.toString()));
                label = null;
            } else if (line.contains(":")) {
                headers.add(line);
            } else if (!headers.isEmpty() && body.isEmpty() && !line.isEmpty()
                    && Character.isWhitespace(raw.charAt(0))) {
                // a header continued on the next line
                headers.set(headers.size() - 1, headers.get(headers.size() - 1) + line);
            } else {
                body.append(line);
            }
        }
        if (label != null) {
            throw new IllegalArgumentException("the PEM block " + label + " has no END line");
        }
        return blocks;
    }

    /**
     * The first private key of a PEM text; the blocks before it that are not private keys (certificates, EC
     * parameters) are skipped.
     *
     * @throws IllegalArgumentException when the text holds no private key, or the first one is encrypted, malformed,
     *     of another form or of an algorithm that no provider knows
     */
    static PrivateKey privateKey(String text) {
        for (Block block : decode(text)) {
            if (block.label().equals(ENCRYPTED_PRIVATE_KEY)
                    || block.label().endsWith(PRIVATE_KEY) && block.encrypted()) {
                throw new IllegalArgumentException("the private key is encrypted (" + (block.encrypted()
                        ? "Proc-Type: 4,ENCRYPTED" : ENCRYPTED_PRIVATE_KEY) + "): an unencrypted key is needed");
            }
            try {
                switch (block.label()) {
                    case PRIVATE_KEY:
                        return fromPkcs8(block.der());
                    case RSA_PRIVATE_KEY:
                        return fromPkcs8(privateKeyInfo(RSA_ENCRYPTION, Der.nul(), block.der()));
                    case EC_PRIVATE_KEY:
                        return fromPkcs8(privateKeyInfo(EC_PUBLIC_KEY, curve(block.der()), block.der()));
                    default:
                        if (block.label().endsWith(PRIVATE_KEY)) {
                            throw new IllegalArgumentException("not supported: PKCS#8 (" + PRIVATE_KEY + "), "
                                    + RSA_PRIVATE_KEY + " or " + EC_PRIVATE_KEY + " is needed");
                        }
                        break;
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(block.label() + ": " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException("no private key");
    }

    /** A PKCS#8 PrivateKeyInfo: version 0, the algorithm {@code oid} with {@code parameters}, the key. */
    static byte[] privateKeyInfo(String oid, byte[] parameters, byte[] key) {
        return Der.sequence(Der.integer(0), Der.sequence(Der.oid(oid), parameters), Der.octetString(key));
    }

    /** The parameters of a SEC 1 ECPrivateKey: the OID of its named curve, inside its {@code [0]}. */
    private static byte[] curve(byte[] sec1) {
        // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] ECParameters OPTIONAL, [1] publicKey }
        List<Der.Element> fields = Der.read(sec1).children(Der.SEQUENCE);
        for (Der.Element field : fields.subList(Math.min(2, fields.size()), fields.size())) {
            if (field.isContext(0)) {
                Der.Element parameters = Der.read(field.contents());
                if (parameters.tag() != Der.OBJECT_IDENTIFIER) {
                    throw new IllegalArgumentException("the curve is given by explicit parameters: a named curve (an "
                            + "OID) is needed");
                }
                return parameters.encoding();
            }
        }
        throw new IllegalArgumentException("no curve named: the parameters are absent");
    }

    private static PrivateKey fromPkcs8(byte[] der) {
        // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier ::= SEQUENCE { OID, parameters }, key }
        List<Der.Element> info = Der.read(der).children(Der.SEQUENCE);
        if (info.size() < 3) {
            throw new IllegalArgumentException("a PrivateKeyInfo of " + info.size() + " fields");
        }
        List<Der.Element> algorithmIdentifier = info.get(1).children(Der.SEQUENCE);
        if (algorithmIdentifier.isEmpty()) {
            throw new IllegalArgumentException("a PrivateKeyInfo without an algorithm");
        }
        String oid = Der.oidString(algorithmIdentifier.get(0).contents(Der.OBJECT_IDENTIFIER));
        String algorithm = switch (oid) {
            case RSA_ENCRYPTION -> "RSA";
            case EC_PUBLIC_KEY -> "EC";
            default -> oid;
        };
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("a private key of an unknown algorithm (OID " + oid + ")", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a valid " + algorithm + " private key: " + e.getMessage(), e);
        }
    }
}
