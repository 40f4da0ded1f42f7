package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve --exit-when-ready}, the training run behind the class-data-sharing archive of the launcher and the
 * JVM image: the packaged server warms up (in process and over HTTPS), exits with 0 once ready, and the JVM writes an
 * archive that a later {@code serve} maps.
 */
class TrainingRunIT {

    static final Path JAR = PackagedApplication.JAR;

    @Test
    void exitsWhenReadyAndLeavesAUsableArchive(@TempDir Path dir) throws Exception {
        Path archive = dir.resolve("app-cds.jsa");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process training = new ProcessBuilder(List.of(java, "-XX:ArchiveClassesAtExit=" + archive, "-jar",
                JAR.toString(), "serve", "--exit-when-ready", "--host", "127.0.0.1", "--port",
                Integer.toString(freePort()), "--tls-dir", dir.resolve("tls").toString())).redirectErrorStream(true)
                .redirectOutput(dir.resolve("training.log").toFile()).start();
        try {
            assertThat(training.waitFor(120, TimeUnit.SECONDS)).as("the training run stops by itself").isTrue();
        } finally {
            training.destroyForcibly();
        }
        String log = Files.readString(dir.resolve("training.log"));
        assertThat(training.exitValue()).as(log).isZero();
        assertThat(log).contains("warm-up done").contains("HTTPS requests").contains("exiting when ready");
        // Quarkus' log format, not the JDK's: the one jar starts Main directly, which installs JBoss LogManager
        assertThat(log)
                .containsPattern("INFO +\\[io\\.egressguard\\.server\\.Warmup\\] \\(egress-guard-warmup\\) warm-up");
        assertThat(archive).as(log).isRegularFile();
        assertThat(Files.size(archive)).isGreaterThan(1_000_000);

        // -Xshare:on makes the JVM fail rather than run without an archive it cannot map
        Process check = new ProcessBuilder(List.of(java, "-XX:SharedArchiveFile=" + archive, "-Xshare:on",
                "-Xlog:cds=info", "-jar", JAR.toString(), "--version")).redirectErrorStream(true).start();
        String out = new String(check.getInputStream().readAllBytes());
        assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue()).as(out).isZero();
        assertThat(out).contains("Mapped dynamic region").contains("egress-guard");
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
