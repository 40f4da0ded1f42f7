package io.egressguard.cel;

import dev.cel.common.types.OpaqueType;
import dev.cel.common.values.OpaqueValue;

/**
 * The CEL value of Kubernetes' opaque type {@code net.IP}: an IPv4 or IPv6 address without zone.
 *
 * <p>Parsing follows Go's {@code net/netip.ParseAddr} exactly and then applies the two rejections of Kubernetes'
 * {@code ip()} function: IPv6 zones ({@code fe80::1%eth0}) and IPv4-mapped IPv6 addresses ({@code ::ffff:1.2.3.4})
 * are errors. Consequently an instance is never an IPv4-mapped IPv6 address. No name resolution ever happens.
 *
 * <p>Two instances are equal when they have the same family and the same address bits. {@link #toString()} is the
 * canonical form Go prints: dotted decimal for IPv4, RFC 5952 for IPv6.
 */
public final class IpAddress extends OpaqueValue {

    /** The CEL type {@code net.IP}. */
    public static final OpaqueType TYPE = OpaqueType.create("net.IP");

    /** The IPv4-mapped marker bits Go keeps in the low word of an IPv4 address. */
    private static final long V4_MARKER = 0xffff_0000_0000L;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private final long hi;
    private final long lo;
    private final boolean ipv4;

    private IpAddress(long hi, long lo, boolean ipv4) {
        this.hi = hi;
        this.lo = lo;
        this.ipv4 = ipv4;
    }

    /**
     * Parses an address the way Kubernetes' CEL {@code ip(string)} function does.
     *
     * @throws NetParseException with Kubernetes' error message if the text is not accepted
     */
    public static IpAddress parse(String text) {
        IpAddress addr;
        try {
            addr = parseAddr(text);
        } catch (NetParseException e) {
            throw new NetParseException("IP Address " + GoStrings.quote(text)
                    + " parse error during conversion from string: " + e.getMessage());
        }
        if (!addr.ipv4 && text.indexOf('%') >= 0) {
            throw new NetParseException("IP address " + GoStrings.quote(text) + " with zone value is not allowed");
        }
        if (addr.isIpv4MappedIpv6()) {
            throw new NetParseException("IPv4-mapped IPv6 address " + GoStrings.quote(text) + " is not allowed");
        }
        return addr;
    }

    /** Whether Kubernetes' CEL {@code isIP(string)} accepts the text. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (NetParseException e) {
            return false;
        }
    }

    /** 4 or 6. */
    public int family() {
        return ipv4 ? 4 : 6;
    }

    /** {@code 0.0.0.0} or {@code ::}. */
    public boolean isUnspecified() {
        return ipv4 ? (int) lo == 0 : hi == 0 && lo == 0;
    }

    /** {@code 127.0.0.0/8} or {@code ::1}. */
    public boolean isLoopback() {
        return ipv4 ? v4(0) == 127 : hi == 0 && lo == 1;
    }

    /** {@code 224.0.0.0/4} or {@code ff00::/8}. */
    public boolean isMulticast() {
        return ipv4 ? (v4(0) & 0xf0) == 0xe0 : (hi >>> 56) == 0xff;
    }

    /** {@code 224.0.0.0/24}, or an IPv6 multicast address with link-local scope ({@code ff02::/16}, any flags). */
    public boolean isLinkLocalMulticast() {
        return ipv4 ? v4(0) == 224 && v4(1) == 0 && v4(2) == 0 : (v6Group(0) & 0xff0f) == 0xff02;
    }

    /** {@code 169.254.0.0/16} or {@code fe80::/10}. */
    public boolean isLinkLocalUnicast() {
        return ipv4 ? v4(0) == 169 && v4(1) == 254 : (v6Group(0) & 0xffc0) == 0xfe80;
    }

    /**
     * Go's notion of a global unicast address: anything but unspecified, limited broadcast, loopback, multicast and
     * link-local unicast. Private ranges count as global.
     */
    public boolean isGlobalUnicast() {
        if (ipv4 && (isUnspecified() || (int) lo == 0xffff_ffff)) {
            return false;
        }
        return !isUnspecified() && !isLoopback() && !isMulticast() && !isLinkLocalUnicast();
    }

