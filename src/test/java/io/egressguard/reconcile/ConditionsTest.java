package io.egressguard.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.translate.TranslationProblem;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Status conditions (metav1.Condition) and the comparison that keeps passes from rewriting what is up to date. */
class ConditionsTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Instant T1 = Instant.parse("2026-01-02T03:04:05.678Z");
    static final Instant T2 = Instant.parse("2026-01-02T04:00:00Z");

    static final List<Conditions.Condition> OK = List.of(
            new Conditions.Condition(Conditions.ACCEPTED, true, "Accepted", "translated"),
            new Conditions.Condition(Conditions.PROGRAMMED, true, "Programmed", "1 generated object is applied"));

    @Test
    void writesMetav1ConditionsWithObservedGeneration() {
        ObjectNode status = Conditions.status(null, 3, OK, T1);
        assertThat(status.path("observedGeneration").asLong()).isEqualTo(3);
        JsonNode accepted = status.path("conditions").get(0);
        assertThat(accepted.path("type").asText()).isEqualTo("Accepted");
        assertThat(accepted.path("status").asText()).isEqualTo("True");
        assertThat(accepted.path("observedGeneration").asLong()).isEqualTo(3);
        assertThat(accepted.path("lastTransitionTime").asText()).isEqualTo("2026-01-02T03:04:05Z");
        assertThat(accepted.path("reason").asText()).isEqualTo("Accepted");
        assertThat(accepted.path("message").asText()).isEqualTo("translated");
    }

    @Test
    void keepsTheTransitionTimeWhileTheStatusStaysTheSame() {
        ObjectNode first = Conditions.status(null, 1, OK, T1);
        List<Conditions.Condition> failing = List.of(OK.get(0),
                new Conditions.Condition(Conditions.PROGRAMMED, false, "ApplyFailed", "HTTP 500"));
        ObjectNode second = Conditions.status(first, 2, failing, T2);
        assertThat(second.path("conditions").get(0).path("lastTransitionTime").asText())
                .isEqualTo("2026-01-02T03:04:05Z");
        assertThat(second.path("conditions").get(1).path("lastTransitionTime").asText())
                .isEqualTo("2026-01-02T04:00:00Z");
    }

    @Test
    void isUpToDateOnlyWhenEveryFieldAndTheGenerationMatch() {
        ObjectNode status = Conditions.status(null, 1, OK, T1);
        assertThat(Conditions.upToDate(status, 1, OK)).isTrue();
        assertThat(Conditions.upToDate(status, 2, OK)).isFalse();
        assertThat(Conditions.upToDate(status, 1, List.of(OK.get(0),
                new Conditions.Condition(Conditions.PROGRAMMED, true, "Programmed", "2 generated objects")))).isFalse();
        assertThat(Conditions.upToDate(null, 1, OK)).isFalse();
    }

    @Test
    void refusedDeclarationGetsInvalidSpecWithEveryRefusalAndPendingProgrammed() {
        List<TranslationProblem> problems = List.of(
                new TranslationProblem("ExternalService/shop/api", "spec.hosts[0]", "\"*.com\" is a public suffix",
                        true),
                new TranslationProblem("ExternalService/shop/api", "spec.ports[0].number", "required", true),
                new TranslationProblem("ExternalService/shop/other", "spec", "unrelated", true));
        List<Conditions.Condition> c = EgressReconciler.conditions("ExternalService/shop/api", problems, Map.of(),
                Map.of());
        assertThat(c.get(0)).isEqualTo(new Conditions.Condition("Accepted", false, "InvalidSpec",
                "spec.hosts[0]: \"*.com\" is a public suffix\nspec.ports[0].number: required"));
        assertThat(c.get(1).type()).isEqualTo("Programmed");
        assertThat(c.get(1).status()).isFalse();
        assertThat(c.get(1).reason()).isEqualTo("Pending");
    }

    @Test
    void warningsKeepTheDeclarationAccepted() {
        List<TranslationProblem> problems = List.of(new TranslationProblem("AccessPolicy/shop/p",
                "spec.applyToDestinations[0]", "selects no ExternalService", false));
        List<Conditions.Condition> c = EgressReconciler.conditions("AccessPolicy/shop/p", problems, Map.of(),
                Map.of());
        assertThat(c.get(0).status()).isTrue();
        assertThat(c.get(0).message()).contains("selects no ExternalService");
        assertThat(c.get(1)).isEqualTo(new Conditions.Condition("Programmed", true, "Programmed",
                "no objects to generate"));
    }

    @Test
    void desiredObjectIsUpToDateWhenTheClusterCopyCarriesItsFieldsWhateverTheNumberTypes() throws Exception {
        ObjectNode desired = (ObjectNode) MAPPER.readTree("""
                {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
                 "metadata":{"name":"p","namespace":"shop","labels":{"app.kubernetes.io/managed-by":"egress-guard"},
                             "annotations":{"egressguard.io/source":"Namespace/shop"}},
                 "spec":{"egress":[{"ports":[{"protocol":"UDP","port":53}]}]}}""");
        JsonNode actual = MAPPER.readTree("""
                {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
                 "metadata":{"name":"p","namespace":"shop","resourceVersion":"7","uid":"u",
                             "labels":{"app.kubernetes.io/managed-by":"egress-guard","team":"a"},
                             "annotations":{"egressguard.io/source":"Namespace/shop","note":"x"}},
                 "spec":{"egress":[{"ports":[{"protocol":"UDP","port":53.0}]}]}}""");
        assertThat(EgressReconciler.upToDate(desired, actual)).isTrue();
        ((ObjectNode) actual.path("metadata").path("labels")).remove("app.kubernetes.io/managed-by");
        assertThat(EgressReconciler.upToDate(desired, actual)).isFalse();
        ((ObjectNode) actual.path("metadata").path("labels")).put("app.kubernetes.io/managed-by", "egress-guard");
        ((ObjectNode) actual.path("spec").path("egress").get(0).path("ports").get(0)).put("port", 54);
        assertThat(EgressReconciler.upToDate(desired, actual)).isFalse();
    }
}
