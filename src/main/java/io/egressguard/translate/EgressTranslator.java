package io.egressguard.translate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Translates egress declarations into the Istio and Kubernetes objects that enforce them. A pure function: no I/O, no
 * cluster access, and the same output, sorted by kind, namespace and name, for the same inputs in any order.
 *
 * <p>Inputs are parsed manifests of any kind. The translator reads
 * <ul>
 * <li>{@code ExternalService}, {@code VirtualGateway} and {@code AccessPolicy} of {@value #API_VERSION}, or of Gloo
 * Mesh's {@value #GLOO_NETWORKING_API_VERSION} and {@value #GLOO_SECURITY_API_VERSION}, which have the same fields;</li>
 * <li>{@code ServiceAccount}s, to resolve the clients an AccessPolicy selects by labels;</li>
 * <li>{@code Namespace}s labelled {@value Settings#MODE_LABEL}, which get a REGISTRY_ONLY Sidecar and a NetworkPolicy
 * that denies egress except to DNS, istiod, the egress gateways and pods in the cluster;</li>
 * </ul>
 * and ignores every other kind.
 *
 * <p>For each routed external host it generates a ServiceEntry, a VirtualService whose mesh leg sends clients to the
 * egress gateway over mutual TLS and whose gateway leg sends the gateway to the host, a DestinationRule that
 * originates TLS at the gateway when the port asks for it ({@code clientsideTls}), a subset of the gateway Service's
 * DestinationRule, a server on the Istio Gateway of each VirtualGateway, and rules on the ALLOW AuthorizationPolicy of
 * each gateway: the clients an AccessPolicy allows, or every client for a host that no AccessPolicy protects.
 *
 * <p>A field the translator does not translate is refused, never dropped: it becomes an error
 * {@link TranslationProblem} and its declaration is not translated. An ExternalService that a refused AccessPolicy
 * selects is denied to every client until the policy is fixed. Unresolvable references are warnings.
 */
public final class EgressTranslator {

    /** The API group of Egress Guard's declarations. */
    public static final String GROUP = "egressguard.io";
    /** The API version of Egress Guard's declarations. */
    public static final String VERSION = "v1alpha1";
    /** {@code egressguard.io/v1alpha1}. */
    public static final String API_VERSION = GROUP + "/" + VERSION;
    /** Gloo Mesh's ExternalService and VirtualGateway, accepted with the same fields. */
    public static final String GLOO_NETWORKING_API_VERSION = "networking.gloo.solo.io/v2";
    /** Gloo Mesh's AccessPolicy, accepted with the same fields. */
    public static final String GLOO_SECURITY_API_VERSION = "security.policy.gloo.solo.io/v2";

    private final Settings settings;

    /** A translator for the mesh and cluster that {@code settings} describe (gateway, trust domain, namespaces). */
    public EgressTranslator(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /** Translates every declaration among {@code inputs}; see the class documentation. */
    public Translation translate(List<? extends JsonNode> inputs) {
        List<TranslationProblem> problems = new ArrayList<>();
        Declarations declarations = new DeclarationParser(settings, problems).parse(inputs);
        List<ObjectNode> objects = new TranslationRun(settings, declarations, problems).run();
        problems.sort(TranslationProblem.ORDER);
        return new Translation(objects, problems);
    }
}