    /** The canonical text: dotted decimal for IPv4, RFC 5952 (as Go prints it) for IPv6. */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder(ipv4 ? 15 : 39);
        if (ipv4) {
            appendV4(out, (int) lo);
        } else if (isIpv4MappedIpv6()) {
            appendV4(out.append("::ffff:"), (int) lo);
        } else {
            appendV6(out);
        }
        return out.toString();
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof IpAddress)) {
            return false;
        }
        IpAddress that = (IpAddress) other;
        return hi == that.hi && lo == that.lo && ipv4 == that.ipv4;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Long.hashCode(hi) + Long.hashCode(lo)) + (ipv4 ? 1 : 0);
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

    // ---- package-private helpers for Cidr -------------------------------------------------------------------------

    int bitLength() {
        return ipv4 ? 32 : 128;
    }

    boolean isIpv4MappedIpv6() {
        return !ipv4 && hi == 0 && (lo >>> 32) == 0xffffL;
    }

    /** This address with all but the first {@code bits} bits cleared; {@code bits} must be within the bit length. */
    IpAddress masked(int bits) {
        int effective = ipv4 ? bits + 96 : bits;
        long maskedHi = hi & highMask(effective);
        long maskedLo = lo & lowMask(effective);
        if (maskedHi == hi && maskedLo == lo) {
            return this;
        }
        return new IpAddress(maskedHi, maskedLo, ipv4);
    }

    /** Whether both addresses are of one family and agree on their first {@code bits} bits. */
    boolean samePrefix(IpAddress other, int bits) {
        if (ipv4 != other.ipv4) {
            return false;
        }
        int effective = ipv4 ? bits + 96 : bits;
        return ((hi ^ other.hi) & highMask(effective)) == 0 && ((lo ^ other.lo) & lowMask(effective)) == 0;
    }

    private static long highMask(int bits) {
        if (bits >= 64) {
            return -1L;
        }
        return bits == 0 ? 0L : -1L << (64 - bits);
    }

    private static long lowMask(int bits) {
        if (bits <= 64) {
            return 0L;
        }
        return bits == 128 ? -1L : -1L << (128 - bits);
    }

    /**
     * Go's {@code netip.ParseAddr}, keeping Go's error messages. An IPv6 zone is accepted and dropped; callers that
     * must reject zones check for {@code '%'} in an IPv6 result.
     */
    static IpAddress parseAddr(String s) {
        for (int i = 0; i < s.length(); i++) {
            switch (s.charAt(i)) {
                case '.':
                    return parseIpv4(s);
                case ':':
                    return parseIpv6(s);
                case '%':
                    throw addrError(s, "missing IPv6 address", null);
                default:
                    break;
            }
        }
        throw addrError(s, "unable to parse IP", null);
    }

    // ---- parsing (Go net/netip) ---------------------------------------------------------------------------------

    private static IpAddress parseIpv4(String s) {
        byte[] fields = new byte[4];
        parseIpv4Fields(s, 0, s.length(), fields, 0);
        long v4 = ((fields[0] & 0xffL) << 24) | ((fields[1] & 0xffL) << 16) | ((fields[2] & 0xffL) << 8)
                | (fields[3] & 0xffL);
        return new IpAddress(0, V4_MARKER | v4, true);
    }

    private static void parseIpv4Fields(String in, int off, int end, byte[] out, int outOff) {
        int val = 0;
        int pos = 0;
        int digits = 0;
        for (int i = off; i < end; i++) {
            char c = in.charAt(i);
            if (c >= '0' && c <= '9') {
                if (digits == 1 && val == 0) {
                    throw addrError(in, "IPv4 field has octet with leading zero", null);
                }
                val = val * 10 + (c - '0');
                digits++;
                if (val > 255) {
                    throw addrError(in, "IPv4 field has value >255", null);
                }
            } else if (c == '.') {
                // .1.2.3, 1.2.3. and 1..2.3
                if (i == off || i == end - 1 || in.charAt(i - 1) == '.') {
                    throw addrError(in, "IPv4 field must have at least one digit", in.substring(i, end));
                }
                // 1.2.3.4.5
                if (pos == 3) {
                    throw addrError(in, "IPv4 address too long", null);
                }
                out[outOff + pos] = (byte) val;
                pos++;
                val = 0;
                digits = 0;
            } else {
                throw addrError(in, "unexpected character", in.substring(i, end));
            }
        }
        if (pos < 3) {
            throw addrError(in, "IPv4 address too short", null);
        }
        out[outOff + 3] = (byte) val;
    }

    private static IpAddress parseIpv6(String in) {
        int end = in.length();
        int zoneAt = in.indexOf('%');
        if (zoneAt >= 0) {
            if (zoneAt == in.length() - 1) {
                throw addrError(in, "zone must be a non-empty string", null);
            }
            end = zoneAt;
        }
        byte[] ip = new byte[16];
        int ellipsis = -1;
        int p = 0; // start of the unparsed rest of in[0:end]

        if (end >= 2 && in.charAt(0) == ':' && in.charAt(1) == ':') {
            ellipsis = 0;
            p = 2;
            if (p == end) {
                return new IpAddress(0, 0, false);
            }
        }

        int i = 0;
        while (i < 16) {
            int off = 0;
            int acc = 0;
            for (; p + off < end; off++) {
                int digit = hexDigit(in.charAt(p + off));
                if (digit < 0) {
                    break;
                }
                acc = (acc << 4) + digit;
                if (off > 3) {
                    throw addrError(in, "each group must have 4 or less digits", in.substring(p, end));
                }
                if (acc > 0xffff) {
                    throw addrError(in, "IPv6 field has value >=2^16", in.substring(p, end));
                }
            }
            if (off == 0) {
                throw addrError(in, "each colon-separated field must have at least one digit",
                        in.substring(p, end));
            }

            // Followed by a dot: maybe the trailing IPv4 address.
            if (p + off < end && in.charAt(p + off) == '.') {
                if (ellipsis < 0 && i != 12) {
                    throw addrError(in, "embedded IPv4 address must replace the final 2 fields of the address",
                            in.substring(p, end));
                }
                if (i + 4 > 16) {
                    throw addrError(in, "too many hex fields to fit an embedded IPv4 at the end of the address",
                            in.substring(p, end));
                }
                parseIpv4Fields(in, p, end, ip, i);
                p = end;
                i += 4;
                break;
            }

            ip[i] = (byte) (acc >> 8);
            ip[i + 1] = (byte) acc;
            i += 2;

            p += off;
            if (p == end) {
                break;
            }
            if (in.charAt(p) != ':') {
                throw addrError(in, "unexpected character, want colon", in.substring(p, end));
            } else if (p + 1 == end) {
                throw addrError(in, "colon must be followed by more characters", in.substring(p, end));
            }
            p++;

            if (in.charAt(p) == ':') {
                if (ellipsis >= 0) {
                    throw addrError(in, "multiple :: in address", in.substring(p, end));
                }
                ellipsis = i;
                p++;
                if (p == end) {
                    break;
                }
            }
        }

        if (p != end) {
            throw addrError(in, "trailing garbage after address", in.substring(p, end));
        }

        if (i < 16) {
            if (ellipsis < 0) {
                throw addrError(in, "address string too short", null);
            }
            int n = 16 - i;
            for (int j = i - 1; j >= ellipsis; j--) {
                ip[j + n] = ip[j];
            }
            for (int j = ellipsis + n - 1; j >= ellipsis; j--) {
                ip[j] = 0;
            }
        } else if (ellipsis >= 0) {
            throw addrError(in, "the :: must expand to at least one field of zeros", null);
        }
        return new IpAddress(bigEndian(ip, 0), bigEndian(ip, 8), false);
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static long bigEndian(byte[] b, int off) {
        long v = 0;
        for (int k = 0; k < 8; k++) {
            v = (v << 8) | (b[off + k] & 0xffL);
        }
        return v;
    }

    private static NetParseException addrError(String in, String msg, String at) {
        String text = "ParseAddr(" + GoStrings.quote(in) + "): " + msg;
        if (at != null && !at.isEmpty()) {
            text += " (at " + GoStrings.quote(at) + ")";
        }
        return new NetParseException(text);
    }

    // ---- formatting (Go net/netip) ------------------------------------------------------------------------------

    private int v4(int i) {
        return (int) (lo >>> ((3 - i) * 8)) & 0xff;
    }

    private int v6Group(int i) {
        long half = i < 4 ? hi : lo;
        return (int) (half >>> ((3 - (i & 3)) * 16)) & 0xffff;
    }

    private static void appendV4(StringBuilder out, int v4) {
        out.append((v4 >>> 24) & 0xff).append('.')
                .append((v4 >>> 16) & 0xff).append('.')
                .append((v4 >>> 8) & 0xff).append('.')
                .append(v4 & 0xff);
    }

    /** RFC 5952 section 4: the first longest run of at least two zero groups becomes {@code ::}. */
    private void appendV6(StringBuilder out) {
        int zeroStart = -1;
        int zeroLength = 1;
        for (int i = 0; i < 8; i++) {
            int j = i;
            while (j < 8 && v6Group(j) == 0) {
                j++;
            }
            if (j - i > zeroLength) {
                zeroStart = i;
                zeroLength = j - i;
            }
        }
        for (int i = 0; i < 8; i++) {
            if (i == zeroStart) {
                out.append("::");
                i += zeroLength;
                if (i >= 8) {
                    break;
                }
            } else if (i > 0) {
                out.append(':');
            }
            appendHex(out, v6Group(i));
        }
    }

    private static void appendHex(StringBuilder out, int group) {
        boolean started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            int digit = (group >>> shift) & 0xf;
            if (digit != 0 || started || shift == 0) {
                out.append(HEX[digit]);
                started = true;
            }
        }
    }
}
