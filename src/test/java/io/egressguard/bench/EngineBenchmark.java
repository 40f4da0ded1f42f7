package io.egressguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import io.egressguard.admission.AdmissionService;
import io.egressguard.admission.Mode;
import io.egressguard.admission.NoClusterView;
import io.egressguard.admission.ValidationReader;
import io.egressguard.policy.AdmissionAttributes;
import io.egressguard.policy.Evaluation;
import io.egressguard.policy.PolicyEngine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The engine alone, without HTTP: parsing an AdmissionReview into CEL values, evaluating the built-in policies, and
 * the whole decode-evaluate-encode path of the webhook. {@link #main} runs it and prints microseconds per evaluated
 * policy. Run it with {@code src/bench/engine-bench.sh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx256m"})
public class EngineBenchmark {

    static final ObjectMapper MAPPER = new ObjectMapper();

    /** Sample AdmissionReviews under {@code src/test/resources/bench/}. */
    @Param({"pod-10k", "deployment", "networkpolicy"})
    public String sample;

    PolicyEngine engine;
    byte[] body;
    AdmissionAttributes attributes;
    AdmissionService service;

    @Setup
    public void setup() throws Exception {
        engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        body = read(sample);
        attributes = ValidationReader.attributes(body);
        service = new AdmissionService(engine, new SimpleMeterRegistry(), new NoClusterView());
    }

    static byte[] read(String sample) throws IOException {
        try (InputStream in = EngineBenchmark.class.getResourceAsStream("/bench/" + sample + ".json")) {
            if (in == null) {
                throw new IOException("no sample bench/" + sample + ".json");
            }
            return in.readAllBytes();
        }
    }

    /**
     * JSON bytes to the attributes the engine evaluates, read as the validating webhook reads them ({@code JsonBytes}:
     * the objects straight into CEL values, the envelope as a tree and checked).
     */
    @Benchmark
    public AdmissionAttributes parse() {
        return ValidationReader.attributes(body);
    }

    /** Every built-in policy that matches the sample, on pre-parsed attributes. */
    @Benchmark
    public Evaluation evaluate() {
        return engine.evaluate(attributes);
    }

    /** What the webhook does per request, minus HTTP: decode, evaluate, encode. */
    @Benchmark
    public AdmissionService.Reply review() {
        return service.validate(body, Mode.ENFORCE);
    }

    /** Runs the benchmark and prints a summary with microseconds per evaluated policy. */
    public static void main(String[] args) throws Exception {
        String include = args.length > 0 ? args[0] : EngineBenchmark.class.getSimpleName();
        java.util.Collection<RunResult> results = new Runner(new OptionsBuilder().include(include).build()).run();
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "%-14s %8s %10s %12s %14s %12s", "sample", "policies", "parse µs",
                "evaluate µs", "µs per policy", "review µs"));
        for (String sample : new String[] {"pod-10k", "deployment", "networkpolicy"}) {
            JsonNode request = MAPPER.readTree(read(sample)).get("request");
            JsonNode r = request.path("resource");
            int policies = engine.candidates(r.path("group").asText(), r.path("version").asText(),
                    r.path("resource").asText(), request.path("subResource").asText(""),
                    request.path("operation").asText()).size();
            double parse = score(results, sample, "parse");
            double evaluate = score(results, sample, "evaluate");
            double review = score(results, sample, "review");
            lines.add(String.format(Locale.ROOT, "%-14s %8d %10.2f %12.2f %14.2f %12.2f", sample, policies, parse,
                    evaluate, policies == 0 ? 0 : evaluate / policies, review));
        }
        System.out.println();
        lines.forEach(System.out::println);
    }

    static double score(java.util.Collection<RunResult> results, String sample, String method) {
        return results.stream()
                .filter(r -> r.getParams().getBenchmark().endsWith("." + method)
                        && sample.equals(r.getParams().getParam("sample")))
                .mapToDouble(r -> r.getPrimaryResult().getScore()).findFirst().orElse(Double.NaN);
    }
}
