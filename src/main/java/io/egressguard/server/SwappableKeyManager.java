package io.egressguard.server;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A server key manager whose certificate and key can be replaced while the TLS context that uses it keeps running.
 * The JDK asks the key manager for an alias, the chain and the key on every full handshake, so a new certificate is
 * served from the next handshake on: no new TLS context, and no moment where connections are refused.
 *
 * <p>Each certificate gets its own alias, and the previous one stays answerable, so a handshake that chose its alias
 * just before a swap still gets the chain and key of that alias.
 */
final class SwappableKeyManager extends X509ExtendedKeyManager {

    private record Entry(String alias, X509Certificate[] chain, PrivateKey key) {
    }

    private final AtomicLong versions = new AtomicLong();
    private volatile Entry current;
    private volatile Entry previous;

    /** Serves {@code chain} (leaf first) with {@code key} from the next handshake on. */
    synchronized void set(X509Certificate[] chain, PrivateKey key) {
        previous = current;
        current = new Entry("serving-" + versions.incrementAndGet(), chain.clone(), key);
    }

    /** The leaf certificate being served, or null before the first {@link #set}. */
    X509Certificate leaf() {
        Entry c = current;
        return c == null ? null : c.chain()[0];
    }

    private String alias(String keyType) {
        Entry c = current;
        if (c == null || keyType == null) {
            return null;
        }
        String algorithm = c.key().getAlgorithm();
        boolean usable = keyType.equals(algorithm) || keyType.startsWith(algorithm + "_")
                || ("RSASSA-PSS".equals(keyType) && "RSA".equals(algorithm));
        return usable ? c.alias() : null;
    }

    private Entry entry(String alias) {
        Entry c = current;
        if (c != null && c.alias().equals(alias)) {
            return c;
        }
        Entry p = previous;
        return p != null && p.alias().equals(alias) ? p : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        String alias = alias(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = entry(alias);
        return e == null ? null : e.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = entry(alias);
        return e == null ? null : e.key();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return null;
    }
}
