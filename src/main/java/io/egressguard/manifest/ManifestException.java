package io.egressguard.manifest;

/** Input that cannot be read as manifests: the message names the source and, where known, the line. */
public class ManifestException extends Exception {

    public ManifestException(String message) {
        super(message);
    }

    public ManifestException(String message, Throwable cause) {
        super(message, cause);
    }
}
