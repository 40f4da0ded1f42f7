package io.egressguard.cel;

/**
 * The {@code variables} of a Kubernetes policy as the fast evaluator reads them: each variable has a position in a
 * layout that is fixed for the policy, so {@code variables.name} finds its position once per layout rather than
 * looking the name up on every evaluation.
 */
public interface IndexedVariables {

    /** The name under which the variables are bound in CEL. */
    String NAME = "variables";

    /** An object that stands for the layout: equal positions for equal layouts (compared by identity). */
    Object layout();

    /** The position of a variable in the layout, or -1 when there is no such variable. */
    int indexOf(String name);

    /**
     * The value of the variable at a position, as {@code get(name)} of the map gives it (evaluated on first use).
     *
     * @throws RuntimeException when the variable's expression fails
     */
    Object valueAt(int index);
}
