package io.egressguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.policy.AdmissionAttributes;
import io.egressguard.policy.Policy;
import io.egressguard.policy.PolicyEngine;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Microseconds per policy on each benchmark sample, measured one policy at a time after a warm-up: a quick way to
 * see which policy costs what. {@code src/bench/policy-cost.sh [POLICIES_DIR]}.
 */
public final class PolicyCost {

    private PolicyCost() {
    }

    public static void main(String[] args) throws Exception {
        List<Path> extra = args.length > 0 ? List.of(Path.of(args[0])) : List.of();
        PolicyEngine engine = PolicyEngine.load(true, extra, Settings.defaults());
        ObjectMapper mapper = new ObjectMapper();
        int n = 4000;
        for (String sample : new String[] {"pod-10k", "deployment", "networkpolicy"}) {
            JsonNode request = mapper.readTree(EngineBenchmark.read(sample)).get("request");
            AdmissionAttributes attrs = AdmissionAttributes.ofRequest(request, null);
            JsonNode r = request.path("resource");
            List<Policy> candidates = engine.candidates(r.path("group").asText(), r.path("version").asText(),
                    r.path("resource").asText(), request.path("subResource").asText(""),
                    request.path("operation").asText());
            for (int i = 0; i < n; i++) {
                engine.evaluate(attrs);
            }
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                engine.evaluate(attrs);
            }
            double all = (System.nanoTime() - start) / 1000.0 / n;
            System.out.printf(Locale.ROOT, "%s: %d policies, %.1f µs in all, %.1f µs per policy; violations: %d%n",
                    sample, candidates.size(), all, all / Math.max(1, candidates.size()),
                    engine.evaluate(attrs).violations().size());
            for (Policy p : candidates) {
                for (int i = 0; i < n / 2; i++) {
                    engine.evaluate(attrs, q -> q == p);
                }
                long t = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    engine.evaluate(attrs, q -> q == p);
                }
                System.out.printf(Locale.ROOT, "  %-40s %9.1f µs%n", p.id(), (System.nanoTime() - t) / 1000.0 / n);
            }
        }
    }
}
