package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.egressguard.server.SelfManagedCertificates.Options;
import io.egressguard.server.SelfManagedCertificates.Result;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.ValidatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Self-managed certificates against a mock API server in CRUD mode: the Secret is created when missing, reused when
 * good, renewed before expiry, agreed on by replicas that race, and followed by every replica's PEM files; the CA is
 * set into both webhook configurations and rotated without a moment where the served certificate is untrusted.
 */
@EnableKubernetesMockClient(crud = true)
class SelfManagedCertificatesTest {

    static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
    static final String NS = "egress-guard";
    static final String SECRET = "egress-guard-tls";

    KubernetesMockServer server;
    KubernetesClient client;
    @TempDir
    Path dir;

    final MutableClock clock = new MutableClock(T0);
    final List<KubernetesClient> clients = new ArrayList<>();
    final List<AutoCloseable> closeLast = new ArrayList<>();

    @AfterEach
    void closeClients() throws Exception {
        clients.forEach(KubernetesClient::close);
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    static Options options() {
        return Options.defaults(NS, SECRET, "cluster.local");
    }

    /** A replica: its own client of the mock server, its own PEM folder, the shared clock. */
    SelfManagedCertificates replica(String name, Options options) {
        return replica(server, name, options);
    }

    SelfManagedCertificates replica(KubernetesMockServer on, String name, Options options) {
        KubernetesClient c = on.createClient();
        clients.add(c);
        return new SelfManagedCertificates(c, options, new PemDirectory(dir.resolve(name)), clock);
    }

    Secret secret() {
        return client.secrets().inNamespace(NS).withName(SECRET).get();
    }

    static X509Certificate leaf(CertificateSecret s) {
        return SelfSignedCertificates.parseCertificates(s.tlsCrt()).get(0);
    }

    static List<X509Certificate> bundle(CertificateSecret s) {
        return SelfSignedCertificates.parseCertificates(s.caCrt());
    }

    /** Creates the webhook configurations of the install manifests (no caBundle in them). */
    void installWebhookConfigurations() throws Exception {
        for (String file : List.of("validating-webhook.yaml", "mutating-webhook.yaml")) {
            try (InputStream in = Files.newInputStream(Path.of("webhook-config", "base", file))) {
                for (HasMetadata o : client.load(in).items()) {
                    client.resource(o).create();
                }
            }
        }
    }

    /** The caBundle of every webhook of both configurations, decoded. */
    List<String> caBundles() {
        List<String> out = new ArrayList<>();
        ValidatingWebhookConfiguration v = client.admissionRegistration().v1().validatingWebhookConfigurations()
                .withName("egress-guard").get();
        for (ValidatingWebhook w : v.getWebhooks()) {
            out.add(decode(w.getClientConfig().getCaBundle()));
        }
        MutatingWebhookConfiguration m = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName("egress-guard").get();
        for (MutatingWebhook w : m.getWebhooks()) {
            out.add(decode(w.getClientConfig().getCaBundle()));
        }
        return out;
    }

    static String decode(String base64) {
        return base64 == null ? null : new String(Base64.getDecoder().decode(base64), StandardCharsets.US_ASCII);
    }

    @Test
    void createsTheSecretWithACaAndAServingCertificateWhenItIsMissing() throws Exception {
        SelfManagedCertificates replica = replica("a", options());

        Result result = replica.sync();

        Secret secret = secret();
        assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
        assertThat(secret.getData()).containsOnlyKeys("ca.crt", "ca.key", "tls.crt", "tls.key");
        assertThat(secret.getMetadata().getAnnotations()).containsEntry(CertificateSecret.BUNDLE_CHANGED_AT,
                T0.toString());
        CertificateSecret s = CertificateSecret.from(secret);
        X509Certificate ca = bundle(s).get(0);
        assertThat(bundle(s)).hasSize(1);
        assertThat(SelfSignedCertificates.matches(ca, SelfSignedCertificates.parsePrivateKey(s.caKey()))).isTrue();
        assertThat(SelfSignedCertificates.issuedBy(leaf(s), ca)).isTrue();
        assertThat(SelfSignedCertificates.matches(leaf(s), SelfSignedCertificates.parsePrivateKey(s.tlsKey())))
                .isTrue();
        assertThat(SelfSignedCertificates.covers(leaf(s), List.of("egress-guard.egress-guard.svc",
                "egress-guard.egress-guard.svc.cluster.local"))).isTrue();
        assertThat(Duration.between(T0, leaf(s).getNotAfter().toInstant())).isEqualTo(Options.SERVING_VALIDITY);
        assertThat(replica.directory().read()).contains(new PemDirectory.Contents(s.caCrt(), s.tlsCrt(),
                s.tlsKey()));
        assertThat(result.secret()).isEqualTo(s);
        assertThat(result.changes()).anySatisfy(c -> assertThat(c).isEqualTo("created Secret egress-guard/"
                + "egress-guard-tls: made a new CA and serving certificate"));
    }

    @Test
    void reusesAGoodSecretWithoutWritingIt() throws Exception {
        replica("a", options()).sync();
        String version = secret().getMetadata().getResourceVersion();
        clock.advance(Duration.ofDays(59));

        SelfManagedCertificates other = replica("b", options());
        Result result = other.sync();

        assertThat(secret().getMetadata().getResourceVersion()).isEqualTo(version);
        assertThat(result.changes()).singleElement().asString().startsWith("serving certificate ")
                .contains("written to");
        assertThat(other.directory().read().orElseThrow().tlsCrt())
                .isEqualTo(CertificateSecret.from(secret()).tlsCrt());
        assertThat(other.sync().changes()).isEmpty();
    }

    @Test
    void renewsTheServingCertificateFromTheSameCaWhenLessThanAThirdOfItsValidityRemains() throws Exception {
        SelfManagedCertificates replica = replica("a", options());
        CertificateSecret before = replica.sync().secret();

        clock.set(T0.plus(Duration.ofDays(60)).minus(Duration.ofMinutes(6)));
        assertThat(replica.sync().changes()).isEmpty();

        clock.set(T0.plus(Duration.ofDays(60)));
        Result renewed = replica.sync();

        CertificateSecret after = CertificateSecret.from(secret());
        assertThat(leaf(after).getSerialNumber()).isNotEqualTo(leaf(before).getSerialNumber());
        assertThat(after.caCrt()).isEqualTo(before.caCrt());
        assertThat(after.caKey()).isEqualTo(before.caKey());
        assertThat(SelfSignedCertificates.issuedBy(leaf(after), bundle(before).get(0))).isTrue();
        assertThat(leaf(after).getNotAfter().toInstant()).isEqualTo(T0.plus(Duration.ofDays(150)));
        assertThat(renewed.changes()).anySatisfy(c -> assertThat(c).contains("less than a third of its validity"));
        assertThat(replica.directory().read().orElseThrow().tlsCrt()).isEqualTo(after.tlsCrt());
    }

    @Test
    void issuesAgainFromTheKeptCaWhenTheServiceNamesChange() throws Exception {
        CertificateSecret before = replica("a", options()).sync().secret();
        Options moreNames = new Options(NS, SECRET, "egress-guard", List.of("egress-guard.egress-guard.svc",
                "egress-guard.egress-guard.svc.example.org"), Options.SERVING_VALIDITY, Options.CA_VALIDITY,
                Options.CA_OVERLAP, Options.SYNC_INTERVAL);

        Result result = replica("b", moreNames).sync();

        CertificateSecret after = result.secret();
        assertThat(after.caKey()).isEqualTo(before.caKey());
        assertThat(SelfSignedCertificates.covers(leaf(after), List.of("egress-guard.egress-guard.svc.example.org")))
                .isTrue();
        assertThat(result.changes()).anySatisfy(c -> assertThat(c)
                .contains("does not cover egress-guard.egress-guard.svc.example.org"));
    }

    @Test
    void replacesAnUnusableSecretAndKeepsItsOtherKeys() throws Exception {
        client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName(SECRET)
                .withNamespace(NS).endMetadata().withType("Opaque").addToData("tls.crt", b64("not a certificate"))
                .addToData("note", b64("kept")).build()).create();

        Result result = replica("a", options()).sync();

        Secret secret = secret();
        assertThat(secret.getData()).containsKeys("ca.crt", "ca.key", "tls.crt", "tls.key", "note");
        assertThat(secret.getType()).isEqualTo("Opaque");
        CertificateSecret s = CertificateSecret.from(secret);
        assertThat(SelfSignedCertificates.issuedBy(leaf(s), bundle(s).get(0))).isTrue();
        assertThat(result.changes()).anySatisfy(c -> assertThat(c).contains("ca.crt or ca.key is missing"));
    }

