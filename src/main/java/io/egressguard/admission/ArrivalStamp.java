package io.egressguard.admission;

import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/** Stamps every request with its arrival time on the event loop, before it waits for a worker thread. */
@ApplicationScoped
public class ArrivalStamp {

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE).handler(rc -> {
            rc.put(AdmissionEndpoint.ARRIVAL, System.nanoTime());
            rc.next();
        });
    }
}
