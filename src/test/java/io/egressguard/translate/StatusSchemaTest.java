package io.egressguard.translate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.reconcile.Conditions;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The status the reconciler writes is valid for the status schema of each of the three CRDs. */
class StatusSchemaTest {

    static CrdSchemas schemas;

    @BeforeAll
    static void loadSchemas() {
        schemas = CrdSchemas.load();
    }

    @Test
    void acceptedAndProgrammedConditionsMatchEveryDeclarationSchema() {
        List<List<Conditions.Condition>> statuses = List.of(
                List.of(new Conditions.Condition(Conditions.ACCEPTED, true, Conditions.REASON_ACCEPTED, "translated"),
                        new Conditions.Condition(Conditions.PROGRAMMED, true, Conditions.REASON_PROGRAMMED,
                                "1 generated object is applied: Sidecar shop/egress-guard")),
                List.of(new Conditions.Condition(Conditions.ACCEPTED, false, Conditions.INVALID_SPEC,
                                "spec.hosts[0]: \"*.com\" is a public suffix"),
                        new Conditions.Condition(Conditions.PROGRAMMED, false, Conditions.PENDING, "refused")),
                List.of(new Conditions.Condition(Conditions.ACCEPTED, true, Conditions.REASON_ACCEPTED, "translated"),
                        new Conditions.Condition(Conditions.PROGRAMMED, false, Conditions.APPLY_FAILED,
                                "x".repeat(40_000))));
        for (String kind : List.of("ExternalService", "VirtualGateway", "AccessPolicy")) {
            for (List<Conditions.Condition> conditions : statuses) {
                ObjectNode declaration = GoldenYaml.YAML.createObjectNode();
                declaration.put("apiVersion", EgressTranslator.API_VERSION);
                declaration.put("kind", kind);
                declaration.putObject("metadata").put("name", "d").put("namespace", "shop");
                declaration.set("spec", spec(kind));
                declaration.set("status", Conditions.status(null, 7, conditions, Instant.now()));
                assertThat(schemas.validate(declaration)).as(kind + " " + conditions.get(1).reason()).isEmpty();
            }
        }
    }

    private static ObjectNode spec(String kind) {
        ObjectNode spec = GoldenYaml.YAML.createObjectNode();
        switch (kind) {
            case "ExternalService" -> {
                spec.putArray("hosts").add("httpbin.org");
                spec.putArray("ports").addObject().put("number", 443).put("name", "https").put("protocol", "HTTPS");
            }
            case "VirtualGateway" -> spec.putArray("listeners").addObject().putObject("port").put("number", 443);
            default -> {
                spec.putArray("applyToDestinations").addObject().put("kind", "EXTERNAL_SERVICE")
                        .putObject("selector").put("name", "httpbin.org");
                spec.putObject("config").putArray("authzList").addObject().putArray("allowedClients").addObject()
                        .putObject("serviceAccountSelector").put("namespace", "shop");
            }
        }
        return spec;
    }
}
