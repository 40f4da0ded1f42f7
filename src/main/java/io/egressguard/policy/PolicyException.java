package io.egressguard.policy;

/** A policy that cannot be loaded or compiled; the message names file, line and column, with a caret. */
public class PolicyException extends Exception {

    public PolicyException(String message) {
        super(message);
    }
}
