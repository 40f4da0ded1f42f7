package io.egressguard.cel;

import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
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

    /** The fast evaluator, with the same iteration bound as {@link #CEL}. */
    static final FastEvaluator FAST = KubernetesCel.fastEvaluator(10_000);

    /**
     * Evaluates with cel-java and, when it supports the expression, with the fast evaluator without fallback, and
     * fails the test if the two disagree: cel-java's error must be an error there too, and cel-java's value the same
     * value (the fast evaluator may fail where cel-java succeeds: the program then falls back to cel-java).
     */
    static Object eval(String expression, Map<String, ?> variables)
            throws CelValidationException, CelEvaluationException {
        CelAbstractSyntaxTree ast = compile(expression);
        CelRuntime.Program reference = CEL.createProgram(ast);
        CelRuntime.Program fast = FAST.program(ast, reference);
        Object expected;
        try {
            expected = reference.eval(variables);
        } catch (CelEvaluationException | RuntimeException e) {
            if (fast instanceof FastProgram p) {
                Object got;
                try {
                    got = p.evalStrictly(name -> java.util.Optional.ofNullable(variables.get(name)));
                } catch (Exception fastError) {
                    throw e;
                }
                throw new AssertionError(expression + ": cel-java fails (" + e.getMessage()
                        + ") but the fast evaluator returns " + got);
            }
            throw e;
        }
        if (fast instanceof FastProgram p) {
            try {
                Object got = p.evalStrictly(name -> java.util.Optional.ofNullable(variables.get(name)));
                if (!java.util.Objects.equals(got, expected)) {
                    throw new AssertionError(expression + ": cel-java returns " + expected
                            + " but the fast evaluator " + got);
                }
            } catch (FastProgram.Failure ignored) {
                // left to cel-java
            } catch (Exception other) {
                throw new AssertionError(expression + ": the fast evaluator throws " + other, other);
            }
        }
        return expected;
    }
}
