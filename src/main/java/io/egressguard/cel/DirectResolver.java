package io.egressguard.cel;

import dev.cel.runtime.CelVariableResolver;
import java.util.Optional;

/**
 * A variable resolver that answers without wrapping: {@link #value} gives the variable's value, or {@code null} when
 * there is no such variable. The fast evaluator uses it on every variable reference; cel-java uses {@link #find}.
 */
public interface DirectResolver extends CelVariableResolver {

    /**
     * The value of a variable.
     *
     * @param name the variable's name (interned, so identity comparison finds it)
     * @return its value, or {@code null} when there is no such variable
     */
    Object value(String name);

    /**
     * Frames for the fast evaluator to reuse across the programs evaluated with this resolver (see
     * {@link EvaluationFrames}), or {@code null}: a new frame for each evaluation.
     */
    default EvaluationFrames frames() {
        return null;
    }

    @Override
    default Optional<Object> find(String name) {
        return Optional.ofNullable(value(name));
    }
}
