package io.egressguard.server;

import io.egressguard.admission.AdmissionService;
import io.egressguard.admission.Mode;
import io.egressguard.policy.PolicyEngine;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Runs captured AdmissionReviews through the real decode, evaluate and encode path before the server reports ready,
 * so that the first real request does not pay for class loading, fabric8 model setup, CEL dispatch or JIT.
 */
@ApplicationScoped
public class Warmup {

    private static final Logger LOG = Logger.getLogger(Warmup.class);
    static final List<String> SAMPLES = List.of("create-pod.json", "create-deployment.json",
            "create-networkpolicy.json", "update-deployment.json");
    static final String MUTATE_SAMPLE = "create-namespace-mutating.json";

    void onStart(@Observes StartupEvent event, AdmissionService service, PolicyEngine engine,
            EgressGuardConfig config, @org.eclipse.microprofile.health.Readiness ReadinessCheck readiness) {
        long start = System.nanoTime();
        List<byte[]> samples = new ArrayList<>();
        try {
            for (String name : SAMPLES) {
                samples.add(read(name));
            }
            byte[] mutate = read(MUTATE_SAMPLE);
            int iterations = Math.max(1, config.warmupIterations());
            for (int i = 0; i < iterations; i++) {
                for (byte[] body : samples) {
                    check(service.validate(body, Mode.ENFORCE));
                }
                check(service.mutate(mutate, Mode.ENFORCE));
            }
        } catch (IOException e) {
            throw new IllegalStateException("warm-up samples are missing from the application: " + e.getMessage());
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        LOG.infof("warm-up: %d policies, %d sample reviews x %d in %d ms; ready", engine.policies().size(),
                samples.size() + 1, config.warmupIterations(), ms);
        readiness.ready("policies=" + engine.policies().size() + ", warm-up=" + ms + "ms");
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
