package io.egressguard.translate;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressguard.Settings;
import io.egressguard.translate.Declarations.AccessPolicy;
import io.egressguard.translate.Declarations.AuthzEntry;
import io.egressguard.translate.Declarations.ClientSelector;
import io.egressguard.translate.Declarations.ClientTls;
import io.egressguard.translate.Declarations.DestinationSelector;
import io.egressguard.translate.Declarations.EnforcedNamespace;
import io.egressguard.translate.Declarations.ExposedHost;
import io.egressguard.translate.Declarations.ExternalService;
import io.egressguard.translate.Declarations.GatewayRef;
import io.egressguard.translate.Declarations.GatewayTarget;
import io.egressguard.translate.Declarations.Listener;
import io.egressguard.translate.Declarations.ListenerKind;
import io.egressguard.translate.Declarations.ListenerMode;
import io.egressguard.translate.Declarations.Port;
import io.egressguard.translate.Declarations.Protocol;
import io.egressguard.translate.Declarations.ServiceAccount;
import io.egressguard.translate.Declarations.Source;
import io.egressguard.translate.Declarations.VirtualGateway;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Reads ExternalService, VirtualGateway and AccessPolicy manifests (Egress Guard's or Gloo Mesh's apiVersions),
 * ServiceAccounts and Namespaces into {@link Declarations}, refusing every field it does not translate.
 */
final class DeclarationParser {

    static final String EXTERNAL_SERVICE = "ExternalService";
    static final String VIRTUAL_GATEWAY = "VirtualGateway";
    static final String ACCESS_POLICY = "AccessPolicy";

    /** Gloo Mesh listeners without {@code tls} carry plain traffic; its default TLS mode is PASSTHROUGH. */
    private static final String DEFAULT_LISTENER_TLS_MODE = "PASSTHROUGH";
    /** Gloo Mesh's default for {@code egressGatewayRoutes.portMatch}. */
    private static final int DEFAULT_PORT_MATCH = 80;
    private static final String DEFAULT_NAMESPACE = "default";

    private static final Set<String> HTTP_APP_PROTOCOLS = Set.of("HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB",
            "HTTP_PROXY");
    private static final Set<String> TCP_APP_PROTOCOLS = Set.of("TCP", "TLS", "MONGO", "REDIS", "MYSQL");
    private static final Pattern METHOD = Pattern.compile("[A-Z]+");
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private final Settings settings;
    private final List<TranslationProblem> problems;
    private final List<ExternalService> externalServices = new ArrayList<>();
    private final List<VirtualGateway> virtualGateways = new ArrayList<>();
    private final List<AccessPolicy> accessPolicies = new ArrayList<>();
    private final List<ServiceAccount> serviceAccounts = new ArrayList<>();
    private final List<EnforcedNamespace> namespaces = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();

    DeclarationParser(Settings settings, List<TranslationProblem> problems) {
        this.settings = settings;
        this.problems = problems;
    }

    Declarations parse(List<? extends JsonNode> inputs) {
        for (JsonNode input : inputs) {
            read(input);
        }
        return new Declarations(externalServices, virtualGateways, accessPolicies, serviceAccounts, namespaces);
    }