    @Test
    void aServingCertificateWithTheWrongKeyIsIssuedAgain() throws Exception {
        CertificateSecret good = replica("a", options()).sync().secret();
        Secret broken = new SecretBuilder(secret()).addToData("tls.key", b64(SelfSignedCertificates.pem(
                SelfSignedCertificates.newAuthority(T0, Duration.ofDays(1)).key()))).build();
        client.secrets().inNamespace(NS).resource(broken).update();

        Result result = replica("b", options()).sync();

        assertThat(result.changes()).anySatisfy(c -> assertThat(c).contains("tls.key is not the key of tls.crt"));
        assertThat(result.secret().caKey()).isEqualTo(good.caKey());
        assertThat(SelfSignedCertificates.matches(leaf(result.secret()),
                SelfSignedCertificates.parsePrivateKey(result.secret().tlsKey()))).isTrue();
    }

    @Test
    void twoReplicasRacingToCreateTheSecretEndUpWithTheSameCertificates() throws Exception {
        // both replicas read "no Secret" before either creates it: one create wins, the other gets 409 Conflict
        RacingDispatcher racing = new RacingDispatcher(new KubernetesCrudDispatcher());
        KubernetesMockServer racingServer = racingServer(racing);
        SelfManagedCertificates a = replica(racingServer, "a", options());
        SelfManagedCertificates b = replica(racingServer, "b", options());
        racing.arm();

        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Result> ra = pool.submit(a::sync);
            Future<Result> rb = pool.submit(b::sync);
            Result resultA = ra.get(60, TimeUnit.SECONDS);
            Result resultB = rb.get(60, TimeUnit.SECONDS);

            assertThat(racing.conflicts.get()).as("409 Conflict answers").isEqualTo(1);
            assertThat(resultA.secret()).isEqualTo(resultB.secret());
            assertThat(a.directory().read()).isEqualTo(b.directory().read());
            KubernetesClient reader = racingServer.createClient();
            clients.add(reader);
            assertThat(CertificateSecret.from(reader.secrets().inNamespace(NS).withName(SECRET).get()))
                    .isEqualTo(resultA.secret());
            assertThat(resultA.changes().stream().anyMatch(c -> c.startsWith("created"))
                    ^ resultB.changes().stream().anyMatch(c -> c.startsWith("created")))
                    .as("exactly one replica created the Secret").isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoReplicasRenewingAtOnceAgreeOnOneCertificate() throws Exception {
        // both read the expiring Secret; both update it with the resourceVersion they read: one gets 409 Conflict
        RacingDispatcher racing = new RacingDispatcher(new KubernetesCrudDispatcher());
        KubernetesMockServer racingServer = racingServer(racing);
        SelfManagedCertificates a = replica(racingServer, "a", options());
        SelfManagedCertificates b = replica(racingServer, "b", options());
        CertificateSecret first = a.sync().secret();
        clock.advance(Duration.ofDays(61));
        racing.arm();

        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Result> ra = pool.submit(a::sync);
            Future<Result> rb = pool.submit(b::sync);
            Result resultA = ra.get(60, TimeUnit.SECONDS);
            Result resultB = rb.get(60, TimeUnit.SECONDS);

            assertThat(racing.conflicts.get()).as("409 Conflict answers").isEqualTo(1);
            KubernetesClient reader = racingServer.createClient();
            clients.add(reader);
            CertificateSecret stored = CertificateSecret.from(reader.secrets().inNamespace(NS).withName(SECRET).get());
            assertThat(leaf(stored).getSerialNumber()).isNotEqualTo(leaf(first).getSerialNumber());
            assertThat(resultA.secret()).isEqualTo(stored);
            assertThat(resultB.secret()).isEqualTo(stored);
            assertThat(a.directory().read()).isEqualTo(b.directory().read());
        } finally {
            pool.shutdownNow();
        }
    }

