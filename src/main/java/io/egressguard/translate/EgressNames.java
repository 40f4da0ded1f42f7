package io.egressguard.translate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Every name Egress Guard gives to a generated object. Names are DNS-1123 labels: lower case, digits and dashes, at
 * most 63 characters; a name that would be longer is cut and ends with a dash and 8 hex digits of the SHA-256 of the
 * full name, so two long names that share a prefix stay distinct.
 */
public final class EgressNames {

    /** Longest DNS-1123 label. */
    public static final int MAX_LENGTH = 63;
    /** Name of the namespace-wide Sidecar in every enforced namespace. */
    public static final String SIDECAR = "egress-guard";
    /** Name of the NetworkPolicy that denies egress in every enforced namespace. */
    public static final String DENY_EGRESS_POLICY = "egress-guard-deny-egress";

    private static final int HASH_LENGTH = 8;

    private EgressNames() {
    }

    /** The ServiceEntry of one ExternalService: {@code externalservice-<name>-<namespace>}. */
    public static String serviceEntry(String namespace, String name) {
        return label("externalservice-" + name + "-" + namespace);
    }

    /** The VirtualService that routes one external host through its gateways: {@code egress-<host>}. */
    public static String virtualService(String host) {
        return label("egress-" + hostLabel(host));
    }

    /** The DestinationRule that originates TLS to one external host at the gateway: {@code egress-<host>}. */
    public static String tlsOrigination(String host) {
        return label("egress-" + hostLabel(host));
    }

    /** The Istio Gateway of one VirtualGateway: {@code virtualgateway-<name>-<namespace>}. */
    public static String gateway(String namespace, String name) {
        return label("virtualgateway-" + name + "-" + namespace);
    }

    /**
     * The DestinationRule for a gateway Service (mutual TLS from the sidecars), which lives in the settings' gateway
     * namespace whatever the Service's namespace: {@code egressgateway-<service>-<namespace>}.
     */
    public static String gatewayDestinationRule(String namespace, String service) {
        return label("egressgateway-" + service + "-" + namespace);
    }

    /** The AuthorizationPolicy on the gateway pods: {@code egress-guard-<service>}. */
    public static String authorizationPolicy(String service) {
        return label("egress-guard-" + service);
    }

    /** The DestinationRule subset of the gateway Service that carries one external host. */
    public static String subset(String host) {
        return label(hostLabel(host));
    }

    /** The name of a port that Egress Guard adds (a gateway server, a ServiceEntry port): {@code <protocol>-<number>}. */
    public static String port(String protocol, int number) {
        return label(protocol + "-" + number);
    }

    /**
     * Turns any text into a DNS-1123 label: lower case, every run of other characters becomes one dash, no dash at
     * either end, and a hash suffix when longer than 63 characters.
     */
    public static String label(String raw) {
        String lower = raw.toLowerCase(Locale.ROOT);
        StringBuilder b = new StringBuilder(lower.length());
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (ok) {
                b.append(c);
            } else if (b.length() > 0 && b.charAt(b.length() - 1) != '-') {
                b.append('-');
            }
        }
        while (b.length() > 0 && b.charAt(b.length() - 1) == '-') {
            b.setLength(b.length() - 1);
        }
        if (b.length() <= MAX_LENGTH) {
            return b.toString();
        }
        String head = b.substring(0, MAX_LENGTH - HASH_LENGTH - 1);
        while (head.endsWith("-")) {
            head = head.substring(0, head.length() - 1);
        }
        return head + "-" + sha256(raw).substring(0, HASH_LENGTH);
    }

    /** {@code *.example.com} becomes {@code wildcard.example.com}, so the wildcard stays visible in names. */
    private static String hostLabel(String host) {
        return host.startsWith("*.") ? "wildcard." + host.substring(2) : host;
    }

    private static String sha256(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
