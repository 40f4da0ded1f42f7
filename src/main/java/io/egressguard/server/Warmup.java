package io.egressguard.server;

import io.egressguard.Settings;
import io.egressguard.admission.AdmissionService;
import io.egressguard.admission.Mode;
import io.egressguard.admission.NoClusterView;
import io.egressguard.policy.Policy;
import io.egressguard.policy.PolicyCompiler;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Warms the webhook before it reports ready, so that the first real request does not pay for class loading, fabric8
 * model setup, CEL dispatch, JIT, TLS or the HTTP stack, in three parts:
 * <ol>
 *   <li>ahead of boot ({@link #startAhead}): the built-in policies are compiled and captured AdmissionReviews run
 *       through a stand-alone admission service, on a second thread while the main one boots Quarkus;</li>
 *   <li>in process: the same samples through the server's own admission service, a couple of rounds;</li>
 *   <li>over HTTPS: the samples posted to the server itself, {@code egressguard.warmup-iterations} rounds,
 *       {@value #ROUNDS_PER_CONNECTION} per keep-alive connection, so that TLS handshakes are warmed too.</li>
 * </ol>
 * The last two run on their own thread, so that the in-process part overlaps with the start of the HTTP server
 * rather than delaying it; the server reports ready when that thread is done. Every part runs a fixed number of
 * rounds, enough for the interpreter's hot methods to be compiled by the JIT: more rounds mostly keep the second core
 * busy with compilations at the moment the server should be ready. Each part is also bounded in time, so that a slow
 * machine does not delay readiness without end.
 */
@ApplicationScoped
public class Warmup {

    private static final Logger LOG = Logger.getLogger(Warmup.class);
    /**
     * Captured AdmissionReviews; {@code create-injected-pod.json} is the Pod after Istio's sidecar injection, which is
     * what the validating webhook sees for pods in a mesh.
     */
    static final List<String> SAMPLES = List.of("create-pod.json", "create-injected-pod.json",
            "create-deployment.json", "create-networkpolicy.json", "update-deployment.json");
    static final String MUTATE_SAMPLE = "create-namespace-mutating.json";
    static final long IN_PROCESS_BUDGET_NANOS = 1_500_000_000L;
    static final long HTTP_BUDGET_NANOS = 1_500_000_000L;
    /** Rounds over HTTPS on each connection; the number of connections is the rounds divided by this. */
    static final int ROUNDS_PER_CONNECTION = 4;

    /** Rounds of the samples through a stand-alone admission service while the server boots. */
    static final int AHEAD_ROUNDS = 5;
    /** Rounds through the server's own admission service: its code is warm by then, only its beans are new. */
    static final int IN_PROCESS_ROUNDS = 2;

    @ConfigProperty(name = "quarkus.http.ssl-port", defaultValue = "8443")
    int port;

    @ConfigProperty(name = "quarkus.http.host", defaultValue = "localhost")
    String host;

    /**
     * Starts, on a daemon thread, the part of the warm-up that needs no server: the built-in policies are compiled
     * (for {@link PolicyEngine#load} to take, see {@link PolicyCompiler#compileBuiltInAhead}) and the samples run
     * through a stand-alone admission service with them and the default settings. {@code serve} calls it before
     * Quarkus boots, so that this work, mostly class loading and the first compilations of the JIT, is done on the
     * second core while the first boots the server; the warm-up after boot then finds the code warm. It changes no
     * state that the server uses, and a failure here only leaves the work to the later warm-up.
     */
    public static void startAhead() {
        Thread ahead = new Thread(() -> {
            try {
                List<Policy> policies = PolicyCompiler.compileBuiltInAhead();
                AdmissionService service = new AdmissionService(new PolicyEngine(policies, Settings.defaults()),
                        new SimpleMeterRegistry(), new NoClusterView());
                List<byte[]> samples = new ArrayList<>();
                for (String name : SAMPLES) {
                    samples.add(read(name));
                }
                inProcess(service, samples, read(MUTATE_SAMPLE), AHEAD_ROUNDS);
            } catch (PolicyException | IOException | RuntimeException e) {
                LOG.debugf("warm-up ahead of boot stopped: %s", e.getMessage());
            }
        }, "egress-guard-ahead");
        ahead.setDaemon(true);
        ahead.start();
    }

    void onStart(@Observes StartupEvent event, AdmissionService service, PolicyEngine engine,
            EgressGuardConfig config, @org.eclipse.microprofile.health.Readiness ReadinessCheck readiness) {
        List<byte[]> samples = new ArrayList<>();
        byte[] mutate;
        try {
            for (String name : SAMPLES) {
                samples.add(read(name));
            }
            mutate = read(MUTATE_SAMPLE);
        } catch (IOException e) {
            throw new IllegalStateException("warm-up samples are missing from the application: " + e.getMessage());
        }
        int iterations = Math.max(1, config.warmupIterations());
        Thread warmup = new Thread(() -> {
            String detail = "policies=" + engine.policies().size();
            try {
                detail += ", warm-up=" + inProcess(service, samples, mutate, Math.min(iterations, IN_PROCESS_ROUNDS));
            } catch (RuntimeException e) {
                if (io.quarkus.arc.Arc.container() == null || !io.quarkus.arc.Arc.container().isRunning()) {
                    // the server stopped while starting (a port already in use, say): its own error says why
                    LOG.debugf("warm-up stopped with the server: %s", e.getMessage());
                    return;
                }
                // as when the warm-up ran inside startup: a sample that fails is a broken build, not a server
                LOG.errorf(e, "warm-up failed; stopping");
                io.quarkus.runtime.Quarkus.asyncExit(1);
                return;
            }
            try {
                detail += ", " + overHttps(samples, iterations);
            } catch (IOException | RuntimeException e) {
                LOG.warnf("warm-up over HTTPS skipped: %s", e.getMessage());
            }
            readiness.ready(detail);
            LOG.infof("warm-up done (%s); ready", detail);
            if (config.exitWhenReady()) {
                LOG.info("exiting when ready, as asked (--exit-when-ready)");
                io.quarkus.runtime.Quarkus.asyncExit(0);
            }
        }, "egress-guard-warmup");
        warmup.setDaemon(true);
        warmup.start();
    }

    /** The samples through the admission service, without HTTP. */
    private static String inProcess(AdmissionService service, List<byte[]> samples, byte[] mutate, int iterations) {
        long start = System.nanoTime();
        int done = 0;
        while (done < iterations && System.nanoTime() - start < IN_PROCESS_BUDGET_NANOS) {
            for (byte[] body : samples) {
                check(service.validate(body, Mode.ENFORCE));
            }
            check(service.mutate(mutate, Mode.ENFORCE));
            done++;
        }
        return done + " rounds in process in " + (System.nanoTime() - start) / 1_000_000 + " ms";
    }

    /**
     * Posts the samples to this server over HTTPS: {@code iterations} rounds, {@value #ROUNDS_PER_CONNECTION} on each
     * keep-alive connection, so that TLS handshakes are warmed as well as requests.
     */
    private String overHttps(List<byte[]> samples, int iterations) throws IOException {
        long start = System.nanoTime();
        String target = "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : host;
        int port = listeningPort();
        SSLSocket socket = connect(target, port, start);
        long connected = System.nanoTime();
        int requests = 0;
        int connections = 0;
        int round = 0;
        while (round < iterations && System.nanoTime() - connected < HTTP_BUDGET_NANOS) {
            if (connections > 0) {
                socket = connect(target, port, System.nanoTime());
            }
            connections++;
            try (SSLSocket s = socket) {
                s.setSoTimeout(5_000);
                s.setTcpNoDelay(true);
                OutputStream out = s.getOutputStream();
                InputStream in = new BufferedInputStream(s.getInputStream());
                for (int k = 0; k < ROUNDS_PER_CONNECTION && round < iterations
                        && System.nanoTime() - connected < HTTP_BUDGET_NANOS; k++, round++) {
                    for (byte[] body : samples) {
                        // head and body in one write: two small writes would wait on delayed ACKs (Nagle)
                        String head = "POST /validate HTTP/1.1\r\nHost: " + target
                                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
                        byte[] request = java.util.Arrays.copyOf(head.getBytes(StandardCharsets.US_ASCII),
                                head.length() + body.length);
                        System.arraycopy(body, 0, request, head.length(), body.length);
                        out.write(request);
                        out.flush();
                        int status = readResponse(in);
                        if (status != 200) {
                            throw new IOException("warm-up request answered " + status);
                        }
                        requests++;
                    }
                }
            }
        }
        return requests + " HTTPS requests on " + connections + " connections in "
                + (System.nanoTime() - connected) / 1_000_000 + " ms (listening after "
                + (connected - start) / 1_000_000 + " ms)";
    }

    /** Connects to the server, retrying while it is still starting to listen. */
    private SSLSocket connect(String target, int port, long start) throws IOException {
        IOException last = null;
        while (System.nanoTime() - start < 10_000_000_000L) {
            try {
                SSLSocket socket = (SSLSocket) trustingContext().getSocketFactory().createSocket(target, port);
                socket.startHandshake();
                return socket;
            } catch (IOException e) {
                last = e;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", ie);
                }
            }
        }
        throw last == null ? new IOException("server did not listen") : last;
    }

    /** The HTTPS port: the configured one, or in tests the one the test framework picked. */
    private int listeningPort() {
        if (io.quarkus.runtime.LaunchMode.current() == io.quarkus.runtime.LaunchMode.TEST) {
            String test = System.getProperty("quarkus.http.test-ssl-port");
            if (test != null && !test.equals("0")) {
                return Integer.parseInt(test);
            }
        }
        return port;
    }

    /** Reads one HTTP/1.1 response with a Content-Length body; returns its status code. */
    static int readResponse(InputStream in) throws IOException {
        String statusLine = readLine(in);
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        int length = 0;
        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                length = Integer.parseInt(line.substring(colon + 1).trim());
            }
        }
        in.readNBytes(length);
        return status;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    /** The warm-up talks only to this process, on loopback, with a fixed sample: it need not verify the peer. */
    private static SSLContext trustingContext() throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static void check(AdmissionService.Reply reply) {
        if (reply.status() != 200) {
            throw new IllegalStateException("warm-up request failed: " + reply.body());
        }
    }

    private static byte[] read(String name) throws IOException {
        try (InputStream in = Warmup.class.getClassLoader().getResourceAsStream("warmup/" + name)) {
            if (in == null) {
                throw new IOException("warmup/" + name);
            }
            return in.readAllBytes();
        }
    }
}