    private void read(JsonNode input) {
        if (input == null || !input.isObject()) {
            return;
        }
        String apiVersion = input.path("apiVersion").asText("");
        String kind = input.path("kind").asText("");
        if (kind.endsWith("List") && input.path("items").isArray()) {
            input.path("items").forEach(this::read);
            return;
        }
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        boolean declaration = switch (kind) {
            case EXTERNAL_SERVICE, VIRTUAL_GATEWAY -> apiVersion.equals(EgressTranslator.API_VERSION)
                    || apiVersion.equals(EgressTranslator.GLOO_NETWORKING_API_VERSION);
            case ACCESS_POLICY -> apiVersion.equals(EgressTranslator.API_VERSION)
                    || apiVersion.equals(EgressTranslator.GLOO_SECURITY_API_VERSION);
            default -> false;
        };
        JsonNode metadata = input.path("metadata");
        String name = metadata.path("name").asText("");
        if (declaration) {
            String namespace = metadata.path("namespace").asText(DEFAULT_NAMESPACE);
            Source source = new Source(kind, namespace, name);
            Findings findings = new Findings(source.text(), problems);
            if (name.isEmpty()) {
                findings.error("metadata.name", "required");
                return;
            }
            if (!seen.add(source.text())) {
                findings.error("metadata.name", "declared more than once; the first declaration is translated");
                return;
            }
            Fields root = Fields.of(input, "", findings);
            root.accept("apiVersion", "kind", "metadata", "status");
            Fields spec = root.object("spec");
            if (spec == null) {
                findings.error("spec", "required");
                return;
            }
            switch (kind) {
                case EXTERNAL_SERVICE -> externalServices.add(externalService(source, findings, metadata, spec));
                case VIRTUAL_GATEWAY -> virtualGateways.add(virtualGateway(source, findings, spec));
                default -> accessPolicies.add(accessPolicy(source, findings, spec));
            }
            spec.rejectUnread();
            root.rejectUnread();
        } else if (group.equals(EgressTranslator.GROUP)) {
            new Findings(new Source(kind, metadata.path("namespace").asText(null), name).text(), problems)
                    .error("apiVersion", apiVersion + " " + kind + " is not a kind Egress Guard knows; use "
                            + EgressTranslator.API_VERSION + " ExternalService, VirtualGateway or AccessPolicy");
        } else if (apiVersion.equals("v1") && kind.equals("ServiceAccount") && !name.isEmpty()) {
            serviceAccounts.add(new ServiceAccount(metadata.path("namespace").asText(DEFAULT_NAMESPACE), name,
                    labels(metadata)));
        } else if (apiVersion.equals("v1") && kind.equals("Namespace") && !name.isEmpty()
                && metadata.path("labels").has(Settings.MODE_LABEL)) {
            Source source = new Source(kind, null, name);
            if (settings.platformNamespaces().contains(name)) {
                new Findings(source.text(), problems).warn("metadata.labels[\"" + Settings.MODE_LABEL + "\"]",
                        "platform namespaces are never guarded; the label is ignored");
            } else {
                namespaces.add(new EnforcedNamespace(source, name));
            }
        }
    }

    private static Map<String, String> labels(JsonNode metadata) {
        Map<String, String> labels = new TreeMap<>();
        metadata.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        return labels;
    }

    // ---------------------------------------------------------------------------------------------- ExternalService

