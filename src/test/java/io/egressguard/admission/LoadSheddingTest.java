package io.egressguard.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.runtime.configuration.MemorySize;
import java.math.BigInteger;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Past saturation a request is answered at once with a 503, never evaluated late: when it waited past the queue
 * limit, or when the bodies already waiting fill the queue's budget.
 */
class LoadSheddingTest {

    static final AdmissionService.Reply OK = new AdmissionService.Reply(200, "{}");

    @Test
    void requestWithinTheLimitIsEvaluated() {
        assertThat(ReviewPool.shed(1_000L, 1_000L + 1_999_000_000L, Duration.ofSeconds(2))).isNull();
    }

    @Test
    void requestPastTheLimitGets503WithAClearMessage() {
        AdmissionService.Reply r = ReviewPool.shed(0L, 2_500_000_000L, Duration.ofSeconds(2));
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.body()).contains("\"reason\":\"ServiceUnavailable\"")
                .contains("egress-guard is overloaded: the request waited 2500 ms for a review thread (limit 2000 ms)");
    }

    @Test
    void poolShedsALateRequestWithoutRunningIt() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ReviewPool pool = new ReviewPool(1, Duration.ofMillis(100), new MemorySize(BigInteger.valueOf(1 << 20)),
                registry);
        try {
            boolean[] ran = {false};
            AdmissionService.Reply late = pool.submit(System.nanoTime() - TimeUnit.SECONDS.toNanos(1), 10, () -> {
                ran[0] = true;
                return OK;
            }).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(late.status()).isEqualTo(503);
            assertThat(late.body()).contains("waited").contains("limit 100 ms");
            assertThat(ran[0]).isFalse();
            assertThat(pool.submit(10, () -> OK).toCompletableFuture().get(5, TimeUnit.SECONDS))
                    .isSameAs(OK);
            assertThat(registry.get("egressguard.admission.shed").tag("reason", "waited").counter().count())
                    .isEqualTo(1.0);
        } finally {
            pool.stop();
        }
    }

    @Test
    void poolShedsWhenTheQueuedBodiesFillItsBudget() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ReviewPool pool = new ReviewPool(1, Duration.ofSeconds(30), new MemorySize(BigInteger.valueOf(1000)),
                registry);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            // the only thread is busy; bodies of 400 bytes wait
            CompletionStage<AdmissionService.Reply> busy = pool.submit(400, () -> {
                started.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return OK;
            });
            // once the thread has taken it, its body no longer counts as waiting
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            CompletionStage<AdmissionService.Reply> first = pool.submit(400, () -> OK);
            CompletionStage<AdmissionService.Reply> second = pool.submit(400, () -> OK);
            AdmissionService.Reply third = pool.submit(400, () -> OK).toCompletableFuture()
                    .get(1, TimeUnit.SECONDS);
            assertThat(third.status()).isEqualTo(503);
            assertThat(third.body()).contains("\"reason\":\"ServiceUnavailable\"")
                    .contains("egress-guard is overloaded: 2 requests with 800 bytes of bodies are waiting for a "
                            + "review thread (limit 1000 bytes); retry");
            assertThat(ReviewPool.queueFull(70, 3 << 20, 32 << 20).body())
                    .contains("70 requests with 3.0 MiB of bodies are waiting for a review thread (limit 32.0 MiB)");
            release.countDown();
            assertThat(busy.toCompletableFuture().get(5, TimeUnit.SECONDS)).isSameAs(OK);
            assertThat(first.toCompletableFuture().get(5, TimeUnit.SECONDS)).isSameAs(OK);
            assertThat(second.toCompletableFuture().get(5, TimeUnit.SECONDS)).isSameAs(OK);
            // once drained, a body larger than the whole budget is still taken when nothing else waits
            assertThat(pool.submit(5000, () -> OK).toCompletableFuture().get(5, TimeUnit.SECONDS)).isSameAs(OK);
            assertThat(registry.get("egressguard.admission.shed").tag("reason", "queue-full").counter().count())
                    .isEqualTo(1.0);
        } finally {
            release.countDown();
            pool.stop();
        }
    }

    @Test
    void reviewThatThrowsAnErrorGetsAJson500AndThePoolKeepsWorking() throws Exception {
        ReviewPool pool = new ReviewPool(1, Duration.ofSeconds(2), new MemorySize(BigInteger.valueOf(1 << 20)),
                new SimpleMeterRegistry());
        try {
            AdmissionService.Reply failed = pool.submit(10, () -> {
                throw new StackOverflowError();
            }).toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertThat(failed.status()).isEqualTo(500);
            assertThat(failed.body()).contains("\"kind\":\"Status\"").contains("\"reason\":\"InternalError\"")
                    .contains("internal error while reviewing the request (StackOverflowError)")
                    .doesNotContain("\tat ");
            assertThat(pool.submit(10, () -> OK).toCompletableFuture().get(5, TimeUnit.SECONDS)).isSameAs(OK);
        } finally {
            pool.stop();
        }
    }
}
