package io.egressguard.server;

import io.egressguard.admission.AdmissionService;
import io.egressguard.admission.Mode;
import io.egressguard.policy.PolicyEngine;
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
 * model setup, CEL dispatch, JIT, TLS or the HTTP stack: first the decode-evaluate-encode path in process, then the
 * same captured AdmissionReviews posted to the server itself over HTTPS on one keep-alive connection. Both phases are
 * bounded in time.
 */
@ApplicationScoped
public class Warmup {

    private static final Logger LOG = Logger.getLogger(Warmup.class);
    static final List<String> SAMPLES = List.of("create-pod.json", "create-deployment.json",
            "create-networkpolicy.json", "update-deployment.json");
    static final String MUTATE_SAMPLE = "create-namespace-mutating.json";
    static final long IN_PROCESS_BUDGET_NANOS = 1_500_000_000L;
    static final long HTTP_BUDGET_NANOS = 1_500_000_000L;

    @ConfigProperty(name = "quarkus.http.ssl-port", defaultValue = "8443")
    int port;

    @ConfigProperty(name = "quarkus.http.host", defaultValue = "localhost")
    String host;

    void onStart(@Observes StartupEvent event, AdmissionService service, PolicyEngine engine,
            EgressGuardConfig config, @org.eclipse.microprofile.health.Readiness ReadinessCheck readiness) {
        long start = System.nanoTime();
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
        int done = 0;
        while (done < iterations && (done < 20 || System.nanoTime() - start < IN_PROCESS_BUDGET_NANOS)) {
            for (byte[] body : samples) {
                check(service.validate(body, Mode.ENFORCE));
            }
            check(service.mutate(mutate, Mode.ENFORCE));
            done++;
        }
        long inProcessMs = (System.nanoTime() - start) / 1_000_000;
        String inProcess = done(done, inProcessMs);
        Thread http = new Thread(() -> {
            String detail = "policies=" + engine.policies().size() + ", warm-up=" + inProcess;
            try {
                detail += ", " + overHttps(samples, iterations);
            } catch (IOException | RuntimeException e) {
                LOG.warnf("warm-up over HTTPS skipped: %s", e.getMessage());
            }
            LOG.infof("warm-up done (%s); ready", detail);
            readiness.ready(detail);
        }, "egress-guard-warmup");
        http.setDaemon(true);
        http.start();
    }

    private static String done(int iterations, long ms) {
        return iterations + " rounds in process in " + ms + " ms";
    }

    /** Posts the samples to this server over HTTPS, on one keep-alive connection. */
    private String overHttps(List<byte[]> samples, int iterations) throws IOException {
        long start = System.nanoTime();
        String target = "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : host;
        SSLSocket socket = connect(target, listeningPort(), start);
        long connected = System.nanoTime();
        int requests = 0;
        try (socket) {
            socket.setSoTimeout(5_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            for (int i = 0; i < iterations && (i < 5 || System.nanoTime() - connected < HTTP_BUDGET_NANOS); i++) {
                for (byte[] body : samples) {
                    String head = "POST /validate HTTP/1.1\r\nHost: " + target + "\r\nContent-Type: application/json"
                            + "\r\nContent-Length: " + body.length + "\r\n\r\n";
                    out.write(head.getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.flush();
                    int status = readResponse(in);
                    if (status != 200) {
                        throw new IOException("warm-up request answered " + status);
                    }
                    requests++;
                }
            }
        }
        return requests + " HTTPS requests in " + (System.nanoTime() - connected) / 1_000_000 + " ms (listening after "
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
