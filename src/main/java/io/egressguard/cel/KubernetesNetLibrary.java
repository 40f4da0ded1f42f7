package io.egressguard.cel;

import dev.cel.checker.CelCheckerBuilder;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompilerLibrary;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntimeBuilder;
import dev.cel.runtime.CelRuntimeLibrary;

/**
 * Kubernetes' {@code ip} and {@code cidr} CEL libraries ({@code k8s.io/apiserver/pkg/cel/library/ip.go} and
 * {@code cidr.go}) with Kubernetes' overload ids, including the {@code containsCIDR} semantics of Kubernetes 1.33.
 *
 * <p>The opaque types themselves are made resolvable by name ({@code net.IP}, {@code net.CIDR}) through
 * {@link KubernetesCel#typeProvider()}.
 */
final class KubernetesNetLibrary implements CelCompilerLibrary, CelRuntimeLibrary {

    static final KubernetesNetLibrary INSTANCE = new KubernetesNetLibrary();

    private KubernetesNetLibrary() {
    }

    @Override
    public void setCheckerOptions(CelCheckerBuilder checker) {
        checker.addFunctionDeclarations(
                CelFunctionDecl.newFunctionDeclaration("ip",
                        CelOverloadDecl.newGlobalOverload("string_to_ip", IpAddress.TYPE, SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("cidr_ip", IpAddress.TYPE, Cidr.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isIP",
                        CelOverloadDecl.newGlobalOverload("is_ip", SimpleType.BOOL, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("ip.isCanonical",
                        CelOverloadDecl.newGlobalOverload("ip_is_canonical", SimpleType.BOOL, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("family",
                        CelOverloadDecl.newMemberOverload("ip_family", SimpleType.INT, IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isUnspecified",
                        CelOverloadDecl.newMemberOverload("ip_is_unspecified", SimpleType.BOOL, IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isLoopback",
                        CelOverloadDecl.newMemberOverload("ip_is_loopback", SimpleType.BOOL, IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isLinkLocalMulticast",
                        CelOverloadDecl.newMemberOverload("ip_is_link_local_multicast", SimpleType.BOOL,
                                IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isLinkLocalUnicast",
                        CelOverloadDecl.newMemberOverload("ip_is_link_local_unicast", SimpleType.BOOL,
                                IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("isGlobalUnicast",
                        CelOverloadDecl.newMemberOverload("ip_is_global_unicast", SimpleType.BOOL, IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("string",
                        CelOverloadDecl.newGlobalOverload("ip_to_string", SimpleType.STRING, IpAddress.TYPE),
                        CelOverloadDecl.newGlobalOverload("cidr_to_string", SimpleType.STRING, Cidr.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("cidr",
                        CelOverloadDecl.newGlobalOverload("string_to_cidr", Cidr.TYPE, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("isCIDR",
                        CelOverloadDecl.newGlobalOverload("is_cidr", SimpleType.BOOL, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("containsIP",
                        CelOverloadDecl.newMemberOverload("cidr_contains_ip_string", SimpleType.BOOL, Cidr.TYPE,
                                SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("cidr_contains_ip_ip", SimpleType.BOOL, Cidr.TYPE,
                                IpAddress.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("containsCIDR",
                        CelOverloadDecl.newMemberOverload("cidr_contains_cidr_string", SimpleType.BOOL, Cidr.TYPE,
                                SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("cidr_contains_cidr", SimpleType.BOOL, Cidr.TYPE,
                                Cidr.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("masked",
                        CelOverloadDecl.newMemberOverload("cidr_masked", Cidr.TYPE, Cidr.TYPE)),
                CelFunctionDecl.newFunctionDeclaration("prefixLength",
                        CelOverloadDecl.newMemberOverload("cidr_prefix_length", SimpleType.INT, Cidr.TYPE)));
    }

    @Override
    public void setRuntimeOptions(CelRuntimeBuilder runtime) {
        runtime.addFunctionBindings(
                CelFunctionBinding.from("string_to_ip", String.class, KubernetesNetLibrary::stringToIp),
                CelFunctionBinding.from("cidr_ip", Cidr.class, Cidr::ip),
                CelFunctionBinding.from("is_ip", String.class, IpAddress::isValid),
                CelFunctionBinding.from("ip_is_canonical", String.class,
                        text -> stringToIp(text).toString().equals(text)),
                CelFunctionBinding.from("ip_family", IpAddress.class, ip -> (long) ip.family()),
                CelFunctionBinding.from("ip_is_unspecified", IpAddress.class, IpAddress::isUnspecified),
                CelFunctionBinding.from("ip_is_loopback", IpAddress.class, IpAddress::isLoopback),
                CelFunctionBinding.from("ip_is_link_local_multicast", IpAddress.class,
                        IpAddress::isLinkLocalMulticast),
                CelFunctionBinding.from("ip_is_link_local_unicast", IpAddress.class, IpAddress::isLinkLocalUnicast),
                CelFunctionBinding.from("ip_is_global_unicast", IpAddress.class, IpAddress::isGlobalUnicast),
                CelFunctionBinding.from("ip_to_string", IpAddress.class, IpAddress::toString),
                CelFunctionBinding.from("cidr_to_string", Cidr.class, Cidr::toString),
                CelFunctionBinding.from("string_to_cidr", String.class, KubernetesNetLibrary::stringToCidr),
                CelFunctionBinding.from("is_cidr", String.class, Cidr::isValid),
                CelFunctionBinding.from("cidr_contains_ip_string", Cidr.class, String.class,
                        KubernetesNetLibrary::containsIpString),
                CelFunctionBinding.from("cidr_contains_ip_ip", Cidr.class, IpAddress.class, Cidr::containsIp),
                CelFunctionBinding.from("cidr_contains_cidr_string", Cidr.class, String.class,
                        (cidr, text) -> cidr.containsCidr(stringToCidr(text))),
                CelFunctionBinding.from("cidr_contains_cidr", Cidr.class, Cidr.class, Cidr::containsCidr),
                CelFunctionBinding.from("cidr_masked", Cidr.class, Cidr::masked),
                CelFunctionBinding.from("cidr_prefix_length", Cidr.class, cidr -> (long) cidr.prefixLength()));
    }

    private static IpAddress stringToIp(String text) throws CelEvaluationException {
        try {
            return IpAddress.parse(text);
        } catch (NetParseException e) {
            throw invalidArgument(e.getMessage());
        }
    }

    private static Cidr stringToCidr(String text) throws CelEvaluationException {
        try {
            return Cidr.parse(text);
        } catch (NetParseException e) {
            throw invalidArgument("network address parse error during conversion from string: " + e.getMessage());
        }
    }

    /**
     * Kubernetes evaluates {@code containsIP(string)} as {@code containsIP(ip(string))} and reports an unparsable
     * string as a missing overload rather than as the parse error.
     */
    private static boolean containsIpString(Cidr cidr, String text) throws CelEvaluationException {
        IpAddress ip;
        try {
            ip = IpAddress.parse(text);
        } catch (NetParseException e) {
            throw new CelEvaluationException("no such overload");
        }
        return cidr.containsIp(ip);
    }

    private static CelEvaluationException invalidArgument(String message) {
        return new CelEvaluationException(message);
    }
}
