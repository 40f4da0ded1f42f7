package io.egressguard.translate;

import java.util.Comparator;

/**
 * One problem found while translating a declaration.
 *
 * @param source the declaration, as {@code Kind/namespace/name} ({@code Kind/name} for cluster-scoped objects)
 * @param path the field path inside the declaration, such as {@code spec.ports[0].clientsideTls.mode}
 * @param message what was found and how to fix it
 * @param error {@code true} when the declaration was refused and not translated, {@code false} for a warning
 */
public record TranslationProblem(String source, String path, String message, boolean error) {

    /** The order problems are reported in. */
    public static final Comparator<TranslationProblem> ORDER = Comparator.comparing(TranslationProblem::source)
            .thenComparing(TranslationProblem::path)
            .thenComparing(TranslationProblem::message)
            .thenComparing(TranslationProblem::error);

    /** The problem as one line: {@code source: path: message}. */
    @Override
    public String toString() {
        return (error ? "error " : "warning ") + source + ": " + (path.isEmpty() ? "" : path + ": ") + message;
    }
}
