package io.egressguard.translate;

import java.util.List;
import java.util.Map;

/** The declarations of one translation, parsed and checked field by field. */
record Declarations(
        List<Declarations.ExternalService> externalServices,
        List<Declarations.VirtualGateway> virtualGateways,
        List<Declarations.AccessPolicy> accessPolicies,
        List<Declarations.ServiceAccount> serviceAccounts,
        List<Declarations.EnforcedNamespace> enforcedNamespaces) {

    /** Where a declaration comes from: {@code Kind/namespace/name}, or {@code Kind/name} when cluster-scoped. */
    record Source(String kind, String namespace, String name) {
        String text() {
            return namespace == null ? kind + "/" + name : kind + "/" + namespace + "/" + name;
        }
    }

    enum Protocol { HTTP, HTTPS, TLS, TCP }

    /** What the gateway sees of a port's traffic, which decides the Istio route kind on both legs. */
    enum Carriage {
        /** HTTP requests: plain HTTP ports, and HTTPS ports whose TLS the gateway originates. */
        HTTP,
        /** The client's own TLS, routed by its SNI. */
        TLS,
        /** An opaque byte stream: TCP ports, and TLS ports whose TLS the gateway originates. */
        TCP
    }

    record ExternalService(Source source, Findings findings, Map<String, String> labels, List<String> hosts,
            List<String> addresses, List<Port> ports) {
        boolean wildcard() {
            return hosts.stream().anyMatch(HostNames::isWildcard);
        }
    }

    /**
     * One port of an ExternalService.
     *
     * @param portMatch the port clients call; the mesh leg of the route matches it
     * @param tls TLS that the gateway originates, or {@code null}
     */
    record Port(String path, int number, String name, Protocol protocol, Integer targetPort, ClientTls tls,
            int portMatch, List<GatewayRef> gatewayRefs) {
        Carriage carriage() {
            return switch (protocol) {
                case HTTP -> Carriage.HTTP;
                case HTTPS -> tls != null ? Carriage.HTTP : Carriage.TLS;
                case TLS -> tls != null ? Carriage.TCP : Carriage.TLS;
                case TCP -> Carriage.TCP;
            };
        }
    }

    record ClientTls(String sni, String caCertificates, List<String> subjectAltNames) {
    }

    record GatewayRef(String path, String namespace, String name) {
    }

    /** The gateway deployment a VirtualGateway programs: its namespace, its Service and its pods' labels. */
    record GatewayTarget(String namespace, String service, Map<String, String> labels) {
    }

    record VirtualGateway(Source source, Findings findings, GatewayTarget target, List<Listener> listeners) {
    }

    enum ListenerMode { ISTIO_MUTUAL, PASSTHROUGH }

    /** What a listener was declared to carry ({@code http: {}}, {@code tcp: {}} or {@code appProtocol}). */
    enum ListenerKind { ANY, HTTP, TCP }

    /**
     * One listener of a VirtualGateway.
     *
     * @param port the port of the gateway Service
     * @param targetPort the port the gateway pods listen on
     * @param exposed the hosts it exposes; empty exposes every ExternalService that routes through it
     */
    record Listener(String path, int port, int targetPort, ListenerMode mode, ListenerKind kind,
            List<ExposedHost> exposed) {
    }

    /** An exposed host; {@code namespace} is the ExternalService namespace it is limited to, or {@code null}. */
    record ExposedHost(String path, String namespace, String host) {
    }

    record AccessPolicy(Source source, Findings findings, List<DestinationSelector> destinations,
            List<AuthzEntry> entries) {
    }

    /** Selects ExternalServices; {@code null} fields match anything, {@code port} {@code null} means all ports. */
    record DestinationSelector(String path, String name, String namespace, Map<String, String> labels, Integer port) {
    }

    /** One authorization entry: any of the clients, with all of the methods and paths (empty = any). */
    record AuthzEntry(String path, List<ClientSelector> clients, List<String> methods, List<String> paths) {
    }

    /** Selects service accounts; all fields {@code null} or empty selects every client. */
    record ClientSelector(String path, String name, String namespace, Map<String, String> labels) {
        boolean everyone() {
            return name == null && namespace == null && labels.isEmpty();
        }
    }

    record ServiceAccount(String namespace, String name, Map<String, String> labels) {
    }

    record EnforcedNamespace(Source source, String name) {
    }
}
