package io.egressguard.cli;

import io.egressguard.manifest.ManifestException;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import io.egressguard.policy.PolicySuite;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code test [DIR]}: runs every policy's allowed and denied fixtures and prints a table. */
@Command(name = "test", description = "Run every policy's tests/allowed and tests/denied fixtures.",
        mixinStandardHelpOptions = true)
public final class TestCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "DIR",
            description = "Folder of policies (default: the policies folder of this installation).")
    Path dir;

    @Mixin
    PolicyOptions policyOptions;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path folder = dir != null ? dir : defaultFolder();
        if (folder == null || !Files.isDirectory(folder)) {
            err.println("error: " + (folder == null ? "no policies folder found; give DIR"
                    : folder + ": not a folder"));
            return EgressGuardCommand.BAD_INPUT;
        }
        List<PolicySuite.CaseResult> results;
        try {
            policyOptions.policyDirs.add(folder);
            PolicyEngine engine = policyOptions.engine();
            results = PolicySuite.run(engine, folder);
        } catch (PolicyException | ManifestException e) {
            err.println("error: " + e.getMessage());
            return EgressGuardCommand.BAD_INPUT;
        }
        int idWidth = Math.max(6, results.stream().mapToInt(r -> r.policyId().length()).max().orElse(6));
        int caseWidth = Math.max(4, results.stream().mapToInt(r -> r.fixture().length()).max().orElse(4));
        String row = "%-" + idWidth + "s  %-7s  %-" + caseWidth + "s  %s%n";
        out.printf(row, "POLICY", "EXPECT", "CASE", "RESULT");
        long failed = 0;
        for (PolicySuite.CaseResult r : results) {
            if (!r.passed()) {
                failed++;
            }
            out.printf(row, r.policyId(), r.expectation(), r.fixture(),
                    r.passed() ? "ok" : "FAIL: " + r.detail());
        }
        out.println((results.size() - failed) + " passed, " + failed + " failed");
        out.flush();
        return failed == 0 ? EgressGuardCommand.OK : EgressGuardCommand.REFUSED;
    }

    /** The policies folder of the installation (set by the launcher), else ./policies. */
    private static Path defaultFolder() {
        String home = System.getenv("EGRESS_GUARD_HOME");
        Path candidate = home != null && !home.isBlank() ? Path.of(home, "policies") : Path.of("policies");
        return Files.isDirectory(candidate) ? candidate : null;
    }
}
