package io.egressguard.cel;

/**
 * An IP address or CIDR string that Kubernetes' CEL {@code ip}/{@code cidr} libraries reject. The message is the one
 * a Kubernetes API server reports for the same input.
 *
 * <p>The exception carries no stack trace: {@code isIP} and {@code isCIDR} use it for control flow on untrusted input.
 */
public final class NetParseException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    NetParseException(String message) {
        super(message);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
