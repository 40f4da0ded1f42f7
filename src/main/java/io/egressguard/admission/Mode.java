package io.egressguard.admission;

/**
 * What a namespace's {@code egressguard.io/mode} label asks for. The API server picks the webhook entry by that label;
 * each entry posts to its own path.
 */
public enum Mode {
    /** Refuse violations ({@code /validate}, {@code /mutate}). */
    ENFORCE,
    /** Admit, and return each violation as a kubectl warning ({@code /validate/warn}, {@code /mutate/warn}). */
    WARN,
    /** Admit, and record each violation in the audit log ({@code /validate/audit}, {@code /mutate/audit}). */
    AUDIT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
