package io.egressguard.manifest;

import org.yaml.snakeyaml.DumperOptions;

/**
 * Where a scalar stands in its file: 1-based line, 0-based column of its first character, and its YAML style, so
 * that a position inside the scalar's text can be mapped back to the file.
 */
public record SourcePosition(int line, int column, DumperOptions.ScalarStyle style) {

    /** True when the scalar's text begins on the line after its indicator ({@code |} or {@code >}). */
    public boolean isBlock() {
        return style == DumperOptions.ScalarStyle.LITERAL || style == DumperOptions.ScalarStyle.FOLDED;
    }

    public boolean isQuoted() {
        return style == DumperOptions.ScalarStyle.SINGLE_QUOTED || style == DumperOptions.ScalarStyle.DOUBLE_QUOTED;
    }
}
