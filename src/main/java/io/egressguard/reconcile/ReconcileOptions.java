package io.egressguard.reconcile;

import java.time.Duration;
import java.util.Objects;

/**
 * How the reconciler paces itself and elects its leader.
 *
 * @param debounce how long to wait after a change before a pass, so that a burst of changes makes one pass
 * @param resync interval of the periodic pass that repairs drift nobody reported
 * @param backoffInitial wait after the first failed pass; doubles with each further failure
 * @param backoffMax longest wait between failed passes
 * @param leaseNamespace namespace of the coordination.k8s.io Lease (Egress Guard's own)
 * @param leaseName name of the Lease
 * @param identity this replica's name in the Lease (holderIdentity)
 * @param leaseDuration how long a leader's claim lasts without renewal
 * @param renewDeadline how long the leader keeps trying to renew before it steps down
 * @param retryPeriod interval between attempts to acquire or renew the Lease
 */
public record ReconcileOptions(
        Duration debounce,
        Duration resync,
        Duration backoffInitial,
        Duration backoffMax,
        String leaseNamespace,
        String leaseName,
        String identity,
        Duration leaseDuration,
        Duration renewDeadline,
        Duration retryPeriod) {

    /** The Lease's default name. */
    public static final String LEASE_NAME = "egress-guard-reconciler";

    public ReconcileOptions {
        Objects.requireNonNull(debounce, "debounce");
        Objects.requireNonNull(resync, "resync");
        Objects.requireNonNull(leaseNamespace, "leaseNamespace");
        Objects.requireNonNull(leaseName, "leaseName");
        Objects.requireNonNull(identity, "identity");
        if (resync.isZero() || resync.isNegative()) {
            throw new IllegalArgumentException("resync must be positive, got " + resync);
        }
        if (leaseDuration.compareTo(renewDeadline) <= 0 || renewDeadline.compareTo(retryPeriod) <= 0) {
            throw new IllegalArgumentException("leader election needs leaseDuration > renewDeadline > retryPeriod, got "
                    + leaseDuration + ", " + renewDeadline + ", " + retryPeriod);
        }
    }

    /**
     * The defaults: 200 ms debounce, 5 min resync, backoff from 500 ms to 5 min, a Lease of 15 s renewed within 10 s,
     * retried every 2 s (client-go's defaults).
     */
    public static ReconcileOptions defaults(String leaseNamespace, String identity) {
        return new ReconcileOptions(Duration.ofMillis(200), Duration.ofMinutes(5), Duration.ofMillis(500),
                Duration.ofMinutes(5), leaseNamespace, LEASE_NAME, identity, Duration.ofSeconds(15),
                Duration.ofSeconds(10), Duration.ofSeconds(2));
    }
}