    KubernetesMockServer racingServer(RacingDispatcher racing) {
        KubernetesMockServer racingServer = new KubernetesMockServer(new Context(), new MockWebServer(),
                new HashMap<>(), racing, false);
        racingServer.init();
        closeLast.add(racingServer::destroy);
        return racingServer;
    }

    @Test
    void setsTheCaBundleOfEveryWebhookOfBothConfigurationsOnlyWhenItDiffers() throws Exception {
        installWebhookConfigurations();
        SelfManagedCertificates replica = replica("a", options());

        Result result = replica.sync();

        int validatingWebhooks = client.admissionRegistration().v1().validatingWebhookConfigurations()
                .withName("egress-guard").get().getWebhooks().size();
        int mutatingWebhooks = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName("egress-guard").get().getWebhooks().size();
        assertThat(caBundles()).hasSize(validatingWebhooks + mutatingWebhooks).containsOnly(result.secret().caCrt());
        assertThat(result.changes()).contains("caBundle set on " + validatingWebhooks + " webhooks of "
                + "ValidatingWebhookConfiguration egress-guard", "caBundle set on " + mutatingWebhooks
                + " webhooks of MutatingWebhookConfiguration egress-guard");
        String validating = client.admissionRegistration().v1().validatingWebhookConfigurations()
                .withName("egress-guard").get().getMetadata().getResourceVersion();
        String mutating = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName("egress-guard").get().getMetadata().getResourceVersion();

        assertThat(replica("b", options()).sync().changes()).noneMatch(c -> c.startsWith("caBundle"));

        assertThat(client.admissionRegistration().v1().validatingWebhookConfigurations().withName("egress-guard")
                .get().getMetadata().getResourceVersion()).isEqualTo(validating);
        assertThat(client.admissionRegistration().v1().mutatingWebhookConfigurations().withName("egress-guard")
                .get().getMetadata().getResourceVersion()).isEqualTo(mutating);
    }

