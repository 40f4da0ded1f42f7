package io.egressguard.server;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;

/** Ready once the policies are compiled and the warm-up has run. */
@ApplicationScoped
@org.eclipse.microprofile.health.Readiness
public class ReadinessCheck implements HealthCheck {

    private volatile boolean warm;
    private volatile String detail = "warming up";

    void ready(String detail) {
        this.detail = detail;
        this.warm = true;
    }

    public boolean isReady() {
        return warm;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("egress-guard").status(warm).withData("state", detail).build();
    }
}
