package io.egressguard.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code egress-guard}: the top-level command. */
@Command(name = "egress-guard", mixinStandardHelpOptions = true, versionProvider = EgressGuardCommand.Version.class,
        description = "Keeps every workload's Internet traffic on the Istio egress gateway.",
        subcommands = {ServeCommand.class, CheckCommand.class, RenderCommand.class, TestCommand.class, AuditCommand.class,
            CommandLine.HelpCommand.class})
public final class EgressGuardCommand implements Runnable {

    /** Exit code: everything admitted / passed. */
    public static final int OK = 0;
    /** Exit code: something was refused, or a test failed. */
    public static final int REFUSED = 1;
    /** Exit code: unreadable input or bad usage. */
    public static final int BAD_INPUT = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    /** The command line with Egress Guard's exit-code conventions: usage errors and exceptions exit 2. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EgressGuardCommand());
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + ex.getMessage());
            ex.getCommandLine().usage(err);
            return BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return BAD_INPUT;
        });
        return cl;
    }

    /** Version from the packaged application. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = EgressGuardCommand.class.getPackage().getImplementationVersion();
            return new String[] {"egress-guard " + (v == null ? "development build" : v)};
        }
    }
}
