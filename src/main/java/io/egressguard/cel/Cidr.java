package io.egressguard.cel;

import dev.cel.common.types.OpaqueType;
import dev.cel.common.values.OpaqueValue;

/**
 * The CEL value of Kubernetes' opaque type {@code net.CIDR}: an address and a prefix length.
 *
 * <p>Parsing follows Go's {@code net/netip.ParsePrefix} (a {@code /} is required, the length is decimal without sign
 * or leading zero, zones are rejected) and then rejects IPv4-mapped IPv6 addresses as Kubernetes' {@code cidr()} does.
 * Host bits are kept: {@code 192.168.0.1/24} is a valid CIDR whose {@link #masked()} form is {@code 192.168.0.0/24}.
 *
 * <p>Two instances are equal when their addresses, host bits included, and their prefix lengths are equal.
 */
public final class Cidr extends OpaqueValue {

    /** The CEL type {@code net.CIDR}. */
    public static final OpaqueType TYPE = OpaqueType.create("net.CIDR");

    private static final String PARSE_ERROR = "network address parse error during conversion from string: ";

    private final IpAddress address;
    private final int prefixLength;

    private Cidr(IpAddress address, int prefixLength) {
        this.address = address;
        this.prefixLength = prefixLength;
    }

    /**
     * Parses a CIDR the way Kubernetes' CEL {@code cidr(string)} function does.
     *
     * @throws NetParseException with Kubernetes' error message if the text is not accepted
     */
    public static Cidr parse(String text) {
        Cidr cidr;
        try {
            cidr = parsePrefix(text);
        } catch (NetParseException e) {
            throw new NetParseException(PARSE_ERROR + e.getMessage());
        }
        if (cidr.address.isIpv4MappedIpv6()) {
            throw new NetParseException("IPv4-mapped IPv6 address " + GoStrings.quote(text) + " is not allowed");
        }
        return cidr;
    }

    /** Whether Kubernetes' CEL {@code isCIDR(string)} accepts the text. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (NetParseException e) {
            return false;
        }
    }

    /** The address as written, host bits included. */
    public IpAddress ip() {
        return address;
    }

    /** The prefix length in bits. */
    public int prefixLength() {
        return prefixLength;
    }

    /** This network with the host bits cleared. */
    public Cidr masked() {
        IpAddress network = address.masked(prefixLength);
        return network == address ? this : new Cidr(network, prefixLength);
    }

    /** Whether the address is of this network's family and agrees with it on the first {@link #prefixLength()} bits. */
    public boolean containsIp(IpAddress ip) {
        return address.samePrefix(ip, prefixLength);
    }

    /**
     * Whether every address of {@code other} is in this network (Kubernetes 1.33 semantics): same family, this prefix
     * no longer than the other's, and the other's address agrees with this network on this prefix length.
     */
    public boolean containsCidr(Cidr other) {
        return prefixLength <= other.prefixLength && address.samePrefix(other.address, prefixLength);
    }

    /** The canonical address text, unmasked, followed by {@code /} and the prefix length. */
    @Override
    public String toString() {
        return address + "/" + prefixLength;
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof Cidr)) {
            return false;
        }
        Cidr that = (Cidr) other;
        return prefixLength == that.prefixLength && address.equals(that.address);
    }

    @Override
    public int hashCode() {
        return 31 * address.hashCode() + prefixLength;
    }

    /** This object: the value is its own Java representation. */
    @Override
    public Object value() {
        return this;
    }

    @Override
    public OpaqueType celType() {
        return TYPE;
    }

    /** Go's {@code netip.ParsePrefix}, keeping Go's error messages. */
    private static Cidr parsePrefix(String s) {
        int slash = s.lastIndexOf('/');
        if (slash < 0) {
            throw prefixError(s, "no '/'");
        }
        String addressText = s.substring(0, slash);
        IpAddress address;
        try {
            address = IpAddress.parseAddr(addressText);
        } catch (NetParseException e) {
            throw prefixError(s, e.getMessage());
        }
        if (address.family() == 6 && addressText.indexOf('%') >= 0) {
            throw prefixError(s, "IPv6 zones cannot be present in a prefix");
        }
        String bitsText = s.substring(slash + 1);
        int bits = parseBits(bitsText);
        if (bits < 0) {
            throw prefixError(s, "bad bits after slash: " + GoStrings.quote(bitsText));
        }
        if (bits > address.bitLength()) {
            throw prefixError(s, "prefix length out of range");
        }
        return new Cidr(address, bits);
    }

    /**
     * The value of {@code 0} or {@code [1-9][0-9]*}, saturated at {@link Integer#MAX_VALUE}; -1 for anything else (a
     * sign, a leading zero, an empty or non-decimal text, or a number that overflows Go's 64-bit {@code int}).
     */
    private static int parseBits(String text) {
        int length = text.length();
        if (length == 0 || length > 1 && text.charAt(0) == '0') {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            if (value > (Long.MAX_VALUE - (c - '0')) / 10) {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return (int) Math.min(value, Integer.MAX_VALUE);
    }

    private static NetParseException prefixError(String in, String msg) {
        return new NetParseException("netip.ParsePrefix(" + GoStrings.quote(in) + "): " + msg);
    }
}