    @Test
    void aRecreatedWebhookConfigurationGetsItsCaBackAtTheNextSync() throws Exception {
        installWebhookConfigurations();
        SelfManagedCertificates replica = replica("a", options());
        CertificateSecret s = replica.sync().secret();
        client.admissionRegistration().v1().validatingWebhookConfigurations().withName("egress-guard").delete();
        await(() -> client.admissionRegistration().v1().validatingWebhookConfigurations().withName("egress-guard")
                .get() == null);

        Result missing = replica.sync();
        assertThat(missing.warnings()).containsExactly("ValidatingWebhookConfiguration egress-guard does not exist:"
                + " its caBundle cannot be set");

        try (InputStream in = Files.newInputStream(Path.of("webhook-config", "base", "validating-webhook.yaml"))) {
            client.load(in).items().forEach(o -> client.resource(o).create());
        }
        Result back = replica.sync();

        assertThat(back.warnings()).isEmpty();
        assertThat(caBundles()).containsOnly(s.caCrt());
    }

    @Test
    void aReplicaRewritesItsFilesWhenAnotherReplicaRenewedTheCertificate() throws Exception {
        SelfManagedCertificates a = replica("a", options());
        SelfManagedCertificates b = replica("b", options());
        a.sync();
        b.sync();
        BigInteger first = leaf(CertificateSecret.from(secret())).getSerialNumber();
        clock.advance(Duration.ofDays(61));

        a.sync();
        BigInteger renewed = leaf(CertificateSecret.from(secret())).getSerialNumber();
        assertThat(renewed).isNotEqualTo(first);
        assertThat(served(b)).isEqualTo(first);

        Result followed = b.sync();

        assertThat(followed.changes()).singleElement().asString()
                .isEqualTo("serving certificate " + renewed.toString(16) + " written to " + b.directory().files()
                        .cert());
        assertThat(served(b)).isEqualTo(renewed);
        assertThat(b.directory().read()).isEqualTo(a.directory().read());
    }

