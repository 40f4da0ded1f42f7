package io.egressguard.server;

import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.PolicyException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.List;
import org.jboss.logging.Logger;

/** Compiles the policies once, at startup; a policy that does not compile stops the server from starting. */
@ApplicationScoped
public class EngineProducer {

    private static final Logger LOG = Logger.getLogger(EngineProducer.class);

    @Produces
    @Singleton
    PolicyEngine engine(EgressGuardConfig config) {
        long start = System.nanoTime();
        try {
            PolicyEngine engine = PolicyEngine.load(config.builtinPolicies(), config.policyDirs().orElse(List.of()),
                    config.toSettings());
            LOG.infof("compiled %d policies in %d ms", engine.policies().size(),
                    (System.nanoTime() - start) / 1_000_000);
            return engine;
        } catch (PolicyException e) {
            throw new IllegalStateException("policies failed to compile:\n" + e.getMessage());
        }
    }
}
