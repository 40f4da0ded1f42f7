package io.egressguard.server;

import io.egressguard.server.SelfSignedCertificates.Authority;
import io.egressguard.server.SelfSignedCertificates.Serving;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.WebhookClientConfig;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Self-managed certificates ({@code serve --tls-secret NAME}): Egress Guard keeps its CA and serving certificate in a
 * Secret of its own namespace, patches the CA into the {@code caBundle} of its own webhook configurations, renews the
 * serving certificate before it expires and rotates the CA, with no restart and no cert-manager.
 *
 * <p>Every replica runs the same {@link #sync()}, at startup and then every {@link Options#syncInterval()}:
 *
 * <ol>
 *   <li>read the Secret and decide what it should hold ({@link #plan}): a new CA and serving certificate when it is
 *       missing or unusable; a serving certificate issued again from the kept CA when it expires within the last
 *       third of its validity, no longer covers the Service names, or does not match its key or its CA; the steps of
 *       a CA rotation when the CA itself enters the last third of its validity;</li>
 *   <li>write it, with optimistic concurrency: replicas starting together all try to create the Secret, one wins and
 *       the others get 409 Conflict, read the winner's Secret and use it; an update carries the resourceVersion read,
 *       so of two replicas renewing at once one wins and the other adopts its result;</li>
 *   <li>set {@code webhooks[*].clientConfig.caBundle} of the ValidatingWebhookConfiguration and
 *       MutatingWebhookConfiguration to {@code ca.crt}, only where it differs (an update with the resourceVersion
 *       read, retried on conflict), so a re-created webhook configuration gets its CA back within one interval;</li>
 *   <li>then write the PEM files the HTTPS server serves from ({@link PemDirectory}, atomically) when they differ
 *       from the Secret: this is how a replica picks up what another wrote; {@link ServingCertificate} serves them
 *       from its next check on. Coming after the caBundle, a certificate from a new CA is never served before the
 *       API server trusts that CA.</li>
 * </ol>
 *
 * <p>A CA rotation never leaves the API server without trust in the certificate being served: first the new CA is
 * added to the bundle (both CAs trusted, the old one still signing); after {@link Options#caOverlap()} the new CA
 * signs a new serving certificate, which replicas pick up from the Secret; after another overlap the old CA leaves
 * the bundle.
 */
public final class SelfManagedCertificates implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(SelfManagedCertificates.class);
    private static final int MAX_ATTEMPTS = 5;

    /**
     * Where the certificates live and how long they last.
     *
     * @param namespace Egress Guard's own namespace, which holds the Secret
     * @param secretName the Secret's name
     * @param webhookConfigurationName the name of both webhook configurations whose caBundle is set
     * @param dnsNames the names the serving certificate must cover (the Service's)
     * @param servingValidity how long a serving certificate is valid; it is renewed when a third of it remains
     * @param caValidity how long a CA is valid; it is rotated when a third of it remains
     * @param caOverlap how long each step of a CA rotation waits before the next: the new CA is trusted for that long
     *     before it signs, and the old one stays trusted for that long after it stops signing
     * @param syncInterval how often each replica reads the Secret and the webhook configurations
     */
    public record Options(String namespace, String secretName, String webhookConfigurationName, List<String> dnsNames,
            Duration servingValidity, Duration caValidity, Duration caOverlap, Duration syncInterval) {

        public static final String SERVICE = "egress-guard";
        public static final String WEBHOOK_CONFIGURATION = "egress-guard";
        public static final Duration SERVING_VALIDITY = Duration.ofDays(90);
        public static final Duration CA_VALIDITY = Duration.ofDays(3650);
        public static final Duration CA_OVERLAP = Duration.ofHours(1);
        public static final Duration SYNC_INTERVAL = Duration.ofMinutes(1);

        public Options {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(secretName, "secretName");
            dnsNames = List.copyOf(dnsNames);
        }

        /** The defaults for the Secret {@code secretName} in {@code namespace}, for the Service egress-guard. */
        public static Options defaults(String namespace, String secretName, String clusterDomain) {
            return new Options(namespace, secretName, WEBHOOK_CONFIGURATION,
                    SelfSignedCertificates.dnsNames(SERVICE, namespace, clusterDomain), SERVING_VALIDITY, CA_VALIDITY,
                    CA_OVERLAP, SYNC_INTERVAL);
        }
    }

    /**
     * What one {@link #sync()} found and did.
     *
     * @param secret what the Secret holds now (and the files)
     * @param changes what this replica changed, in words (empty when nothing)
     * @param warnings what it could not do, such as a missing webhook configuration
     */
    public record Result(CertificateSecret secret, List<String> changes, List<String> warnings) {
    }

    /**
     * What the Secret should hold, and why it differs from what it holds.
     *
     * @param secret the contents to write, or the current ones when {@code reasons} is empty
     * @param reasons why each change is made
     */
    record Plan(CertificateSecret secret, List<String> reasons) {
    }

    private final KubernetesClient client;
    private final Options options;
    private final PemDirectory directory;
    private final Clock clock;
    private final Set<String> warned = new LinkedHashSet<>();
    private final Object schedulerLock = new Object();
    private ScheduledExecutorService scheduler;

    /**
     * @param client the cluster (the caller keeps it and closes it)
     * @param options the Secret and the certificates' lifetimes
     * @param directory where the PEM files Quarkus serves from are written
     * @param clock the time certificates are judged and issued at
     */
    public SelfManagedCertificates(KubernetesClient client, Options options, PemDirectory directory, Clock clock) {
        this.client = client;
        this.options = options;
        this.directory = directory;
        this.clock = clock;
    }

    /** The PEM files the HTTPS server serves from. */
    public PemDirectory directory() {
        return directory;
    }

    /**
     * Reads the Secret, writes it when it must change, writes the PEM files when they differ, and sets the caBundle
     * of both webhook configurations.
     *
     * @throws IOException when the PEM files cannot be written
     * @throws KubernetesClientException when the Secret cannot be read or written
     */
    public synchronized Result sync() throws IOException {
        List<String> changes = new ArrayList<>();
        for (int attempt = 1;; attempt++) {
            Secret existing = secrets().withName(options.secretName()).get();
            CertificateSecret current = existing == null ? null : CertificateSecret.from(existing);
            Plan plan = plan(current, options, clock.instant());
            if (!plan.reasons().isEmpty()) {
                Secret desired = plan.secret().toSecret(existing, options.namespace(), options.secretName());
                try {
                    if (existing == null) {
                        secrets().resource(desired).create();
                    } else {
                        secrets().resource(desired).update();
                    }
                } catch (KubernetesClientException e) {
                    if (e.getCode() == 409 && attempt < MAX_ATTEMPTS) {
                        // another replica wrote first: read what it wrote and judge that instead
                        continue;
                    }
                    throw e;
                }
                String what = (existing == null ? "created" : "updated") + " Secret " + options.namespace() + "/"
                        + options.secretName() + ": ";
                plan.reasons().forEach(r -> changes.add(what + r));
            }
            CertificateSecret s = plan.secret();
            // the caBundle first: a certificate from a new CA is served only once the API server trusts that CA
            List<String> warnings = new ArrayList<>();
            String bundle = Base64.getEncoder().encodeToString(s.caCrt().getBytes(StandardCharsets.US_ASCII));
            setCaBundle("ValidatingWebhookConfiguration",
                    client.admissionRegistration().v1().validatingWebhookConfigurations(),
                    c -> c.getWebhooks() == null ? List.of()
                            : c.getWebhooks().stream().map(ValidatingWebhook::getClientConfig).toList(),
                    bundle, changes, warnings);
            setCaBundle("MutatingWebhookConfiguration",
                    client.admissionRegistration().v1().mutatingWebhookConfigurations(),
                    c -> c.getWebhooks() == null ? List.of()
                            : c.getWebhooks().stream().map(MutatingWebhook::getClientConfig).toList(),
                    bundle, changes, warnings);
            if (directory.write(new PemDirectory.Contents(s.caCrt(), s.tlsCrt(), s.tlsKey()))) {
                changes.add("serving certificate " + serial(s.tlsCrt()) + " written to " + directory.files().cert());
            }
            return new Result(s, List.copyOf(changes), List.copyOf(warnings));
        }
    }

    /** Runs {@link #sync()} every {@link Options#syncInterval()} on a daemon thread, logging what it changes. */
    public void start() {
        synchronized (schedulerLock) {
            if (scheduler != null) {
                return;
            }
            scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "egress-guard-certificates");
                t.setDaemon(true);
                return t;
            });
            long every = options.syncInterval().toMillis();
            scheduler.scheduleWithFixedDelay(this::syncAndLog, every, every, TimeUnit.MILLISECONDS);
        }
    }

    private void syncAndLog() {
        try {
            Result r = sync();
            r.changes().forEach(LOG::info);
            report(r.warnings());
        } catch (IOException | RuntimeException e) {
            LOG.warnf("certificates: cannot sync with Secret %s/%s (%s); the current certificate stays in use, next"
                    + " attempt in %s", options.namespace(), options.secretName(), e.getMessage(),
                    format(options.syncInterval()));
        }
    }

    /** Logs each warning once, until it goes away. */
    private void report(List<String> warnings) {
        synchronized (warned) {
            warned.retainAll(warnings);
            for (String w : warnings) {
                if (warned.add(w)) {
                    LOG.warn(w);
                }
            }
        }
    }

    /** Stops the periodic sync; a sync in progress is interrupted. The client stays open (the caller owns it). */
    @Override
    public void close() {
        synchronized (schedulerLock) {
            if (scheduler != null) {
                scheduler.shutdownNow();
                scheduler = null;
            }
        }
    }

    /** A duration as in the configuration: {@code 1m}, {@code 90s}, {@code 2160h}. */
    public static String format(Duration d) {
        return d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    }

    private NonNamespaceOperation<Secret, io.fabric8.kubernetes.api.model.SecretList, Resource<Secret>> secrets() {
        return client.secrets().inNamespace(options.namespace());
    }

    private <T extends HasMetadata> void setCaBundle(String kind, NonNamespaceOperation<T, ?, Resource<T>> ops,
            Function<T, List<WebhookClientConfig>> clientConfigs, String bundle, List<String> changes,
            List<String> warnings) {
        String name = options.webhookConfigurationName();
        try {
            for (int attempt = 1;; attempt++) {
                T config = ops.withName(name).get();
                if (config == null) {
                    warnings.add(kind + " " + name + " does not exist: its caBundle cannot be set");
                    return;
                }
                int changed = 0;
                for (WebhookClientConfig c : clientConfigs.apply(config)) {
                    if (c != null && !bundle.equals(c.getCaBundle())) {
                        c.setCaBundle(bundle);
                        changed++;
                    }
                }
                if (changed == 0) {
                    return;
                }
                try {
                    ops.resource(config).update();
                    changes.add("caBundle set on " + changed + " webhook" + (changed == 1 ? "" : "s") + " of " + kind
                            + " " + name);
                    return;
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409 || attempt >= MAX_ATTEMPTS) {
                        throw e;
                    }
                }
            }
        } catch (KubernetesClientException e) {
            warnings.add(kind + " " + name + ": cannot set caBundle: " + e.getMessage());
        }
    }

    /**
     * What the Secret should hold at {@code now}, given what it holds ({@code current}, null when it does not
     * exist). Pure: the same inputs give the same decisions (new keys aside).
     */
    static Plan plan(CertificateSecret current, Options options, Instant now) {
        List<String> reasons = new ArrayList<>();
        if (current == null) {
            return fresh(List.of(), options, now, "made a new CA and serving certificate");
        }
        List<X509Certificate> bundle;
        try {
            bundle = current.caCrt() == null ? List.of() : SelfSignedCertificates.parseCertificates(current.caCrt());
        } catch (IllegalArgumentException e) {
            bundle = List.of();
        }
        List<X509Certificate> stillValid = bundle.stream().filter(c -> c.getNotAfter().toInstant().isAfter(now))
                .toList();
        Authority signing = authority(current.caKey(), bundle);
        if (signing == null) {
            return fresh(stillValid, options, now, (current.caCrt() == null || current.caKey() == null
                    ? "ca.crt or ca.key is missing" : "ca.key is not the key of a CA in ca.crt")
                    + ": made a new CA and serving certificate");
        }
        if (!signing.certificate().getNotAfter().toInstant().isAfter(now)) {
            return fresh(stillValid, options, now, "the CA " + name(signing.certificate()) + " expired on "
                    + signing.certificate().getNotAfter().toInstant() + ": made a new CA and serving certificate");
        }

        List<X509Certificate> others = new ArrayList<>();
        for (X509Certificate c : bundle) {
            if (c.equals(signing.certificate())) {
                continue;
            }
            if (stillValid.contains(c)) {
                others.add(c);
            } else {
                reasons.add("removed the expired CA " + name(c) + " from ca.crt");
            }
        }
        Authority next = current.nextCaKey() == null ? null : authority(current.nextCaKey(), others);
        if (current.nextCaKey() != null && next == null) {
            reasons.add("next-ca.key is not the key of a CA in ca.crt: removed it");
        }
        Authority kept = signing;
        // a bundle with no recorded change time is treated as long settled
        Instant changedAt = current.bundleChangedAt() == null ? Instant.EPOCH : current.bundleChangedAt();
        boolean overlapOver = !now.isBefore(changedAt.plus(options.caOverlap()));
        boolean reissue = false;
        if (next != null && overlapOver) {
            others.remove(next.certificate());
            others.add(0, signing.certificate());
            reasons.add("the CA " + name(next.certificate()) + " signs from now on; the previous CA "
                    + name(signing.certificate()) + " stays trusted until " + now.plus(options.caOverlap()));
            signing = next;
            next = null;
            changedAt = now;
            reissue = true;
        } else if (next == null && renewalDue(signing.certificate(), now)) {
            next = SelfSignedCertificates.newAuthority(now, options.caValidity());
            others.add(next.certificate());
            reasons.add("the CA " + name(signing.certificate()) + " expires on "
                    + signing.certificate().getNotAfter().toInstant() + ": added the new CA "
                    + name(next.certificate()) + " to ca.crt; it signs from " + now.plus(options.caOverlap()));
            changedAt = now;
        } else if (next == null && !others.isEmpty() && overlapOver) {
            others.forEach(c -> reasons.add("removed the previous CA " + name(c) + " from ca.crt"));
            others.clear();
            changedAt = now;
        }

        String tlsCrt = current.tlsCrt();
        String tlsKey = current.tlsKey();
        String servingProblem = reissue ? null : servingProblem(current, signing, options.dnsNames(), now);
        if (reissue || servingProblem != null) {
            Serving serving = SelfSignedCertificates.issue(signing, options.dnsNames(), now,
                    options.servingValidity());
            tlsCrt = SelfSignedCertificates.pem(serving.certificate(), signing.certificate());
            tlsKey = SelfSignedCertificates.pem(serving.key());
            if (servingProblem != null) {
                reasons.add(servingProblem + ": issued serving certificate " + serving.certificate().getSerialNumber()
                        .toString(16) + " from the CA " + name(signing.certificate()));
            }
        }
        if (reasons.isEmpty()) {
            return new Plan(current, List.of());
        }
        List<X509Certificate> newBundle = new ArrayList<>();
        newBundle.add(signing.certificate());
        newBundle.addAll(others);
        String caKey = signing == kept ? current.caKey() : SelfSignedCertificates.pem(signing.key());
        return new Plan(new CertificateSecret(SelfSignedCertificates.pem(newBundle.toArray(X509Certificate[]::new)),
                caKey, tlsCrt, tlsKey, next == null ? null : SelfSignedCertificates.pem(next.key()),
                changedAt.equals(Instant.EPOCH) ? now : changedAt), List.copyOf(reasons));
    }

    /** A new CA and serving certificate; CAs of the old bundle that are still valid stay trusted for an overlap. */
    private static Plan fresh(List<X509Certificate> keepTrusted, Options options, Instant now, String reason) {
        Authority ca = SelfSignedCertificates.newAuthority(now, options.caValidity());
        Serving serving = SelfSignedCertificates.issue(ca, options.dnsNames(), now, options.servingValidity());
        List<X509Certificate> bundle = new ArrayList<>();
        bundle.add(ca.certificate());
        bundle.addAll(keepTrusted);
        return new Plan(new CertificateSecret(SelfSignedCertificates.pem(bundle.toArray(X509Certificate[]::new)),
                SelfSignedCertificates.pem(ca.key()), SelfSignedCertificates.pem(serving.certificate(),
                        ca.certificate()), SelfSignedCertificates.pem(serving.key()), null, now), List.of(reason));
    }

    /** Why the serving certificate must be issued again, or null when it is good. */
    private static String servingProblem(CertificateSecret current, Authority signing, List<String> dnsNames,
            Instant now) {
        if (current.tlsCrt() == null || current.tlsKey() == null) {
            return "tls.crt or tls.key is missing";
        }
        X509Certificate leaf;
        PrivateKey key;
        try {
            leaf = SelfSignedCertificates.parseCertificates(current.tlsCrt()).get(0);
            key = SelfSignedCertificates.parsePrivateKey(current.tlsKey());
        } catch (IllegalArgumentException e) {
            return "tls.crt or tls.key does not parse (" + e.getMessage() + ")";
        }
        if (!SelfSignedCertificates.matches(leaf, key)) {
            return "tls.key is not the key of tls.crt";
        }
        if (!SelfSignedCertificates.issuedBy(leaf, signing.certificate())) {
            return "the serving certificate was not issued by the CA " + name(signing.certificate());
        }
        List<String> missing = dnsNames.stream().filter(n -> !SelfSignedCertificates.covers(leaf, List.of(n)))
                .toList();
        if (!missing.isEmpty()) {
            return "the serving certificate does not cover " + String.join(", ", missing);
        }
        if (!leaf.getNotAfter().toInstant().isAfter(now)) {
            return "the serving certificate expired on " + leaf.getNotAfter().toInstant();
        }
        if (renewalDue(leaf, now)) {
            return "the serving certificate expires on " + leaf.getNotAfter().toInstant()
                    + ", less than a third of its validity away";
        }
        return null;
    }

    /** Whether less than a third of the certificate's validity remains at {@code now}. */
    static boolean renewalDue(X509Certificate cert, Instant now) {
        Instant notBefore = cert.getNotBefore().toInstant();
        Instant notAfter = cert.getNotAfter().toInstant();
        Duration third = Duration.between(notBefore, notAfter).dividedBy(3);
        return now.isAfter(notAfter.minus(third));
    }

    /** The CA among {@code candidates} whose key {@code keyPem} is, or null. */
    private static Authority authority(String keyPem, List<X509Certificate> candidates) {
        if (keyPem == null) {
            return null;
        }
        PrivateKey key;
        try {
            key = SelfSignedCertificates.parsePrivateKey(keyPem);
        } catch (IllegalArgumentException e) {
            return null;
        }
        for (X509Certificate c : candidates) {
            if (c.getBasicConstraints() >= 0 && SelfSignedCertificates.matches(c, key)) {
                return new Authority(c, key);
            }
        }
        return null;
    }

    private static String name(X509Certificate cert) {
        return cert.getSubjectX500Principal().getName();
    }

    private static String serial(String tlsCrt) {
        try {
            return SelfSignedCertificates.parseCertificates(tlsCrt).get(0).getSerialNumber().toString(16);
        } catch (IllegalArgumentException e) {
            return "(unreadable)";
        }
    }
}