    @Test
    void rotatesTheCaByTrustingTheNewOneFirstThenSigningWithItThenDroppingTheOldOne() throws Exception {
        installWebhookConfigurations();
        Options shortLived = new Options(NS, SECRET, "egress-guard", options().dnsNames(), Duration.ofDays(3),
                Duration.ofDays(30), Duration.ofHours(1), Options.SYNC_INTERVAL);
        SelfManagedCertificates replica = replica("a", shortLived);
        CertificateSecret start = replica.sync().secret();
        X509Certificate oldCa = bundle(start).get(0);
        assertServedCertificateIsTrustedByTheCaBundle(replica);

        // 21 days: 9 of the CA's 30 days remain, less than a third: the new CA joins the bundle, the old one signs
        clock.set(T0.plus(Duration.ofDays(21)));
        Result added = replica.sync();
        CertificateSecret step1 = added.secret();
        assertThat(bundle(step1)).hasSize(2).first().isEqualTo(oldCa);
        X509Certificate newCa = bundle(step1).get(1);
        assertThat(step1.nextCaKey()).isNotNull();
        assertThat(step1.caKey()).isEqualTo(start.caKey());
        assertThat(SelfSignedCertificates.issuedBy(leaf(step1), oldCa)).isTrue();
        assertThat(caBundles()).containsOnly(step1.caCrt());
        assertThat(added.changes()).anySatisfy(c -> assertThat(c).contains("added the new CA"));
        assertServedCertificateIsTrustedByTheCaBundle(replica);

        // within the overlap nothing moves
        clock.advance(Duration.ofMinutes(59));
        assertThat(replica.sync().changes()).isEmpty();

        // after the overlap the new CA signs; both stay trusted
        clock.advance(Duration.ofMinutes(1));
        CertificateSecret step2 = replica.sync().secret();
        assertThat(bundle(step2)).containsExactly(newCa, oldCa);
        assertThat(step2.nextCaKey()).isNull();
        assertThat(SelfSignedCertificates.matches(newCa, SelfSignedCertificates.parsePrivateKey(step2.caKey())))
                .isTrue();
        assertThat(SelfSignedCertificates.issuedBy(leaf(step2), newCa)).isTrue();
        assertThat(caBundles()).containsOnly(step2.caCrt());
        assertServedCertificateIsTrustedByTheCaBundle(replica);

        // after another overlap the old CA leaves the bundle
        clock.advance(Duration.ofHours(1));
        CertificateSecret step3 = replica.sync().secret();
        assertThat(bundle(step3)).containsExactly(newCa);
        assertThat(step3.tlsCrt()).isEqualTo(step2.tlsCrt());
        assertThat(caBundles()).containsOnly(step3.caCrt());
        assertServedCertificateIsTrustedByTheCaBundle(replica);
        assertThat(secret().getData()).doesNotContainKey("next-ca.key");
    }

    @Test
    void anExpiredCaIsReplacedOutright() throws Exception {
        Options shortLived = new Options(NS, SECRET, "egress-guard", options().dnsNames(), Duration.ofDays(1),
                Duration.ofDays(3), Duration.ofHours(1), Options.SYNC_INTERVAL);
        CertificateSecret before = replica("a", shortLived).sync().secret();
        clock.advance(Duration.ofDays(4));

        Result result = replica("a", shortLived).sync();

        assertThat(result.secret().caKey()).isNotEqualTo(before.caKey());
        assertThat(bundle(result.secret())).hasSize(1);
        assertThat(result.changes()).anySatisfy(c -> assertThat(c).contains("expired"));
    }

    void assertServedCertificateIsTrustedByTheCaBundle(SelfManagedCertificates replica) {
        X509Certificate served = SelfSignedCertificates.parseCertificates(replica.directory().read().orElseThrow()
                .tlsCrt()).get(0);
        for (String bundle : caBundles()) {
            assertThat(SelfSignedCertificates.parseCertificates(bundle))
                    .anyMatch(ca -> SelfSignedCertificates.issuedBy(served, ca));
        }
    }

    static BigInteger served(SelfManagedCertificates replica) {
        return SelfSignedCertificates.parseCertificates(replica.directory().read().orElseThrow().tlsCrt()).get(0)
                .getSerialNumber();
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
    }

    static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waited 10 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /**
     * The CRUD dispatcher, with the interleaving of a race on demand: once {@link #arm() armed}, the next two reads
     * of the Secret get the same answer, as if both replicas read before either wrote. Counts 409 answers.
     */
    static final class RacingDispatcher extends Dispatcher {

        private final Dispatcher next;
        private int pending;
        private int snapshotCode;
        private byte[] snapshotBody;
        final AtomicInteger conflicts = new AtomicInteger();

        RacingDispatcher(Dispatcher next) {
            this.next = next;
        }

        synchronized void arm() {
            pending = 2;
        }

        @Override
        public synchronized MockResponse dispatch(RecordedRequest request) {
            boolean secretRead = "GET".equals(request.getMethod())
                    && request.getPath().startsWith("/api/v1/namespaces/" + NS + "/secrets/" + SECRET);
            if (secretRead && pending > 0) {
                if (pending == 2) {
                    MockResponse first = next.dispatch(request);
                    snapshotCode = first.code();
                    snapshotBody = first.getBody() == null ? new byte[0] : first.getBody().getBytes();
                }
                pending--;
                return new MockResponse().setResponseCode(snapshotCode).setBody(snapshotBody)
                        .setHeader("Content-Type", "application/json");
            }
            MockResponse response = next.dispatch(request);
            if (response.code() == 409) {
                conflicts.incrementAndGet();
            }
            return response;
        }

        @Override
        public void shutdown() {
            next.shutdown();
        }
    }
}
