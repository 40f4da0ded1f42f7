package io.egressguard.reconcile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;

/**
 * The {@code status} Egress Guard writes on its declarations: {@code observedGeneration} and two
 * {@code metav1.Condition}s, {@value #ACCEPTED} and {@value #PROGRAMMED}.
 */
public final class Conditions {

    /** True when the declaration was translated; False (reason {@value #INVALID_SPEC}) when it was refused. */
    public static final String ACCEPTED = "Accepted";
    /** True when the objects generated from the declaration are applied. */
    public static final String PROGRAMMED = "Programmed";

    public static final String REASON_ACCEPTED = "Accepted";
    public static final String INVALID_SPEC = "InvalidSpec";
    public static final String REASON_PROGRAMMED = "Programmed";
    public static final String APPLY_FAILED = "ApplyFailed";
    public static final String PENDING = "Pending";

    /** The CRDs' limit on a condition message. */
    static final int MAX_MESSAGE = 32768;

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /**
     * One condition, without its transition time.
     *
     * @param type {@value #ACCEPTED} or {@value #PROGRAMMED}
     * @param status {@code True} or {@code False}
     * @param reason CamelCase reason
     * @param message human-readable detail
     */
    public record Condition(String type, boolean status, String reason, String message) {

        public Condition {
            Objects.requireNonNull(type);
            Objects.requireNonNull(reason);
            message = message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE - 3) + "..." : message;
        }

        String statusText() {
            return status ? "True" : "False";
        }
    }

    private Conditions() {
    }

    /**
     * The status to write, keeping each condition's {@code lastTransitionTime} from {@code current} when its status
     * did not change.
     *
     * @param current the object's current {@code status} (missing or null when it has none)
     * @param generation the object's {@code metadata.generation}
     * @param wanted the conditions, in the order they are written
     * @param now the transition time of conditions whose status changes
     */
    public static ObjectNode status(JsonNode current, long generation, List<Condition> wanted, Instant now) {
        ObjectNode status = JSON.objectNode();
        status.put("observedGeneration", generation);
        ArrayNode list = status.putArray("conditions");
        String time = now.truncatedTo(ChronoUnit.SECONDS).toString();
        for (Condition c : wanted) {
            JsonNode previous = find(current, c.type());
            String since = previous != null && c.statusText().equals(previous.path("status").asText())
                    && previous.path("lastTransitionTime").isTextual()
                    ? previous.path("lastTransitionTime").asText() : time;
            ObjectNode node = list.addObject();
            node.put("type", c.type());
            node.put("status", c.statusText());
            node.put("observedGeneration", generation);
            node.put("lastTransitionTime", since);
            node.put("reason", c.reason());
            node.put("message", c.message());
        }
        return status;
    }

    /**
     * Whether {@code current} already says what {@code wanted} says: same observed generation and, for each wanted
     * condition in the same order, the same type, status, reason, message and observed generation.
     */
    public static boolean upToDate(JsonNode current, long generation, List<Condition> wanted) {
        if (current == null || !current.isObject() || current.path("observedGeneration").asLong(-1) != generation) {
            return false;
        }
        JsonNode list = current.path("conditions");
        if (!list.isArray() || list.size() != wanted.size()) {
            return false;
        }
        for (int i = 0; i < wanted.size(); i++) {
            Condition c = wanted.get(i);
            JsonNode node = list.get(i);
            if (!c.type().equals(node.path("type").asText()) || !c.statusText().equals(node.path("status").asText())
                    || !c.reason().equals(node.path("reason").asText())
                    || !c.message().equals(node.path("message").asText())
                    || node.path("observedGeneration").asLong(-1) != generation
                    || !node.path("lastTransitionTime").isTextual()) {
                return false;
            }
        }
        return true;
    }

    /** The condition of this type in a status, or null. */
    public static JsonNode find(JsonNode status, String type) {
        if (status == null) {
            return null;
        }
        for (JsonNode c : status.path("conditions")) {
            if (type.equals(c.path("type").asText())) {
                return c;
            }
        }
        return null;
    }
}
