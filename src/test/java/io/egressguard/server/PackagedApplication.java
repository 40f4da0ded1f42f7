package io.egressguard.server;

import java.nio.file.Path;

/** The packaged application that the integration tests start as a process, as the launcher and the image run it. */
public final class PackagedApplication {

    /** The one jar that {@code ./mvnw package} builds ({@code quarkus.package.jar.type=uber-jar}). */
    public static final Path JAR = Path.of("target", "egress-guard-runner.jar");

    private PackagedApplication() {
    }
}
