package io.egressguard.cel;

import java.util.AbstractMap;

/**
 * The {@code variables} of a Kubernetes policy as the fast evaluator reads them: each variable has a position in a
 * layout that is fixed for the policy, so {@code variables.name} finds its position once per layout rather than
 * looking the name up on every evaluation. A class rather than an interface: the evaluator tests for it and calls it
 * on every {@code variables.name}, and a class test and a virtual call are cheaper than their interface forms.
 */
public abstract class IndexedVariables extends AbstractMap<String, Object> {

    /** The name under which the variables are bound in CEL. */
    public static final String NAME = "variables";

    /** An object that stands for the layout: equal positions for equal layouts (compared by identity). */
    public abstract Object layout();

    /** The position of a variable in the layout, or -1 when there is no such variable. */
    public abstract int indexOf(String name);

    /**
     * The value of the variable at a position, as {@code get(name)} of the map gives it (evaluated on first use).
     *
     * @throws RuntimeException when the variable's expression fails
     */
    public abstract Object valueAt(int index);
}
