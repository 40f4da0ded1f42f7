package io.egressguard.policy;

/**
 * A policy file's text and where it came from.
 *
 * @param origin file path, or {@code builtin:policies/<id>/policy.yaml}
 * @param folder the folder name, which must equal the policy id (empty when loaded from a lone file)
 * @param text the YAML text
 */
public record PolicySource(String origin, String folder, String text) {
}
