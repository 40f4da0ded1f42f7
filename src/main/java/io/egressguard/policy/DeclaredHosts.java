package io.egressguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.TreeSet;

/**
 * The external hosts that ExternalService declarations name: what policies see as {@code egressguard.externalHosts}.
 * Tenants may not route or re-configure these hosts themselves; the generated objects do that.
 */
public final class DeclaredHosts {

    private DeclaredHosts() {
    }

    /** The hosts of every ExternalService ({@code egressguard.io} or Gloo Mesh's apiVersion) among the objects. */
    public static List<String> from(Iterable<? extends JsonNode> objects) {
        TreeSet<String> hosts = new TreeSet<>();
        for (JsonNode o : objects) {
            String apiVersion = o.path("apiVersion").asText("");
            if ("ExternalService".equals(o.path("kind").asText())
                    && (apiVersion.startsWith("egressguard.io/") || apiVersion.startsWith("networking.gloo.solo.io/"))) {
                for (JsonNode h : o.path("spec").path("hosts")) {
                    if (h.isTextual() && !h.asText().isBlank()) {
                        hosts.add(h.asText().toLowerCase(java.util.Locale.ROOT));
                    }
                }
            }
        }
        return List.copyOf(hosts);
    }
}
