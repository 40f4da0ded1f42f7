package io.egressguard.reconcile;

import java.time.Duration;
import java.util.Objects;

/**
 * Exponential backoff, capped: after the n-th consecutive failure the next attempt waits {@code initial * 2^(n-1)},
 * never more than {@code max}; a success resets it. Not thread-safe: the reconciler uses it from its one thread.
 */
public final class Backoff {

    private final Duration initial;
    private final Duration max;
    private volatile int failures;

    /** A backoff that starts at {@code initial} and doubles up to {@code max}. */
    public Backoff(Duration initial, Duration max) {
        this.initial = Objects.requireNonNull(initial, "initial");
        this.max = Objects.requireNonNull(max, "max");
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max, got " + initial + " and " + max);
        }
    }

    /** Records a failure and returns how long to wait before the next attempt. */
    public Duration failed() {
        failures++;
        return current();
    }

    /** Records a success: the next failure waits {@code initial} again. */
    public void succeeded() {
        failures = 0;
    }

    /** Consecutive failures so far. */
    public int failures() {
        return failures;
    }

    /** The wait after the failures recorded so far ({@link Duration#ZERO} when there were none). */
    public Duration current() {
        if (failures == 0) {
            return Duration.ZERO;
        }
        Duration d = initial;
        for (int i = 1; i < failures; i++) {
            d = d.multipliedBy(2);
            if (d.compareTo(max) >= 0) {
                return max;
            }
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}
