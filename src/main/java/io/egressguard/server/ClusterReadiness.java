package io.egressguard.server;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the webhook's view of the cluster holds a complete list of Namespaces and NetworkPolicies (at once
 * without cluster access), so that a new replica does not refuse pods only because its caches are still loading.
 */
@ApplicationScoped
@Readiness
public class ClusterReadiness implements HealthCheck {

    @Inject
    ClusterAccess cluster;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("egress-guard-cluster").status(cluster.synced())
                .withData("state", cluster.state()).build();
    }
}
