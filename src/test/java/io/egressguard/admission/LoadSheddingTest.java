package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A request that waited past the queue limit is answered at once with a 503, never evaluated late. */
class LoadSheddingTest {

    @Test
    void requestWithinTheLimitIsEvaluated() {
        assertThat(AdmissionEndpoint.shed(1_000L, 1_000L + 1_999_000_000L, Duration.ofSeconds(2))).isNull();
        assertThat(AdmissionEndpoint.shed(null, 5_000_000_000L, Duration.ofSeconds(2))).isNull();
    }

    @Test
    void requestPastTheLimitGets503WithAClearMessage() {
        AdmissionService.Reply r = AdmissionEndpoint.shed(0L, 2_500_000_000L, Duration.ofSeconds(2));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).contains("\"reason\":\"ServiceUnavailable\"")
                .contains("egress-guard is overloaded: the request waited 2500 ms for a worker (limit 2000 ms)");
    }
}
