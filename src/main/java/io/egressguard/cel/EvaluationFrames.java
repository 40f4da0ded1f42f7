package io.egressguard.cel;

import dev.cel.runtime.CelVariableResolver;
import java.util.Arrays;

/**
 * Frames that the fast evaluator reuses across the programs of one thread's evaluation (a request's policies, their
 * variables, validations and messages) instead of allocating a frame and its slots for each program: a stack, since a
 * variable evaluated lazily inside another program's comprehension needs a frame of its own. Not thread-safe: one
 * instance per evaluation, on one thread; a {@link DirectResolver} hands it out with {@link DirectResolver#frames}.
 */
public final class EvaluationFrames {

    private FastProgram.Frame[] stack = new FastProgram.Frame[4];
    private int depth;

    /** A frame reset for an evaluation; {@link #release} gives it back, in the reverse order of taking. */
    FastProgram.Frame acquire(CelVariableResolver resolver, int slots, int maxIterations) {
        if (depth == stack.length) {
            stack = Arrays.copyOf(stack, depth * 2);
        }
        FastProgram.Frame f = stack[depth];
        if (f == null) {
            f = new FastProgram.Frame(resolver, slots, maxIterations);
            stack[depth] = f;
        } else {
            f.reset(resolver, slots, maxIterations);
        }
        depth++;
        return f;
    }

    /** Gives back the frame taken last. */
    void release(FastProgram.Frame f) {
        if (depth == 0 || stack[depth - 1] != f) {
            throw new IllegalStateException("frames released out of order");
        }
        depth--;
    }

    /** How many frames are taken (for tests: 0 after every evaluation). */
    int depth() {
        return depth;
    }
}
