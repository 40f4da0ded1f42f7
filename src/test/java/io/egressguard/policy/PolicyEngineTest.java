package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.egressguard.Settings;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyEngineTest {

    static final ObjectMapper MAPPER = new ObjectMapper();
    static final PolicyCompiler COMPILER = new PolicyCompiler();

    static String policy(String name, String spec) {
        return "apiVersion: admissionregistration.k8s.io/v1\n"
                + "kind: ValidatingAdmissionPolicy\n"
                + "metadata:\n"
                + "  name: " + name + "\n"
                + "spec:\n"
                + "  matchConstraints:\n"
                + "    resourceRules:\n"
                + "    - apiGroups: [\"\"]\n"
                + "      apiVersions: [\"v1\"]\n"
                + "      resources: [\"pods\"]\n"
                + "      operations: [\"CREATE\", \"UPDATE\"]\n"
                + spec;
    }

    static Policy compile(String name, String spec) throws PolicyException {
        return COMPILER.compile(new PolicySource("policies/" + name + "/policy.yaml", name, policy(name, spec)));
    }

    static PolicyEngine engine(Policy... policies) {
        return new PolicyEngine(List.of(policies), Settings.defaults());
    }

    static AdmissionAttributes pod(String json) throws Exception {
        JsonNode tree = MAPPER.readTree(json);
        return AdmissionAttributes.ofManifest(tree, "team-a", "tester").orElseThrow();
    }

    static final String POD = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\","
            + "\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"}]}}";

    @Test
    void reportsUndeclaredReferenceWithFileLineColumnAndCaret() {
        assertThatThrownBy(() -> compile("bad-ref", "  validations:\n  - expression: \"objct.spec != null\"\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessage("policies/bad-ref/policy.yaml:13:18: undeclared reference to 'objct' (in container '')\n"
                        + " |   - expression: \"objct.spec != null\"\n"
                        + " |                  ^");
    }

    @Test
    void reportsErrorInsideLiteralBlockOnItsOwnLine() {
        String spec = "  validations:\n  - expression: |\n      object.spec != null &&\n      objct.x == 1\n";
        assertThatThrownBy(() -> compile("bad-block", spec))
                .isInstanceOf(PolicyException.class)
                .hasMessage("policies/bad-block/policy.yaml:15:7: undeclared reference to 'objct' (in container '')\n"
                        + " |       objct.x == 1\n"
                        + " |       ^");
    }

    @Test
    void reportsErrorInsideFoldedBlock() {
        String spec = "  validations:\n  - expression: >-\n      object.spec != null &&\n      objct.x == 1\n";
        assertThatThrownBy(() -> compile("bad-fold", spec))
                .isInstanceOf(PolicyException.class)
                .hasMessageStartingWith("policies/bad-fold/policy.yaml:15:7: undeclared reference to 'objct'");
    }

    @Test
    void refusesUnknownFieldsWithTheirLine() {
        assertThatThrownBy(() -> compile("typo", "  validations:\n  - expresion: \"true\"\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("policies/typo/policy.yaml:13: unknown field \"expresion\"")
                .hasMessageContaining("expression is required");
    }

    @Test
    void refusesANonBooleanValidation() {
        assertThatThrownBy(() -> compile("not-bool", "  validations:\n  - expression: \"'yes'\"\n"))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("expression must evaluate to bool, not string");
    }

    @Test
    void refusesWhatKubernetesRefusesAtCompileTime() {
        assertThatThrownBy(() -> compile("lookaround", "  validations:\n  - expression: \"'ab'.matches('a(?=b)')\"\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("policies/lookaround/policy.yaml:13:");
        assertThatThrownBy(() -> compile("mixed", "  validations:\n  - expression: \"[1, 'a'].size() == 2\"\n"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("policies/mixed/policy.yaml:13:");
        assertThatThrownBy(() -> compile("bind", "  validations:\n  - expression: \"cel.bind(x, 1, x == 1)\"\n"))
                .isInstanceOf(PolicyException.class);
    }

    @Test
    void cidrLibraryWorksOnObjectFields() throws Exception {
        Policy p = compile("cidrs", "  validations:\n  - expression: >-\n"
                + "      egressguard.clusterCidrs.exists(c, cidr(c).containsIP(object.metadata.labels.addr))\n"
                + "    messageExpression: \"'metadata.labels.addr: ' + object.metadata.labels.addr + ' is outside'\"\n");
        PolicyEngine engine = engine(p);
        assertThat(engine.evaluate(pod(POD.replace("\"app\":\"web\"", "\"addr\":\"10.244.3.7\""))).allowed())
                .isTrue();
        assertThat(engine.evaluate(pod(POD.replace("\"app\":\"web\"", "\"addr\":\"203.0.113.9\"")))
                .refusals().get(0).line()).isEqualTo("[cidrs] metadata.labels.addr: 203.0.113.9 is outside");
    }

    @Test
    void refusesAVariableUsedBeforeItIsDeclared() {
        String spec = "  variables:\n  - name: a\n    expression: \"variables.b\"\n  - name: b\n    expression: \"1\"\n"
                + "  validations:\n  - expression: \"variables.a == 1\"\n";
        assertThatThrownBy(() -> compile("order", spec))
                .isInstanceOf(PolicyException.class)
                .hasMessageContaining("undeclared variable \"b\"");
    }

    @Test
    void refusesParamKindAndANameThatDiffersFromItsFolder() {
        assertThatThrownBy(() -> COMPILER.compile(new PolicySource("p/other/policy.yaml", "other",
                policy("mine", "  paramKind: {apiVersion: v1, kind: ConfigMap}\n  validations:\n"
                        + "  - expression: \"true\"\n"))))
                .hasMessageContaining("paramKind is not supported")
                .hasMessageContaining("must equal its folder name \"other\"");
    }

    @Test
    void deniesWithPathTakenFromTheMessage() throws Exception {
        Policy p = compile("no-web", "  validations:\n  - expression: \"object.metadata.name != 'web'\"\n"
                + "    messageExpression: \"'metadata.name: \\\"' + object.metadata.name + '\\\" is taken; rename'\"\n");
        Evaluation e = engine(p).evaluate(pod(POD));
        assertThat(e.allowed()).isFalse();
        Decision d = e.refusals().get(0);
        assertThat(d.path()).isEqualTo("metadata.name");
        assertThat(d.message()).isEqualTo("\"web\" is taken; rename");
        assertThat(d.line()).isEqualTo("[no-web] metadata.name: \"web\" is taken; rename");
        assertThat(d.reason()).isEqualTo("Forbidden");
    }

    @Test
    void takesSeveralPathsJoinedWithCommas() throws Exception {
        Policy p = compile("two", "  validations:\n  - expression: \"false\"\n"
                + "    message: 'spec.containers[0].image, metadata.annotations[\"a/b\"]: both wrong; fix them'\n");
        Decision d = engine(p).evaluate(pod(POD)).refusals().get(0);
        assertThat(d.path()).isEqualTo("spec.containers[0].image, metadata.annotations[\"a/b\"]");
        assertThat(d.message()).isEqualTo("both wrong; fix them");
    }

    @Test
    void usesFieldPathAndStaticMessageWhenGiven() throws Exception {
        Policy p = compile("static", "  validations:\n  - expression: \"false\"\n    message: not allowed here\n"
                + "    fieldPath: spec.containers\n    reason: Invalid\n");
        Decision d = engine(p).evaluate(pod(POD)).refusals().get(0);
        assertThat(d.line()).isEqualTo("[static] spec.containers: not allowed here");
        assertThat(d.reason()).isEqualTo("Invalid");
    }

    @Test
    void fallsBackToStaticMessageWhenMessageExpressionFails() throws Exception {
        Policy p = compile("fallback", "  validations:\n  - expression: \"false\"\n    message: plain text\n"
                + "    messageExpression: \"object.missing.field\"\n");
        assertThat(engine(p).evaluate(pod(POD)).refusals().get(0).message()).isEqualTo("plain text");
    }

    @Test
    void evaluationErrorRefusesUnderFailAndNamesThePolicy() throws Exception {
        Policy p = compile("broken", "  validations:\n  - expression: \"object.spec.nothing == 1\"\n");
        Evaluation e = engine(p).evaluate(pod(POD));
        assertThat(e.allowed()).isFalse();
        Decision d = e.refusals().get(0);
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.ERROR);
        assertThat(d.line()).startsWith("[broken] evaluation error in validation: ");
    }

    @Test
    void evaluationErrorIsSkippedUnderIgnore() throws Exception {
        Policy p = compile("lenient", "  failurePolicy: Ignore\n  validations:\n"
                + "  - expression: \"object.spec.nothing == 1\"\n");
        assertThat(engine(p).evaluate(pod(POD)).allowed()).isTrue();
    }

    @Test
    void variablesAreLazyAndMemoised() throws Exception {
        String spec = "  variables:\n  - name: broken\n    expression: \"object.spec.nothing\"\n"
                + "  - name: name\n    expression: \"object.metadata.name\"\n"
                + "  validations:\n  - expression: \"variables.name == 'web' && variables.name.size() == 3\"\n";
        Evaluation e = engine(compile("lazy", spec)).evaluate(pod(POD));
        assertThat(e.allowed()).isTrue();
        assertThat(e.decisions()).extracting(Decision::outcome).containsExactly(Decision.Outcome.ALLOW);
    }

    @Test
    void eachEvaluationHasItsOwnVariableValues() throws Exception {
        String spec = "  variables:\n  - name: name\n    expression: \"object.metadata.name\"\n"
                + "  - name: web\n    expression: \"variables.name == 'web'\"\n"
                + "  validations:\n  - expression: \"variables.web\"\n    messageExpression: \"variables.name\"\n";
        PolicyEngine engine = engine(compile("own-values", spec));
        assertThat(engine.evaluate(pod(POD)).allowed()).isTrue();
        Evaluation db = engine.evaluate(pod(POD.replace("\"name\":\"web\",", "\"name\":\"db\",")));
        assertThat(db.violations()).extracting(Decision::message).containsExactly("db");
        assertThat(engine.evaluate(pod(POD)).allowed()).isTrue();
    }

    @Test
    void matchConditionsDecideWhetherThePolicyApplies() throws Exception {
        Policy p = compile("only-db", "  matchConditions:\n  - name: db\n    expression: \"object.metadata.name == 'db'\"\n"
                + "  validations:\n  - expression: \"false\"\n");
        assertThat(engine(p).evaluate(pod(POD)).decisions()).isEmpty();
    }

    @Test
    void warnActionNeverRefuses() throws Exception {
        String text = policy("advice", "  validations:\n  - expression: \"false\"\n    message: consider it\n")
                .replace("  name: advice\n", "  name: advice\n  annotations:\n    egressguard.io/action: Warn\n");
        Policy p = COMPILER.compile(new PolicySource("advice/policy.yaml", "advice", text));
        Evaluation e = engine(p).evaluate(pod(POD));
        assertThat(e.allowed()).isTrue();
        assertThat(e.violations()).extracting(Decision::outcome).containsExactly(Decision.Outcome.WARN);
    }

    @Test
    void comprehensionsAreBounded() throws Exception {
        String spec = "  validations:\n  - expression: >-\n"
                + "      [1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c,\n"
                + "      [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f,\n"
                + "      a > 0))))))\n";
        Decision d = engine(compile("loop", spec)).evaluate(pod(POD)).refusals().get(0);
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.ERROR);
        assertThat(d.message()).contains("Iteration budget exceeded");
    }

    @Test
    void settingsAreVisibleAsEgressguardVariable() throws Exception {
        Policy p = compile("uid", "  validations:\n  - expression: \"egressguard.proxyUid == 1337 && "
                + "egressguard.gatewayNamespace == 'istio-egress'\"\n");
        assertThat(engine(p).evaluate(pod(POD)).allowed()).isTrue();
    }

    @Test
    void resourceRulesSelectCandidatesAndSubresources() throws Exception {
        String text = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
                + "metadata: {name: eph}\nspec:\n  matchConstraints:\n    resourceRules:\n"
                + "    - apiGroups: [\"\"]\n      apiVersions: [\"*\"]\n      resources: [\"pods/ephemeralcontainers\"]\n"
                + "      operations: [\"UPDATE\"]\n    excludeResourceRules:\n    - apiGroups: [\"\"]\n"
                + "      apiVersions: [\"v2\"]\n      resources: [\"*/*\"]\n      operations: [\"*\"]\n"
                + "  validations:\n  - expression: \"true\"\n";
        PolicyEngine engine = engine(COMPILER.compile(new PolicySource("eph/policy.yaml", "eph", text)));
        assertThat(engine.candidates("", "v1", "pods", "ephemeralcontainers", "UPDATE")).hasSize(1);
        assertThat(engine.candidates("", "v1", "pods", "", "UPDATE")).isEmpty();
        assertThat(engine.candidates("", "v1", "pods", "ephemeralcontainers", "CREATE")).isEmpty();
        assertThat(engine.candidates("", "v2", "pods", "ephemeralcontainers", "UPDATE")).isEmpty();
        assertThat(engine.candidates("apps", "v1", "pods", "ephemeralcontainers", "UPDATE")).isEmpty();
    }

    @Test
    void objectSelectorFiltersByLabels() throws Exception {
        String spec = "  validations:\n  - expression: \"false\"\n";
        String text = policy("sel", spec).replace("      operations: [\"CREATE\", \"UPDATE\"]\n",
                "      operations: [\"CREATE\", \"UPDATE\"]\n    objectSelector:\n      matchExpressions:\n"
                        + "      - {key: app, operator: In, values: [db]}\n");
        PolicyEngine engine = engine(COMPILER.compile(new PolicySource("sel/policy.yaml", "sel", text)));
        assertThat(engine.evaluate(pod(POD)).decisions()).isEmpty();
        assertThat(engine.evaluate(pod(POD.replace("\"app\":\"web\"", "\"app\":\"db\""))).allowed()).isFalse();
    }

    @Test
    void decisionsComeInPolicyIdOrder() throws Exception {
        Policy b = compile("b-second", "  validations:\n  - expression: \"false\"\n    message: b\n");
        Policy a = compile("a-first", "  validations:\n  - expression: \"false\"\n    message: a\n");
        assertThat(engine(b, a).evaluate(pod(POD)).refusals()).extracting(Decision::policyId)
                .containsExactly("a-first", "b-second");
    }

    @Test
    void loadsTheBuiltInPolicies() throws Exception {
        PolicyEngine engine = PolicyEngine.load(true, List.of(), Settings.defaults());
        assertThat(engine.policies()).extracting(Policy::id).contains("no-host-network", "no-sidecar-opt-out");
        for (Policy p : engine.policies()) {
            for (String key : PolicyCompiler.REQUIRED_ANNOTATIONS) {
                assertThat(p.annotation(key)).as(p.id() + " " + key).isNotBlank();
            }
        }
    }
}
