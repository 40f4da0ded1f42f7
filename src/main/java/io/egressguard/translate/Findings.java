package io.egressguard.translate;

import java.util.List;

/** The problems of one declaration, written into the translation's list as they are found. */
final class Findings {

    private final String source;
    private final List<TranslationProblem> sink;
    private boolean errors;

    Findings(String source, List<TranslationProblem> sink) {
        this.source = source;
        this.sink = sink;
    }

    String source() {
        return source;
    }

    /** Refuses the declaration: it will not be translated. */
    void error(String path, String message) {
        errors = true;
        sink.add(new TranslationProblem(source, path, message, true));
    }

    /** Reports something the translator worked around; the declaration is still translated. */
    void warn(String path, String message) {
        sink.add(new TranslationProblem(source, path, message, false));
    }

    boolean hasErrors() {
        return errors;
    }
}
