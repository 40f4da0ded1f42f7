package io.egressguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** A Kubernetes label selector ({@code matchLabels} and {@code matchExpressions}); empty matches everything. */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> requirements) {

    public static final LabelSelector EVERYTHING = new LabelSelector(Map.of(), List.of());

    /** One {@code matchExpressions} entry. */
    public record Requirement(String key, String operator, Set<String> values) {
    }

    public static LabelSelector parse(JsonNode node, String where) throws PolicyException {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return EVERYTHING;
        }
        Map<String, String> labels = new java.util.TreeMap<>();
        node.path("matchLabels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        List<Requirement> reqs = new ArrayList<>();
        for (JsonNode expr : node.path("matchExpressions")) {
            String op = expr.path("operator").asText();
            if (!Set.of("In", "NotIn", "Exists", "DoesNotExist").contains(op)) {
                throw new PolicyException(where + ": unknown selector operator \"" + op + "\"");
            }
            Set<String> values = new TreeSet<>();
            expr.path("values").forEach(v -> values.add(v.asText()));
            reqs.add(new Requirement(expr.path("key").asText(), op, values));
        }
        return new LabelSelector(Map.copyOf(labels), List.copyOf(reqs));
    }

    public boolean isEmpty() {
        return matchLabels.isEmpty() && requirements.isEmpty();
    }

    public boolean matches(Map<String, ?> labels) {
        for (Map.Entry<String, String> e : matchLabels.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        for (Requirement r : requirements) {
            Object v = labels.get(r.key());
            boolean has = v != null;
            boolean ok = switch (r.operator()) {
                case "In" -> has && r.values().contains(String.valueOf(v));
                case "NotIn" -> !has || !r.values().contains(String.valueOf(v));
                case "Exists" -> has;
                default -> !has;
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
