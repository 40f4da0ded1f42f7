package io.egressguard.admission;

import io.egressguard.server.EgressGuardConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.configuration.MemorySize;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * The threads that decode, evaluate and answer admission reviews, one per core by default.
 *
 * <p>The endpoints run on the event loop only long enough to hand over a body that RESTEasy has already read there
 * (see {@code quarkus.rest.input-buffer-size}), so no thread waits on a slow client and a review is CPU work from
 * start to end: more threads than cores would only take turns. Past saturation the queue is bounded twice. A request
 * that would put more than {@code egressguard.max-queued-body-size} of bodies in the queue is answered at once with
 * 503; a request that waited longer than {@code egressguard.max-queue-time} (2 s, under the API server's 5 s webhook
 * timeout) in the queue is answered with 503 instead of being evaluated late. The API server then applies the webhook's
 * failurePolicy (Fail: the request is refused with that message, and a controller retries).
 */
@ApplicationScoped
public class ReviewPool {

    private static final Logger LOG = Logger.getLogger(ReviewPool.class);

    private final ThreadPoolExecutor executor;
    private final Duration maxQueueTime;
    private final long maxQueuedBytes;
    private final AtomicLong queuedBytes = new AtomicLong();
    private final Counter shedLate;
    private final Counter shedFull;

    @Inject
    public ReviewPool(EgressGuardConfig config, MeterRegistry registry) {
        this(config.reviewThreads(), config.maxQueueTime(), config.maxQueuedBodySize(), registry);
    }

    ReviewPool(int threads, Duration maxQueueTime, MemorySize maxQueued, MeterRegistry registry) {
        int n = threads > 0 ? threads : Math.max(2, Runtime.getRuntime().availableProcessors());
        AtomicInteger count = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(n, n, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "egress-guard-review-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.maxQueueTime = maxQueueTime;
        this.maxQueuedBytes = maxQueued.asLongValue();
        Gauge.builder("egressguard.review.queue", executor, e -> e.getQueue().size())
                .description("Admission reviews waiting for a review thread").register(registry);
        Gauge.builder("egressguard.review.threads", executor, ThreadPoolExecutor::getPoolSize)
                .description("Review threads").register(registry);
        this.shedLate = Counter.builder("egressguard.admission.shed").tag("reason", "waited")
                .description("Reviews answered 503 because the server was overloaded").register(registry);
        this.shedFull = Counter.builder("egressguard.admission.shed").tag("reason", "queue-full")
                .description("Reviews answered 503 because the server was overloaded").register(registry);
        LOG.debugf("review pool: %s threads, max queue time %s, max queued bodies %s bytes", (Object) n, maxQueueTime,
                maxQueuedBytes);
    }

    /** The number of review threads. */
    public int threads() {
        return executor.getCorePoolSize();
    }

    /**
     * Runs {@code review} on a review thread, unless the queue is full (then the 503 is the answer at once) or the
     * request has waited too long by the time a thread takes it (then the 503 is the answer, without the review).
     *
     * @param bodyBytes the size of the body the review holds while it waits
     */
    public CompletionStage<AdmissionService.Reply> submit(int bodyBytes, Supplier<AdmissionService.Reply> review) {
        return submit(System.nanoTime(), bodyBytes, review);
    }

    /** As {@link #submit(int, Supplier)}, for a request queued at {@code queuedNanos} ({@link System#nanoTime()}). */
    CompletionStage<AdmissionService.Reply> submit(long queuedNanos, int bodyBytes,
            Supplier<AdmissionService.Reply> review) {
        CompletableFuture<AdmissionService.Reply> result = new CompletableFuture<>();
        long queued = queuedBytes.addAndGet(bodyBytes);
        if (queued > maxQueuedBytes && queued > bodyBytes) {
            // a body alone larger than the budget is still taken when nothing else waits
            queuedBytes.addAndGet(-bodyBytes);
            shedFull.increment();
            result.complete(queueFull(executor.getQueue().size(), queued - bodyBytes, maxQueuedBytes));
            return result;
        }
        try {
            executor.execute(() -> {
                queuedBytes.addAndGet(-bodyBytes);
                try {
                    AdmissionService.Reply late = shed(queuedNanos, System.nanoTime(), maxQueueTime);
                    if (late != null) {
                        shedLate.increment();
                        result.complete(late);
                    } else {
                        result.complete(review.get());
                    }
                } catch (Throwable t) {
                    // AdmissionService answers for exceptions in evaluation; what reaches here (an Error, or a bug
                    // outside evaluation) gets the same JSON error body as every other failure, not RESTEasy's page
                    LOG.error("internal error while reviewing an admission request", t);
                    result.complete(internalError(t));
                }
            });
        } catch (RejectedExecutionException e) {
            queuedBytes.addAndGet(-bodyBytes);
            result.complete(AdmissionService.error(503, "ServiceUnavailable",
                    "egress-guard is shutting down; retry"));
        }
        return result;
    }

    /** The 503 answer for a request that waited too long, or null when it may be evaluated. */
    static AdmissionService.Reply shed(long queuedNanos, long nowNanos, Duration maxQueueTime) {
        long waited = nowNanos - queuedNanos;
        if (waited <= maxQueueTime.toNanos()) {
            return null;
        }
        return AdmissionService.error(503, "ServiceUnavailable", "egress-guard is overloaded: the request waited "
                + waited / 1_000_000 + " ms for a review thread (limit " + maxQueueTime.toMillis() + " ms); retry");
    }

    /**
     * The 500 answer for a review that failed outside evaluation. The API server applies the webhook's failurePolicy
     * to it: in enforce mode (Fail) the request is refused with this message.
     */
    static AdmissionService.Reply internalError(Throwable t) {
        return AdmissionService.error(500, "InternalError", "egress-guard: internal error while reviewing the request ("
                + t.getClass().getSimpleName() + "); see the egress-guard log");
    }

    /** The 503 answer for a request that would overfill the queue. */
    static AdmissionService.Reply queueFull(int waiting, long queuedBytes, long maxQueuedBytes) {
        return AdmissionService.error(503, "ServiceUnavailable", "egress-guard is overloaded: " + waiting
                + " requests with " + size(queuedBytes) + " of bodies are waiting for a review thread (limit "
                + size(maxQueuedBytes) + "); retry");
    }

    private static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        if (bytes < 1024 * 1024) {
            return bytes / 1024 + " KiB";
        }
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }

    /**
     * Lets the reviews in the queue finish. Quarkus destroys the bean after its graceful shutdown has drained the
     * requests in flight, so this normally finds the queue empty.
     */
    @PreDestroy
    void stop() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
