package io.egressguard.cel;

import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.validator.CelValidator;
import java.util.Map;

/** One Kubernetes admission environment shared by the tests, with the variables a policy sees. */
final class CelHarness {

    static final Cel CEL = KubernetesCel.newBuilder(10_000)
            .addVar("object", SimpleType.DYN)
            .addVar("oldObject", SimpleType.DYN)
            .addVar("params", SimpleType.DYN)
            .build();

    static final CelValidator VALIDATOR = KubernetesCel.newValidator(CEL);

    private CelHarness() {
    }

    /** Type-checks and validates like a Kubernetes API server does when a policy is created. */
    static CelAbstractSyntaxTree compile(String expression) throws CelValidationException {
        return VALIDATOR.validate(CEL.compile(expression).getAst()).getAst();
    }

    static Object eval(String expression) throws CelValidationException, CelEvaluationException {
        return eval(expression, Map.of());
    }

    static Object eval(String expression, Map<String, ?> variables)
            throws CelValidationException, CelEvaluationException {
        return CEL.createProgram(compile(expression)).eval(variables);
    }
}
