package io.egressguard.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void doublesFromTheInitialWaitUpToTheCap() {
        Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(5));
        List<Duration> waits = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            waits.add(backoff.failed());
        }
        assertThat(waits).containsExactly(Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2),
                Duration.ofSeconds(4), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5));
        assertThat(backoff.failures()).isEqualTo(7);
    }

    @Test
    void aSuccessResetsIt() {
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofMinutes(5));
        backoff.failed();
        backoff.failed();
        backoff.succeeded();
        assertThat(backoff.current()).isEqualTo(Duration.ZERO);
        assertThat(backoff.failed()).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void neverOverflowsAfterManyFailures() {
        Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofMinutes(5));
        for (int i = 0; i < 10_000; i++) {
            backoff.failed();
        }
        assertThat(backoff.current()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void refusesACapBelowTheInitialWait() {
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
