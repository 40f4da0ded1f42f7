package io.egressguard.reconcile;

import io.egressguard.translate.EgressTranslator;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.List;
import java.util.Optional;

/**
 * The resource kinds the reconciler reads and writes, with their plural names, so that no request needs API
 * discovery: the three declarations, and the seven kinds that {@link EgressTranslator} generates.
 */
public final class ManagedKinds {

    /**
     * One namespaced resource kind.
     *
     * @param group API group
     * @param version API version
     * @param kind kind
     * @param plural plural resource name
     */
    public record Kind(String group, String version, String kind, String plural) {

        /** {@code group/version}. */
        public String apiVersion() {
            return group + "/" + version;
        }

        /** The context fabric8 needs to address the resource without discovery. */
        public ResourceDefinitionContext context() {
            return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
                    .withPlural(plural).withNamespaced(true).build();
        }
    }

    public static final Kind EXTERNAL_SERVICE = declaration("ExternalService", "externalservices");
    public static final Kind VIRTUAL_GATEWAY = declaration("VirtualGateway", "virtualgateways");
    public static final Kind ACCESS_POLICY = declaration("AccessPolicy", "accesspolicies");

    /** ExternalService, VirtualGateway and AccessPolicy of {@value EgressTranslator#API_VERSION}. */
    public static final List<Kind> DECLARATIONS = List.of(EXTERNAL_SERVICE, VIRTUAL_GATEWAY, ACCESS_POLICY);

    public static final Kind NETWORK_POLICY = new Kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies");

    /** Every kind the translator generates, in the order their informers start. */
    public static final List<Kind> GENERATED = List.of(
            NETWORK_POLICY,
            new Kind("networking.istio.io", "v1", "Sidecar", "sidecars"),
            new Kind("networking.istio.io", "v1", "ServiceEntry", "serviceentries"),
            new Kind("networking.istio.io", "v1", "Gateway", "gateways"),
            new Kind("networking.istio.io", "v1", "VirtualService", "virtualservices"),
            new Kind("networking.istio.io", "v1", "DestinationRule", "destinationrules"),
            new Kind("security.istio.io", "v1", "AuthorizationPolicy", "authorizationpolicies"));

    private ManagedKinds() {
    }

    private static Kind declaration(String kind, String plural) {
        return new Kind(EgressTranslator.GROUP, EgressTranslator.VERSION, kind, plural);
    }

    /** The generated kind with this apiVersion and kind. */
    public static Optional<Kind> generated(String apiVersion, String kind) {
        return GENERATED.stream().filter(k -> k.apiVersion().equals(apiVersion) && k.kind().equals(kind))
                .findFirst();
    }
}
