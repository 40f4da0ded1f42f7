package io.egressguard.server;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;

/** The running webhook: Quarkus serves HTTPS until it is asked to stop. */
public final class ServeApplication implements QuarkusApplication {

    @Override
    public int run(String... args) {
        Quarkus.waitForExit();
        return 0;
    }
}
