package io.egressguard.admission;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;

/** The view of a webhook running without cluster access: no namespace objects, no gating. */
@ApplicationScoped
@DefaultBean
public class NoClusterView implements ClusterView {

    @Override
    public boolean active() {
        return false;
    }

    @Override
    public Optional<Object> namespace(String name) {
        return Optional.empty();
    }

    @Override
    public Optional<String> podsNotYetAllowed(String namespace) {
        return Optional.empty();
    }
}
