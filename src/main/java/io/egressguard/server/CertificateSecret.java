package io.egressguard.server;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the certificate Secret of self-managed certificates holds, as PEM texts (the Secret stores them base64
 * encoded, under the same keys cert-manager uses, plus the CA's key):
 *
 * <ul>
 *   <li>{@code ca.crt}: the CA bundle the API server trusts: the CA that signs, first, then (during a CA rotation)
 *       the other CA;</li>
 *   <li>{@code ca.key}: the private key of the CA that signs, to issue serving certificates again;</li>
 *   <li>{@code tls.crt}: the serving certificate, then the CA that issued it;</li>
 *   <li>{@code tls.key}: the serving certificate's private key;</li>
 *   <li>{@code next-ca.key}: during a CA rotation only, the key of the new CA, already in the bundle but not signing
 *       yet;</li>
 *   <li>the annotation {@code egressguard.io/ca-bundle-changed-at}: when {@code ca.crt} last changed, which paces the
 *       steps of a CA rotation.</li>
 * </ul>
 *
 * Any field may be null when read from a Secret that lacks it or holds something that is not base64.
 *
 * @param caCrt the CA bundle (PEM)
 * @param caKey the signing CA's private key (PEM)
 * @param tlsCrt the serving certificate and its CA (PEM)
 * @param tlsKey the serving certificate's private key (PEM)
 * @param nextCaKey the pending CA's private key (PEM), or null outside a CA rotation
 * @param bundleChangedAt when the CA bundle last changed, or null when unknown
 */
public record CertificateSecret(String caCrt, String caKey, String tlsCrt, String tlsKey, String nextCaKey,
        Instant bundleChangedAt) {

    public static final String CA_CRT = "ca.crt";
    public static final String CA_KEY = "ca.key";
    public static final String TLS_CRT = "tls.crt";
    public static final String TLS_KEY = "tls.key";
    public static final String NEXT_CA_KEY = "next-ca.key";
    public static final String BUNDLE_CHANGED_AT = "egressguard.io/ca-bundle-changed-at";
    /** The type kubelets and ingress controllers know; it requires {@code tls.crt} and {@code tls.key}. */
    public static final String TYPE = "kubernetes.io/tls";

    /** Reads the fields of a Secret; what is missing or not base64 is null. */
    public static CertificateSecret from(Secret secret) {
        Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
        Map<String, String> annotations = secret.getMetadata() == null
                || secret.getMetadata().getAnnotations() == null ? Map.of() : secret.getMetadata().getAnnotations();
        Instant changedAt = null;
        String at = annotations.get(BUNDLE_CHANGED_AT);
        if (at != null) {
            try {
                changedAt = Instant.parse(at);
            } catch (DateTimeParseException e) {
                changedAt = null;
            }
        }
        return new CertificateSecret(decode(data.get(CA_CRT)), decode(data.get(CA_KEY)), decode(data.get(TLS_CRT)),
                decode(data.get(TLS_KEY)), decode(data.get(NEXT_CA_KEY)), changedAt);
    }

    /**
     * The Secret to write: {@code existing} (keeping its metadata, resourceVersion and any other keys) with these
     * fields, or a new Secret of type {@value #TYPE} when there is none.
     */
    public Secret toSecret(Secret existing, String namespace, String name) {
        SecretBuilder b = existing == null
                ? new SecretBuilder().withNewMetadata().withNamespace(namespace).withName(name)
                        .addToLabels("app.kubernetes.io/name", "egress-guard").endMetadata().withType(TYPE)
                : new SecretBuilder(existing);
        Map<String, String> data = new LinkedHashMap<>(existing == null || existing.getData() == null ? Map.of()
                : existing.getData());
        data.put(CA_CRT, encode(caCrt));
        data.put(CA_KEY, encode(caKey));
        data.put(TLS_CRT, encode(tlsCrt));
        data.put(TLS_KEY, encode(tlsKey));
        if (nextCaKey == null) {
            data.remove(NEXT_CA_KEY);
        } else {
            data.put(NEXT_CA_KEY, encode(nextCaKey));
        }
        b.withData(data).withStringData(null);
        if (bundleChangedAt != null) {
            b.editMetadata().addToAnnotations(BUNDLE_CHANGED_AT, bundleChangedAt.toString()).endMetadata();
        }
        return b.build();
    }

    private static String decode(String base64) {
        if (base64 == null) {
            return null;
        }
        try {
            return new String(Base64.getDecoder().decode(base64), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String encode(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
    }
}
