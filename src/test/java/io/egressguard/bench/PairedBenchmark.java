package io.egressguard.bench;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Two builds of the engine in one JVM, measured in alternating rounds: each build's classes in a class loader of its
 * own over the same dependencies, one {@link EngineBenchmark} method timed for a fixed time per round, the two builds
 * in turn (which one goes first alternates). On a shared 2-core machine, whose speed drifts by 10-30% from one
 * minute to the next, separate JMH runs of two builds differ by more than most changes do; rounds taken side by side
 * share the drift, and the count of rounds each build wins is a sign test. Run it with {@code src/bench/paired.sh}.
 */
public final class PairedBenchmark {

    private PairedBenchmark() {
    }

    /**
     * Arguments: the two repository roots (each built: {@code target/classes} and {@code target/test-classes}), the
     * dependency class path, the method ({@code parse}, {@code evaluate} or {@code review}), the sample, the rounds.
     */
    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("paired: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 6 || !List.of("parse", "evaluate", "review").contains(args[3])
                || !List.of("pod-10k", "deployment", "networkpolicy").contains(args[4])
                || !args[5].matches("[1-9][0-9]{0,3}")) {
            throw new IllegalArgumentException("expected OTHER_ROOT THIS_ROOT CLASSPATH parse|evaluate|review "
                    + "pod-10k|deployment|networkpolicy ROUNDS (1-9999)");
        }
        String[] roots = {args[0], args[1]};
        List<URL> dependencies = new ArrayList<>();
        for (String entry : args[2].split(":")) {
            dependencies.add(Path.of(entry).toUri().toURL());
        }
        String method = args[3];
        String sample = args[4];
        int rounds = Integer.parseInt(args[5]);
        ClassLoader parent = new URLClassLoader(dependencies.toArray(new URL[0]),
                ClassLoader.getPlatformClassLoader());
        Object[] bench = new Object[2];
        Method[] run = new Method[2];
        for (int i = 0; i < 2; i++) {
            if (!Files.isDirectory(Path.of(roots[i], "target/test-classes"))) {
                throw new IllegalArgumentException(roots[i] + " is not a built checkout: run ./mvnw -B test-compile "
                        + "there");
            }
            ClassLoader loader = new URLClassLoader(new URL[] {
                Path.of(roots[i], "target/test-classes").toUri().toURL(),
                Path.of(roots[i], "target/classes").toUri().toURL()}, parent);
            Thread.currentThread().setContextClassLoader(loader);
            Class<?> type = loader.loadClass("io.egressguard.bench.EngineBenchmark");
            bench[i] = type.getConstructor().newInstance();
            type.getField("sample").set(bench[i], sample);
            type.getMethod("setup").invoke(bench[i]);
            run[i] = type.getMethod(method);
        }
        double[][] micros = new double[2][rounds];
        Object sink = null;
        for (int round = -8; round < rounds; round++) { // 8 rounds of warm-up
            for (int k = 0; k < 2; k++) {
                int i = (round & 1) == 0 ? k : 1 - k;
                long calls = 0;
                long start = System.nanoTime();
                long end = start + 400_000_000L;
                while (System.nanoTime() < end) {
                    for (int j = 0; j < 50; j++) {
                        sink = run[i].invoke(bench[i]);
                    }
                    calls += 50;
                }
                if (round >= 0) {
                    micros[i][round] = (System.nanoTime() - start) / 1e3 / calls;
                }
            }
        }
        int secondWins = 0;
        for (int round = 0; round < rounds; round++) {
            if (micros[1][round] < micros[0][round]) {
                secondWins++;
            }
        }
        for (int i = 0; i < 2; i++) {
            double[] sorted = micros[i].clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "%-40s %s %s: median %.2f µs, lowest %.2f µs%n", roots[i], method, sample,
                    sorted[rounds / 2], sorted[0]);
        }
        System.out.printf(Locale.ROOT, "the second is faster in %d of %d rounds%s%n", secondWins, rounds,
                sink == null ? "" : "");
    }
}
