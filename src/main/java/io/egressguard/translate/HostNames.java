package io.egressguard.translate;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the host names and addresses of ExternalServices: fully qualified DNS names, a wildcard only as the whole
 * first label and never directly on a public suffix, nothing inside the cluster domain, and IP addresses or CIDRs.
 */
final class HostNames {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]+");

    /**
     * Suffixes under which anyone can register or publish a name, so a wildcard directly on them would open the door to
     * hosts run by anybody. An excerpt of the Public Suffix List (publicsuffix.org): the common two-label country
     * suffixes and the best-known hosting platforms. Single-label suffixes ({@code *.com}) are refused by the rule that
     * a wildcard needs at least two labels after it.
     */
    private static final Set<String> PUBLIC_SUFFIXES = Set.of(
            "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk",
            "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz",
            "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr",
            "com.br", "net.br", "org.br", "com.cn", "net.cn", "org.cn", "gov.cn",
            "com.hk", "com.tw", "com.sg", "com.my", "co.in", "net.in", "org.in", "co.id", "co.th",
            "co.za", "org.za", "com.mx", "com.ar", "com.tr", "com.ua", "co.il", "com.pl", "com.vn", "com.ph",
            "github.io", "gitlab.io", "herokuapp.com", "appspot.com", "blogspot.com", "cloudfront.net",
            "azurewebsites.net", "netlify.app", "vercel.app", "pages.dev", "workers.dev", "web.app",
            "firebaseapp.com");

    private HostNames() {
    }

    static boolean isWildcard(String host) {
        return host.startsWith("*.");
    }

    /** Why {@code host} cannot be declared, or {@code null} when it can. */
    static String hostProblem(String host, String clusterDomain) {
        if (host.isEmpty()) {
            return "must not be empty";
        }
        if (host.length() > 253) {
            return "\"" + host + "\" is longer than 253 characters";
        }
        boolean wildcard = isWildcard(host);
        String name = wildcard ? host.substring(2) : host;
        if (name.contains("*")) {
            return "\"" + host + "\": a wildcard is allowed only as the whole first label, as in *.example.com";
        }
        String[] labels = name.split("\\.", -1);
        for (String label : labels) {
            if (!LABEL.matcher(label).matches()) {
                return "\"" + host + "\" is not a DNS name: each label is 1 to 63 lower-case letters, digits or dashes,"
                        + " starting and ending with a letter or digit";
            }
        }
        if (DIGITS.matcher(labels[labels.length - 1]).matches()) {
            return "\"" + host + "\" looks like an IP address; declare IP addresses in spec.addresses";
        }
        if (labels.length < 2) {
            return "\"" + host + "\" is not fully qualified; write the full name, as in api.example.com";
        }
        String domain = clusterDomain.toLowerCase(Locale.ROOT);
        if (name.equals(domain) || name.endsWith("." + domain)) {
            return "\"" + host + "\" is inside the cluster domain " + clusterDomain
                    + "; ExternalServices declare hosts outside the cluster";
        }
        if (wildcard && (labels.length < 2 || PUBLIC_SUFFIXES.contains(name))) {
            return "\"" + host + "\" puts a wildcard directly on the public suffix " + name
                    + ", which would admit hosts run by anybody; name the domain, as in *.example." + name;
        }
        return null;
    }

    /** Why {@code address} is not an IP address or CIDR, or {@code null} when it is. */
    static String addressProblem(String address) {
        String ip = address;
        Integer prefix = null;
        int slash = address.indexOf('/');
        if (slash >= 0) {
            ip = address.substring(0, slash);
            String bits = address.substring(slash + 1);
            if (!DIGITS.matcher(bits).matches() || bits.length() > 3) {
                return "\"" + address + "\" has an invalid prefix length";
            }
            prefix = Integer.parseInt(bits);
        }
        int max;
        if (IPV4.matcher(ip).matches()) {
            for (String octet : ip.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    return "\"" + address + "\" is not an IPv4 address";
                }
            }
            max = 32;
        } else if (ip.contains(":") && IPV6.matcher(ip).matches() && validIpv6(ip)) {
            max = 128;
        } else {
            return "\"" + address + "\" is not an IP address or CIDR";
        }
        if (prefix != null && prefix > max) {
            return "\"" + address + "\" has a prefix length above " + max;
        }
        return null;
    }

    static boolean isCidr(String address) {
        return address.contains("/");
    }

    /** RFC 4291 text form: eight groups of 1 to 4 hex digits, one {@code ::} at most, an IPv4 tail allowed. */
    private static boolean validIpv6(String ip) {
        int gap = ip.indexOf("::");
        if (gap >= 0 && ip.indexOf("::", gap + 1) >= 0) {
            return false;
        }
        String[] halves = gap >= 0 ? new String[] {ip.substring(0, gap), ip.substring(gap + 2)} : new String[] {ip};
        int groups = 0;
        for (int h = 0; h < halves.length; h++) {
            if (halves[h].isEmpty()) {
                continue;
            }
            String[] parts = halves[h].split(":", -1);
            for (int i = 0; i < parts.length; i++) {
                String part = parts[i];
                boolean last = h == halves.length - 1 && i == parts.length - 1;
                if (last && part.contains(".")) {
                    if (!IPV4.matcher(part).matches() || addressProblem(part) != null) {
                        return false;
                    }
                    groups += 2;
                } else if (part.isEmpty() || part.length() > 4 || part.contains(".")) {
                    return false;
                } else {
                    groups++;
                }
            }
        }
        return gap >= 0 ? groups < 8 : groups == 8;
    }
}