    private ExternalService externalService(Source source, Findings findings, JsonNode metadata, Fields spec) {
        List<String> hosts = spec.strings("hosts");
        if (hosts.isEmpty()) {
            findings.error(spec.path("hosts"), "required: name at least one fully qualified host");
        }
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < hosts.size(); i++) {
            String problem = HostNames.hostProblem(hosts.get(i), settings.clusterDomain());
            if (problem != null) {
                findings.error(spec.path("hosts") + "[" + i + "]", problem);
            } else if (!distinct.add(hosts.get(i))) {
                findings.error(spec.path("hosts") + "[" + i + "]", "\"" + hosts.get(i) + "\" is listed twice");
            }
        }
        long wildcards = hosts.stream().filter(HostNames::isWildcard).count();
        if (wildcards > 0 && wildcards < hosts.size()) {
            findings.error(spec.path("hosts"), "mixes wildcard and fully qualified hosts, which Istio resolves"
                    + " differently (NONE and DNS); declare them in two ExternalServices");
        }
        List<String> addresses = spec.strings("addresses");
        for (int i = 0; i < addresses.size(); i++) {
            String problem = HostNames.addressProblem(addresses.get(i));
            if (problem != null) {
                findings.error(spec.path("addresses") + "[" + i + "]", problem);
            } else if (HostNames.isCidr(addresses.get(i)) && wildcards == 0) {
                findings.error(spec.path("addresses") + "[" + i + "]", "\"" + addresses.get(i) + "\" is a CIDR,"
                        + " which Istio allows only without DNS resolution (wildcard hosts); list single addresses");
            }
        }
        List<Fields> portFields = spec.objects("ports");
        if (portFields.isEmpty()) {
            findings.error(spec.path("ports"), "required: declare at least one port");
        }
        List<Port> ports = new ArrayList<>();
        for (Fields p : portFields) {
            Port port = port(p, source, wildcards > 0);
            if (port != null) {
                ports.add(port);
            }
        }
        checkPorts(ports, findings);
        return new ExternalService(source, findings, labels(metadata), hosts, addresses, ports);
    }

    private Port port(Fields p, Source source, boolean wildcard) {
        Findings findings = p.findings();
        Integer number = p.integer("number", 1, 65535);
        if (number == null && !p.has("number")) {
            findings.error(p.path("number"), "required");
        }
        String protocolText = p.string("protocol");
        Protocol protocol = null;
        if (protocolText == null) {
            findings.error(p.path("protocol"), "required: HTTP, HTTPS, TLS or TCP");
        } else {
            protocol = enumValue(Protocol.class, protocolText);
            if (protocol == null) {
                findings.error(p.path("protocol"), "\"" + protocolText + "\" is not supported by Egress Guard;"
                        + " use HTTP, HTTPS, TLS or TCP");
            }
        }
        String name = p.string("name");
        if (name != null && !NAMESPACE.matcher(name).matches()) {
            findings.error(p.path("name"), "\"" + name + "\" is not a valid port name: lower-case letters, digits"
                    + " and dashes, at most 63");
        }
        Integer targetPort = null;
        Fields target = p.object("targetPort");
        if (target != null) {
            targetPort = target.integer("number", 1, 65535);
            if (targetPort == null && !target.has("name")) {
                findings.error(target.path("number"), "required");
            }
            target.rejectUnread();
        }
        ClientTls tls = null;
        Fields tlsFields = p.object("clientsideTls");
        if (tlsFields != null) {
            tls = clientTls(tlsFields);
            if (protocol == Protocol.HTTP || protocol == Protocol.TCP) {
                findings.error(tlsFields.path(), "allowed only on HTTPS and TLS ports: the gateway originates TLS"
                        + " for those; remove it or change the protocol");
            }
        }
        Integer portMatch = DEFAULT_PORT_MATCH;
        List<GatewayRef> refs = new ArrayList<>();
        Fields routes = p.object("egressGatewayRoutes");
        if (routes == null) {
            findings.error(p.path("egressGatewayRoutes"), "required: Egress Guard sends every external port"
                    + " through an egress gateway; name its VirtualGateway in virtualGatewayRefs");
        } else {
            Integer match = routes.integer("portMatch", 1, 65535);
            if (match != null) {
                portMatch = match;
            }
            List<Fields> refFields = routes.objects("virtualGatewayRefs");
            if (refFields.isEmpty()) {
                findings.error(routes.path("virtualGatewayRefs"), "required: name at least one VirtualGateway");
            }
            for (Fields r : refFields) {
                String refName = r.string("name");
                String refNamespace = r.string("namespace");
                r.string("cluster");
                if (refName == null) {
                    findings.error(r.path("name"), "required");
                } else {
                    refs.add(new GatewayRef(r.path(), refNamespace == null ? source.namespace() : refNamespace,
                            refName));
                }
                r.rejectUnread();
            }
            routes.rejectUnread();
        }
        p.rejectUnread();
        if (number == null || protocol == null) {
            return null;
        }
        Port port = new Port(p.path(), number, name != null ? name : EgressNames.port(protocol.name(), number),
                protocol, targetPort, tls, portMatch, refs);
        if (wildcard && port.carriage() != Declarations.Carriage.TLS) {
            findings.error(p.path(), "a wildcard host can only be reached with the client's own TLS, routed by"
                    + " SNI: use protocol TLS or HTTPS without clientsideTls");
        }
        return port;
    }

    private ClientTls clientTls(Fields t) {
        Findings findings = t.findings();
        String sni = t.string("sni");
        if (sni != null && (HostNames.isWildcard(sni) || HostNames.hostProblem(sni, settings.clusterDomain()) != null)) {
            findings.error(t.path("sni"), "\"" + sni + "\" is not a fully qualified host name");
        }
        String mode = t.string("mode");
        if (mode != null && !mode.equals("SIMPLE")) {
            if (Set.of("DISABLE", "MUTUAL", "ISTIO_MUTUAL").contains(mode)) {
                findings.error(t.path("mode"), mode + " is not supported by Egress Guard; use SIMPLE (the gateway"
                        + " originates TLS and verifies the server)");
            } else {
                findings.error(t.path("mode"), "\"" + mode + "\" is not a TLS mode; use SIMPLE");
            }
        }
        String ca = t.string("caCertificates");
        List<String> sans = t.strings("subjectAltNames");
        Boolean insecure = t.bool("insecureSkipVerify");
        if (Boolean.TRUE.equals(insecure)) {
            findings.error(t.path("insecureSkipVerify"), "not supported by Egress Guard: the gateway always verifies"
                    + " the server certificate; remove it");
        }
        t.rejectUnread();
        return new ClientTls(sni, ca, List.copyOf(sans));
    }

    private static void checkPorts(List<Port> ports, Findings findings) {
        Map<Integer, Port> byNumber = new HashMap<>();
        Map<String, Port> byName = new HashMap<>();
        Map<Integer, Port> byMatch = new HashMap<>();
        for (Port port : ports) {
            Port other = byNumber.putIfAbsent(port.number(), port);
            if (other != null) {
                findings.error(port.path() + ".number", port.number() + " is already declared by " + other.path());
            }
            other = byName.putIfAbsent(port.name(), port);
            if (other != null) {
                findings.error(port.path() + ".name", "\"" + port.name() + "\" is already used by " + other.path());
            }
            other = byMatch.putIfAbsent(port.portMatch(), port);
            if (other != null) {
                findings.error(port.path() + ".egressGatewayRoutes.portMatch", port.portMatch()
                        + " is already matched by " + other.path() + "; each port needs its own portMatch");
            }
        }
        for (Port port : ports) {
            Port other = byNumber.get(port.portMatch());
            String path = port.path() + ".egressGatewayRoutes.portMatch";
            if (other != null && other != port) {
                findings.error(path, port.portMatch() + " is the number of " + other.path() + ": clients calling it"
                        + " would not be routed through the gateway by this port; choose another portMatch");
            }
            if (port.tls() != null && port.portMatch() == port.number()) {
                findings.error(path, "must differ from the port number when the gateway originates TLS: clients"
                        + " call portMatch in plain text (Gloo's default is 80)");
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- VirtualGateway

    private VirtualGateway virtualGateway(Source source, Findings findings, Fields spec) {
        GatewayTarget target = new GatewayTarget(settings.gatewayNamespace(), settings.gatewayService(),
                new TreeMap<>(settings.gatewayLabels()));
        List<Fields> workloads = spec.objects("workloads");
        if (workloads.size() > 1) {
            findings.error(spec.path("workloads"), "Egress Guard programs one gateway per VirtualGateway; declare one"
                    + " VirtualGateway per gateway");
        }
        for (Fields w : workloads) {
            String kind = w.string("kind");
            if (kind != null && !kind.equals("KUBE")) {
                findings.error(w.path("kind"), kind + " is not supported by Egress Guard; gateways are Kubernetes"
                        + " workloads (KUBE)");
            }
            Fields selector = w.object("selector");
            if (selector != null) {
                Map<String, String> labels = selector.stringMap("labels");
                String namespace = selector.string("namespace");
                String service = selector.string("name");
                selector.string("cluster");
                selector.rejectUnread();
                target = new GatewayTarget(namespace != null ? namespace : source.namespace(),
                        service != null ? service : settings.gatewayService(),
                        labels.isEmpty() ? new TreeMap<>(settings.gatewayLabels()) : labels);
            }
            w.rejectUnread();
        }
        List<Fields> listenerFields = spec.objects("listeners");
        if (listenerFields.isEmpty()) {
            findings.error(spec.path("listeners"), "required: declare at least one listener");
        }
        List<Listener> listeners = new ArrayList<>();
        Map<Integer, String> ports = new HashMap<>();
        for (Fields l : listenerFields) {
            Listener listener = listener(l);
            if (listener != null) {
                String other = ports.putIfAbsent(listener.port(), listener.path());
                if (other != null) {
                    findings.error(l.path("port.number"), listener.port() + " is already used by " + other);
                }
                listeners.add(listener);
            }
        }
        return new VirtualGateway(source, findings, target, listeners);
    }

    private Listener listener(Fields l) {
        Findings findings = l.findings();
        Integer number = null;
        Integer targetPort = null;
        Fields port = l.object("port");
        if (port == null) {
            findings.error(l.path("port"), "required");
        } else {
            number = port.integer("number", 1, 65535);
            if (number == null && !port.has("name")) {
                findings.error(port.path("number"), "required");
            }
            targetPort = port.integer("targetPort", 1, 65535);
            port.rejectUnread();
        }
        ListenerMode mode = null;
        Fields tls = l.object("tls");
        if (tls == null) {
            findings.error(l.path("tls"), "required: Egress Guard listeners use tls.mode ISTIO_MUTUAL (sidecars"
                    + " reach the gateway over mutual TLS, so it knows the client) or PASSTHROUGH");
        } else {
            String modeText = tls.string("mode");
            modeText = modeText == null ? DEFAULT_LISTENER_TLS_MODE : modeText;
            mode = enumValue(ListenerMode.class, modeText);
            if (mode == null) {
                findings.error(tls.path("mode"), modeText + " is not supported by Egress Guard; use ISTIO_MUTUAL"
                        + " (sidecars reach the gateway over mutual TLS) or PASSTHROUGH");
            }
            tls.rejectUnread();
        }
        ListenerKind kind = ListenerKind.ANY;
        Fields http = l.object("http");
        Fields tcp = l.object("tcp");
        for (Fields f : Arrays.asList(http, tcp)) {
            if (f != null) {
                f.rejectUnread();
            }
        }
        if (http != null && tcp != null) {
            findings.error(l.path(), "sets both http and tcp; keep one");
        } else if (http != null) {
            kind = ListenerKind.HTTP;
        } else if (tcp != null) {
            kind = ListenerKind.TCP;
        }
        String appProtocol = l.string("appProtocol");
        if (appProtocol != null) {
            ListenerKind declared = HTTP_APP_PROTOCOLS.contains(appProtocol) ? ListenerKind.HTTP
                    : TCP_APP_PROTOCOLS.contains(appProtocol) ? ListenerKind.TCP : null;
            if (declared == null) {
                findings.error(l.path("appProtocol"), "\"" + appProtocol + "\" is not an application protocol: "
                        + "GRPC, GRPC-WEB, HTTP, HTTP_PROXY, HTTP2, HTTPS, TCP, TLS, MONGO, REDIS or MYSQL");
            } else if (kind != ListenerKind.ANY && kind != declared) {
                findings.error(l.path("appProtocol"), appProtocol + " contradicts " + (kind == ListenerKind.HTTP
                        ? "http" : "tcp") + "; make them agree");
            } else {
                kind = declared;
            }
        }
        if (mode == ListenerMode.PASSTHROUGH && kind == ListenerKind.HTTP) {
            findings.error(l.path(), "PASSTHROUGH forwards the client's TLS by SNI without reading HTTP; use tcp (or"
                    + " appProtocol TLS), or tls.mode ISTIO_MUTUAL");
        }
        List<ExposedHost> exposed = new ArrayList<>();
        for (Fields e : l.objects("exposedExternalServices")) {
            String host = e.string("host");
            if (host == null) {
                findings.error(e.path("host"), "required");
            } else {
                ExposedHost parsed = exposedHost(e.path("host"), host, findings);
                if (parsed != null) {
                    exposed.add(parsed);
                }
            }
            e.rejectUnread();
        }
        l.rejectUnread();
        if (number == null || mode == null) {
            return null;
        }
        return new Listener(l.path(), number, targetPort != null ? targetPort : defaultTargetPort(number), mode, kind,
                exposed);
    }

    /**
     * The port the gateway pods listen on for a Service port, when the listener does not say
     * ({@code spec.listeners[].port.targetPort}). Istio's gateway chart runs the proxy without root, so its default
     * egress gateway Service maps each privileged port to the same port plus 8000 (80 to 8080, 443 to 8443) and keeps
     * unprivileged ports as they are.
     */
    static int defaultTargetPort(int servicePort) {
        return servicePort < 1024 ? servicePort + 8000 : servicePort;
    }

    private ExposedHost exposedHost(String path, String text, Findings findings) {
        String namespace = null;
        String host = text;
        int slash = text.indexOf('/');
        if (slash >= 0) {
            namespace = text.substring(0, slash);
            host = text.substring(slash + 1);
            if (namespace.equals("*")) {
                namespace = null;
            } else if (!namespace.equals(".") && !NAMESPACE.matcher(namespace).matches()) {
                findings.error(path, "\"" + namespace + "\" is not a namespace; write [namespace/]host");
                return null;
            }
        }
        String problem = HostNames.hostProblem(host, settings.clusterDomain());
        if (problem != null) {
            findings.error(path, problem);
            return null;
        }
        return new ExposedHost(path, namespace, host);
    }

    // ------------------------------------------------------------------------------------------------- AccessPolicy

    private AccessPolicy accessPolicy(Source source, Findings findings, Fields spec) {
        List<DestinationSelector> destinations = new ArrayList<>();
        List<Fields> destinationFields = spec.objects("applyToDestinations");
        if (destinationFields.isEmpty()) {
            findings.error(spec.path("applyToDestinations"), "required: select the ExternalServices this policy"
                    + " protects (kind: EXTERNAL_SERVICE)");
        }
        for (Fields d : destinationFields) {
            String kind = d.string("kind");
            if (kind == null) {
                findings.error(d.path("kind"), "required: Egress Guard applies AccessPolicies to ExternalServices;"
                        + " set kind: EXTERNAL_SERVICE");
            } else if (!kind.equals("EXTERNAL_SERVICE")) {
                findings.error(d.path("kind"), kind + " is not supported by Egress Guard; AccessPolicies apply to"
                        + " ExternalServices (kind: EXTERNAL_SERVICE)");
            }
            Integer port = null;
            Fields portFields = d.object("port");
            if (portFields != null) {
                port = portFields.integer("number", 1, 65535);
                portFields.rejectUnread();
            }
            String name = null;
            String namespace = null;
            Map<String, String> labels = new TreeMap<>();
            Fields selector = d.object("selector");
            if (selector != null) {
                name = selector.string("name");
                namespace = selector.string("namespace");
                labels = selector.stringMap("labels");
                selector.string("cluster");
                selector.rejectUnread();
            }
            d.rejectUnread();
            if (kind == null || kind.equals("EXTERNAL_SERVICE")) {
                // kept even when the policy is refused: the ExternalServices it selects are then denied to everyone
                destinations.add(new DestinationSelector(d.path(), name, namespace, labels, port));
            }
        }
        List<AuthzEntry> entries = new ArrayList<>();
        Fields config = spec.object("config");
        if (config == null) {
            findings.error(spec.path("config"), "required: list the allowed clients in config.authzList");
        } else {
            Fields layers = config.object("enforcementLayers");
            if (layers != null) {
                Boolean mesh = layers.bool("mesh");
                if (Boolean.FALSE.equals(mesh)) {
                    findings.error(layers.path("mesh"), "Egress Guard enforces access on the egress gateway, in the"
                            + " mesh layer; remove mesh: false");
                }
                // the cni layer is Egress Guard's deny-egress NetworkPolicy, generated in every enforced namespace
                layers.bool("cni");
                layers.rejectUnread();
            }
            Fields authz = config.object("authz");
            List<Fields> authzList = config.objects("authzList");
            if (authz != null && !authzList.isEmpty()) {
                findings.error(config.path("authz"), "set either authz (deprecated) or authzList, not both: Gloo"
                        + " ignores authz when authzList is set");
            } else if (authz != null) {
                entries.add(authzEntry(authz));
            } else if (authzList.isEmpty()) {
                findings.error(config.path("authzList"), "required: list the allowed clients");
            } else {
                for (Fields entry : authzList) {
                    entries.add(authzEntry(entry));
                }
            }
            config.rejectUnread();
        }
        return new AccessPolicy(source, findings, destinations, entries);
    }

    private AuthzEntry authzEntry(Fields e) {
        Findings findings = e.findings();
        List<ClientSelector> clients = new ArrayList<>();
        for (Fields c : e.objects("allowedClients")) {
            Fields sa = c.object("serviceAccountSelector");
            if (sa == null) {
                if (c.has("externalWorkloadSelector") || c.has("requestIdentityMatcher")) {
                    c.rejectUnread();
                } else {
                    findings.error(c.path("serviceAccountSelector"), "required: select service accounts ({} allows"
                            + " every client)");
                }
                continue;
            }
            String name = sa.string("name");
            String namespace = sa.string("namespace");
            Map<String, String> labels = sa.stringMap("labels");
            sa.string("cluster");
            sa.rejectUnread();
            c.rejectUnread();
            clients.add(new ClientSelector(sa.path(), name, namespace, labels));
        }
        List<String> methods = e.strings("allowedMethods");
        for (int i = 0; i < methods.size(); i++) {
            if (!METHOD.matcher(methods.get(i)).matches()) {
                findings.error(e.path("allowedMethods") + "[" + i + "]", "\"" + methods.get(i)
                        + "\" is not an HTTP method; write it in upper case, as in GET");
            }
        }
        List<String> paths = e.strings("allowedPaths");
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            boolean ok = path.equals("*") || (path.startsWith("/") && path.indexOf('*') < 0)
                    || (path.startsWith("/") && path.indexOf('*') == path.length() - 1)
                    || (path.startsWith("*") && path.indexOf('*', 1) < 0);
            if (!ok) {
                findings.error(e.path("allowedPaths") + "[" + i + "]", "\"" + path + "\" is not a path pattern: an"
                        + " exact path (/get), a prefix (/api/*) or a suffix (*.json)");
            }
        }
        Boolean dryRun = e.bool("dryRun");
        if (Boolean.TRUE.equals(dryRun)) {
            findings.error(e.path("dryRun"), "not supported by Egress Guard: the policy would allow everything"
                    + " while it only logs; remove it");
        }
        e.rejectUnread();
        return new AuthzEntry(e.path(), clients, methods, paths);
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String text) {
        for (E value : type.getEnumConstants()) {
            if (value.name().equals(text)) {
                return value;
            }
        }
        return null;
    }
}
