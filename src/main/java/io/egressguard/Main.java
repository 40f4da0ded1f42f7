package io.egressguard;

import io.egressguard.cli.EgressGuardCommand;
import io.quarkus.runtime.annotations.QuarkusMain;
import picocli.CommandLine;

/**
 * The one entry point. {@code serve} boots Quarkus (HTTPS webhook); every other command runs without booting it, so
 * it opens no port, starts fast and prints only its result on standard output.
 */
@QuarkusMain
public final class Main {

    private static final String LOG_MANAGER = "java.util.logging.manager";

    private Main() {
    }

    public static void main(String... args) {
        // the JDK starts this class directly from the one jar (no Quarkus entry point before it): Quarkus logs through
        // JBoss LogManager, which must be the JDK's log manager before anything logs
        if (System.getProperty(LOG_MANAGER) == null) {
            System.setProperty(LOG_MANAGER, "org.jboss.logmanager.LogManager");
        }
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (0 ok, 1 something refused or failed, 2 bad input or usage). */
    public static int run(String... args) {
        return EgressGuardCommand.commandLine().execute(args);
    }
}
