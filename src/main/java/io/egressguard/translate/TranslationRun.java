package io.egressguard.translate;

import static io.egressguard.translate.Manifests.ISTIO_NETWORKING;
import static io.egressguard.translate.Manifests.ISTIO_SECURITY;
import static io.egressguard.translate.Manifests.KUBERNETES_NETWORKING;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.Settings;
import io.egressguard.translate.Declarations.AccessPolicy;
import io.egressguard.translate.Declarations.AuthzEntry;
import io.egressguard.translate.Declarations.Carriage;
import io.egressguard.translate.Declarations.ClientSelector;
import io.egressguard.translate.Declarations.DestinationSelector;
import io.egressguard.translate.Declarations.EnforcedNamespace;
import io.egressguard.translate.Declarations.ExternalService;
import io.egressguard.translate.Declarations.GatewayRef;
import io.egressguard.translate.Declarations.GatewayTarget;
import io.egressguard.translate.Declarations.Listener;
import io.egressguard.translate.Declarations.ListenerKind;
import io.egressguard.translate.Declarations.ListenerMode;
import io.egressguard.translate.Declarations.Port;
import io.egressguard.translate.Declarations.ServiceAccount;
import io.egressguard.translate.Declarations.VirtualGateway;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/** One translation: resolves the parsed declarations against each other and builds the objects. */
final class TranslationRun {

    /** The immutable label Kubernetes puts on every namespace, holding its name. */
    static final String NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
    /** Cluster DNS: CoreDNS or kube-dns pods in kube-system, as every standard distribution labels them. */
    static final String DNS_NAMESPACE = "kube-system";
    static final Map<String, String> DNS_LABELS = Map.of("k8s-app", "kube-dns");
    static final int DNS_PORT = 53;
    /** istiod pods: xDS and certificates (15012) and the injection and validation webhooks (15017). */
    static final Map<String, String> ISTIOD_LABELS = Map.of("app", "istiod");
    static final List<Integer> ISTIOD_PORTS = List.of(15012, 15017);

    private static final String MESH = "mesh";
    private static final String ALL_NAMESPACES = "*";
    private static final String SAME_NAMESPACE = ".";

    private final Settings settings;
    private final Declarations declarations;
    private final List<TranslationProblem> problems;
    private final String home;

    private final Map<String, VirtualGateway> gateways = new TreeMap<>();
    private final Set<String> declaredGateways = new TreeSet<>();
    private final List<Plan> plans = new ArrayList<>();
    /** Access per ExternalService source and port number; absent means every client may use the port. */
    private final Map<String, Map<Integer, Access>> access = new HashMap<>();
    private final Map<Key, Draft> drafts = new TreeMap<>();

    TranslationRun(Settings settings, Declarations declarations, List<TranslationProblem> problems) {
        this.settings = settings;
        this.declarations = declarations;
        this.problems = problems;
        this.home = settings.gatewayNamespace();
    }

    List<ObjectNode> run() {
        for (VirtualGateway vg : declarations.virtualGateways()) {
            declaredGateways.add(key(vg.source().namespace(), vg.source().name()));
            if (!vg.findings().hasErrors()) {
                gateways.put(key(vg.source().namespace(), vg.source().name()), vg);
            }
        }
        planExternalServices();
        resolveAccessPolicies();
        for (Plan plan : plans) {
            generate(plan);
        }
        warnUnroutedExposedHosts();
        finishGateways();
        for (EnforcedNamespace namespace : new TreeMap<>(byName(declarations.enforcedNamespaces())).values()) {
            generateNamespace(namespace);
        }
        List<ObjectNode> objects = new ArrayList<>();
        drafts.forEach((key, draft) -> objects.add(Manifests.manifest(key.apiVersion(), key.kind(), key.namespace(),
                key.name(), draft.sources, draft.spec.get())));
        return objects;
    }

    private static Map<String, EnforcedNamespace> byName(List<EnforcedNamespace> namespaces) {
        Map<String, EnforcedNamespace> map = new TreeMap<>();
        namespaces.forEach(n -> map.putIfAbsent(n.name(), n));
        return map;
    }

    private static String key(String namespace, String name) {
        return namespace + "/" + name;
    }

    // -------------------------------------------------------------------------------------------------------- plans

    /** A route of one host of one port through one listener of one VirtualGateway. */
    record Route(VirtualGateway vg, Listener listener) {
        GatewayTarget target() {
            return vg.target();
        }

        String gatewayRef() {
            return vg.target().namespace() + "/" + EgressNames.gateway(vg.source().namespace(), vg.source().name());
        }
    }

    /** A port with its routes per host (hosts sorted); only hosts with at least one route are present. */
    record RoutedPort(Port port, Map<String, List<Route>> routes) {
    }

    /** An ExternalService that will be translated, with its routed ports sorted by number. */
    record Plan(ExternalService es, List<RoutedPort> ports) {
    }

    private void planExternalServices() {
        List<ExternalService> services = new ArrayList<>(declarations.externalServices());
        services.sort(Comparator.comparing(es -> es.source().text()));
        Map<String, String> claimed = new HashMap<>();
        for (ExternalService es : services) {
            if (es.findings().hasErrors()) {
                continue;
            }
            for (int i = 0; i < es.hosts().size(); i++) {
                String other = claimed.putIfAbsent(es.hosts().get(i), es.source().text());
                if (other != null) {
                    es.findings().error("spec.hosts[" + i + "]", "\"" + es.hosts().get(i) + "\" is already declared by "
                            + other + "; declare each host once");
                }
            }
            if (es.findings().hasErrors()) {
                continue;
            }
            Plan plan = plan(es);
            if (plan != null) {
                plans.add(plan);
            }
        }
    }

    private Plan plan(ExternalService es) {
        Findings findings = es.findings();
        List<String> hosts = new ArrayList<>(new TreeSet<>(es.hosts()));
        List<Port> ports = new ArrayList<>(es.ports());
        ports.sort(Comparator.comparingInt(Port::number));
        List<RoutedPort> routed = new ArrayList<>();
        Map<String, String> listenerUse = new HashMap<>();
        Set<String> declaredNames = new TreeSet<>();
        ports.forEach(p -> declaredNames.add(p.name()));
        for (Port port : ports) {
            if (port.portMatch() != port.number() && declaredNames.contains(meshPortName(port))) {
                findings.error(port.path() + ".name", "the port Egress Guard adds for portMatch "
                        + port.portMatch() + " is named " + meshPortName(port) + ", which a declared port uses;"
                        + " rename that port");
            }
            Map<String, List<Route>> routes = new TreeMap<>();
            for (GatewayRef ref : port.gatewayRefs()) {
                String refKey = key(ref.namespace(), ref.name());
                VirtualGateway vg = gateways.get(refKey);
                if (vg == null) {
                    findings.warn(ref.path(), "VirtualGateway " + refKey + (declaredGateways.contains(refKey)
                            ? " is refused" : " is not declared") + "; port " + port.number()
                            + " is not routed through it");
                    continue;
                }
                for (String host : hosts) {
                    Listener listener = listenerFor(vg, es, host, port, findings, ref);
                    if (listener == null) {
                        continue;
                    }
                    String incompatible = incompatibility(port, listener);
                    if (incompatible != null) {
                        findings.error(ref.path(), "listener " + listener.port() + " of VirtualGateway " + refKey + " "
                                + incompatible);
                        continue;
                    }
                    String use = host + "|" + key(vg.target().namespace(), vg.target().service()) + "|"
                            + listener.port();
                    String user = port.number() + " through VirtualGateway " + refKey;
                    String other = listenerUse.putIfAbsent(use, user);
                    if (other != null && !other.equals(user)) {
                        findings.error(ref.path(), "host " + host + " already uses port " + listener.port()
                                + " of gateway " + vg.target().service() + "." + vg.target().namespace() + " for port "
                                + other + "; give each port its own listener");
                        continue;
                    }
                    routes.computeIfAbsent(host, h -> new ArrayList<>()).add(new Route(vg, listener));
                }
            }
            if (!routes.isEmpty()) {
                routed.add(new RoutedPort(port, routes));
            }
        }
        if (findings.hasErrors()) {
            return null;
        }
        if (routed.isEmpty()) {
            findings.warn("spec.ports", "no port is routed through a VirtualGateway, so nothing is generated for this"
                    + " ExternalService");
            return null;
        }
        return new Plan(es, routed);
    }

    private static Listener listenerFor(VirtualGateway vg, ExternalService es, String host, Port port,
            Findings findings, GatewayRef ref) {
        List<Listener> candidates = vg.listeners().stream().filter(l -> exposes(vg, l, es, host)).toList();
        for (Listener l : candidates) {
            if (l.port() == port.number()) {
                return l;
            }
        }
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        String vgName = key(vg.source().namespace(), vg.source().name());
        findings.warn(ref.path(), candidates.isEmpty()
                ? "VirtualGateway " + vgName + " has no listener that exposes " + host + "; port " + port.number()
                        + " of " + host + " is not routed through it"
                : "VirtualGateway " + vgName + " has several listeners that expose " + host + " and none on port "
                        + port.number() + "; port " + port.number() + " of " + host + " is not routed through it");
        return null;
    }

    private static boolean exposes(VirtualGateway vg, Listener listener, ExternalService es, String host) {
        if (listener.exposed().isEmpty()) {
            return true;
        }
        return listener.exposed().stream().anyMatch(e -> e.host().equals(host) && (e.namespace() == null
                || (e.namespace().equals(SAME_NAMESPACE) ? vg.source().namespace() : e.namespace())
                        .equals(es.source().namespace())));
    }

    private static String incompatibility(Port port, Listener listener) {
        Carriage carriage = port.carriage();
        if (listener.mode() == ListenerMode.PASSTHROUGH && carriage != Carriage.TLS) {
            return "passes the client's TLS through (PASSTHROUGH), but port " + port.number() + " carries "
                    + describe(port) + "; route it through an ISTIO_MUTUAL listener";
        }
        if (listener.kind() == ListenerKind.HTTP && carriage != Carriage.HTTP) {
            return "is declared for HTTP, but port " + port.number() + " carries " + describe(port)
                    + "; use a listener without http";
        }
        if (listener.kind() == ListenerKind.TCP && carriage == Carriage.HTTP) {
            return "is declared for TCP, but port " + port.number() + " carries " + describe(port)
                    + "; use a listener with http";
        }
        return null;
    }

    private static String describe(Port port) {
        return switch (port.carriage()) {
            case HTTP -> port.tls() != null ? "HTTP that the gateway sends on over TLS (clientsideTls)" : "HTTP";
            case TLS -> "the client's own TLS";
            case TCP -> port.tls() != null ? "TCP that the gateway sends on over TLS (clientsideTls)" : "TCP";
        };
    }

    private static String meshProtocol(Port port) {
        return switch (port.carriage()) {
            case HTTP -> "HTTP";
            case TLS -> "TLS";
            case TCP -> "TCP";
        };
    }

    private static String meshPortName(Port port) {
        return EgressNames.port(meshProtocol(port), port.portMatch());
    }

    // ------------------------------------------------------------------------------------------------------- access

    /** One resolved authorization entry: principals (none and {@code everyone} for any client), methods, paths. */
    record Entry(boolean everyone, List<String> principals, List<String> methods, List<String> paths) {
    }

    /** Who may use one port of one ExternalService, gathered from every AccessPolicy that selects it. */
    static final class Access {
        boolean locked;
        final Map<String, Entry> entries = new TreeMap<>();
        final Set<String> namespaces = new TreeSet<>();
        boolean allNamespaces;
        final Set<String> sources = new TreeSet<>();

        /** Two ports with the same key allow the same requests. */
        String key() {
            return locked ? "locked" : entries.keySet().toString();
        }
    }

    private void resolveAccessPolicies() {
        List<AccessPolicy> policies = new ArrayList<>(declarations.accessPolicies());
        policies.sort(Comparator.comparing(ap -> ap.source().text()));
        for (AccessPolicy ap : policies) {
            Findings findings = ap.findings();
            Map<String, Map.Entry<Plan, RoutedPort>> selected = new TreeMap<>();
            for (DestinationSelector d : ap.destinations()) {
                boolean any = false;
                for (Plan plan : plans) {
                    if (!selects(d, plan.es())) {
                        continue;
                    }
                    for (RoutedPort rp : plan.ports()) {
                        if (d.port() == null || d.port() == rp.port().number()) {
                            selected.put(plan.es().source().text() + "|" + rp.port().number(), Map.entry(plan, rp));
                            any = true;
                        }
                    }
                    if (d.port() != null && plan.es().ports().stream().noneMatch(p -> p.number() == d.port())) {
                        findings.warn(d.path() + ".port.number", "ExternalService " + plan.es().source().namespace()
                                + "/" + plan.es().source().name() + " has no port " + d.port());
                    }
                }
                if (!any) {
                    findings.warn(d.path(), "selects no translated ExternalService");
                }
            }
            if (!findings.hasErrors()) {
                checkAgainstPorts(ap, selected.values());
            }
            if (findings.hasErrors()) {
                for (Map.Entry<Plan, RoutedPort> e : selected.values()) {
                    Access a = accessOf(e.getKey(), e.getValue());
                    a.locked = true;
                    a.sources.add(ap.source().text());
                    e.getKey().es().findings().warn(e.getValue().port().path(), "denied to every client while "
                            + ap.source().text() + ", which selects it, is refused");
                }
                continue;
            }
            List<Entry> entries = new ArrayList<>();
            Set<String> namespaces = new TreeSet<>();
            boolean allNamespaces = false;
            for (AuthzEntry entry : ap.entries()) {
                Entry resolved = resolve(entry, findings, namespaces);
                if (resolved != null) {
                    entries.add(resolved);
                    allNamespaces |= resolved.everyone();
                }
            }
            for (Map.Entry<Plan, RoutedPort> e : selected.values()) {
                Access a = accessOf(e.getKey(), e.getValue());
                a.sources.add(ap.source().text());
                entries.forEach(entry -> a.entries.put(entry.toString(), entry));
                a.namespaces.addAll(namespaces);
                a.allNamespaces |= allNamespaces;
            }
        }
    }

    private Access accessOf(Plan plan, RoutedPort rp) {
        return access.computeIfAbsent(plan.es().source().text(), k -> new HashMap<>())
                .computeIfAbsent(rp.port().number(), k -> new Access());
    }

    private static boolean selects(DestinationSelector d, ExternalService es) {
        return (d.name() == null || d.name().equals(es.source().name()))
                && (d.namespace() == null || d.namespace().equals(es.source().namespace()))
                && es.labels().entrySet().containsAll(d.labels().entrySet());
    }

    /** Refuses what the gateway cannot check on the selected ports. */
    private static void checkAgainstPorts(AccessPolicy ap, Collection<Map.Entry<Plan, RoutedPort>> ports) {
        for (AuthzEntry entry : ap.entries()) {
            boolean restricted = !entry.clients().isEmpty() && entry.clients().stream()
                    .noneMatch(ClientSelector::everyone);
            for (Map.Entry<Plan, RoutedPort> e : ports) {
                Port port = e.getValue().port();
                String where = "port " + port.number() + " of ExternalService " + e.getKey().es().source().namespace()
                        + "/" + e.getKey().es().source().name();
                if (port.carriage() != Carriage.HTTP) {
                    if (!entry.methods().isEmpty()) {
                        ap.findings().error(entry.path() + ".allowedMethods", where + " carries " + describe(port)
                                + ", whose methods the gateway cannot read; remove allowedMethods or select HTTP"
                                + " ports only");
                    }
                    if (!entry.paths().isEmpty()) {
                        ap.findings().error(entry.path() + ".allowedPaths", where + " carries " + describe(port)
                                + ", whose paths the gateway cannot read; remove allowedPaths or select HTTP ports"
                                + " only");
                    }
                }
                boolean passthrough = e.getValue().routes().values().stream().flatMap(List::stream)
                        .anyMatch(r -> r.listener().mode() == ListenerMode.PASSTHROUGH);
                if (restricted && passthrough) {
                    ap.findings().error(entry.path() + ".allowedClients", where + " goes through a PASSTHROUGH"
                            + " listener, where the gateway cannot identify clients; route it through an ISTIO_MUTUAL"
                            + " listener");
                }
            }
        }
    }

    private Entry resolve(AuthzEntry entry, Findings findings, Set<String> namespaces) {
        List<String> methods = new ArrayList<>(new TreeSet<>(entry.methods()));
        List<String> paths = new ArrayList<>(new TreeSet<>(entry.paths()));
        if (entry.clients().isEmpty() || entry.clients().stream().anyMatch(ClientSelector::everyone)) {
            return new Entry(true, List.of(), methods, paths);
        }
        Set<String> principals = new TreeSet<>();
        List<ServiceAccount> accounts = new ArrayList<>(declarations.serviceAccounts());
        accounts.sort(Comparator.comparing(ServiceAccount::namespace).thenComparing(ServiceAccount::name));
        for (ClientSelector c : entry.clients()) {
            if (c.labels().isEmpty() && c.namespace() != null) {
                String account = c.name() != null ? c.name() : "*";
                principals.add(principal(c.namespace(), account));
                namespaces.add(c.namespace());
                continue;
            }
            boolean any = false;
            for (ServiceAccount sa : accounts) {
                if ((c.name() == null || c.name().equals(sa.name()))
                        && (c.namespace() == null || c.namespace().equals(sa.namespace()))
                        && sa.labels().entrySet().containsAll(c.labels().entrySet())) {
                    principals.add(principal(sa.namespace(), sa.name()));
                    namespaces.add(sa.namespace());
                    any = true;
                }
            }
            if (!any) {
                findings.warn(c.path(), "matches no ServiceAccount among the inputs, so it allows no client");
            }
        }
        if (principals.isEmpty()) {
            return null;
        }
        return new Entry(false, new ArrayList<>(principals), methods, paths);
    }

    private String principal(String namespace, String account) {
        return settings.trustDomain() + "/ns/" + namespace + "/sa/" + account;
    }

    // --------------------------------------------------------------------------------------------------- generation

    /** The identity of a generated object; drafts are kept sorted by it. */
    record Key(String kind, String namespace, String name, String apiVersion) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            return Comparator.comparing(Key::kind).thenComparing(Key::namespace).thenComparing(Key::name)
                    .compare(this, o);
        }
    }

    /** An object being built from several declarations. */
    static final class Draft {
        final Set<String> sources = new TreeSet<>();
        Supplier<ObjectNode> spec;
    }

    private Draft draft(String apiVersion, String kind, String namespace, String name) {
        return drafts.computeIfAbsent(new Key(kind, namespace, name, apiVersion), k -> new Draft());
    }

    /** A draft that belongs to one declaration alone; a name clash with another declaration's object is refused. */
    private Draft ownDraft(String apiVersion, String kind, String namespace, String name, Findings findings) {
        Key key = new Key(kind, namespace, name, apiVersion);
        Draft existing = drafts.get(key);
        if (existing != null) {
            findings.error("metadata.name", "generates " + kind + " " + namespace + "/" + name + ", which "
                    + String.join(",", existing.sources) + " already generates; rename one of them");
            return new Draft();
        }
        return draft(apiVersion, kind, namespace, name);
    }

    /** Per gateway Service: the subsets of its DestinationRule and the rules of its AuthorizationPolicy. */
    static final class GatewayDraft {
        final GatewayTarget target;
        final Map<String, ObjectNode> subsets = new TreeMap<>();
        final Map<String, ObjectNode> rules = new TreeMap<>();
        final Set<String> exportTo = new TreeSet<>();
        boolean exportAll;
        final Set<String> sources = new TreeSet<>();

        GatewayDraft(GatewayTarget target) {
            this.target = target;
        }
    }

    /** Per VirtualGateway: the hosts of each server, by listener port and server protocol. */
    static final class ServerDraft {
        final VirtualGateway vg;
        final Map<Integer, Map<String, Set<String>>> hosts = new TreeMap<>();
        final Set<String> sources = new TreeSet<>();

        ServerDraft(VirtualGateway vg) {
            this.vg = vg;
        }
    }

    private final Map<String, GatewayDraft> gatewayDrafts = new TreeMap<>();
    private final Map<String, ServerDraft> serverDrafts = new TreeMap<>();

    private GatewayDraft gatewayDraft(GatewayTarget target) {
        return gatewayDrafts.computeIfAbsent(key(target.namespace(), target.service()), k -> new GatewayDraft(target));
    }

    private ServerDraft serverDraft(VirtualGateway vg) {
        return serverDrafts.computeIfAbsent(key(vg.source().namespace(), vg.source().name()),
                k -> new ServerDraft(vg));
    }

    private void generate(Plan plan) {
        ExternalService es = plan.es();
        Map<Integer, Access> accessByPort = access.getOrDefault(es.source().text(), Map.of());
        // routing objects come from the ExternalService and its VirtualGateways; objects whose exportTo or rules
        // depend on who may call also come from the AccessPolicies
        Set<String> routing = new TreeSet<>();
        routing.add(es.source().text());
        Set<String> gatewayNamespaces = new TreeSet<>();
        boolean exportAll = false;
        Set<String> clientNamespaces = new TreeSet<>();
        for (RoutedPort rp : plan.ports()) {
            rp.routes().values().forEach(routes -> routes.forEach(r -> {
                routing.add(r.vg().source().text());
                gatewayNamespaces.add(r.target().namespace());
            }));
        }
        Set<String> sources = new TreeSet<>(routing);
        for (RoutedPort rp : plan.ports()) {
            Access a = accessByPort.get(rp.port().number());
            if (a == null) {
                exportAll = true;
            } else {
                sources.addAll(a.sources);
                if (!a.locked) {
                    exportAll |= a.allNamespaces;
                    clientNamespaces.addAll(a.namespaces);
                }
            }
        }
        List<String> exportTo = exportTo(exportAll, clientNamespaces, gatewayNamespaces);
        List<String> gatewayOnly = exportTo(false, Set.of(), gatewayNamespaces);

        Draft se = ownDraft(ISTIO_NETWORKING, "ServiceEntry", home,
                EgressNames.serviceEntry(es.source().namespace(), es.source().name()), es.findings());
        se.sources.addAll(sources);
        se.spec = () -> serviceEntry(plan, exportTo);

        for (String host : new TreeSet<>(es.hosts())) {
            List<RoutedPort> ports = plan.ports().stream().filter(rp -> rp.routes().containsKey(host)).toList();
            if (ports.isEmpty()) {
                continue;
            }
            Draft vs = ownDraft(ISTIO_NETWORKING, "VirtualService", home, EgressNames.virtualService(host),
                    es.findings());
            vs.sources.addAll(sources);
            vs.spec = () -> virtualService(host, ports, exportTo);
            if (ports.stream().anyMatch(rp -> rp.port().tls() != null)) {
                Draft dr = ownDraft(ISTIO_NETWORKING, "DestinationRule", home, EgressNames.tlsOrigination(host),
                        es.findings());
                dr.sources.addAll(routing);
                dr.spec = () -> tlsOrigination(host, ports, gatewayOnly);
            }
            for (RoutedPort rp : ports) {
                for (Route route : rp.routes().get(host)) {
                    GatewayDraft gd = gatewayDraft(route.target());
                    gd.sources.addAll(sources);
                    gd.exportAll |= exportAll;
                    // only client sidecars use the gateway Service's DestinationRule
                    gd.exportTo.addAll(clientNamespaces);
                    ObjectNode subset = gd.subsets.computeIfAbsent(EgressNames.subset(host), name -> {
                        ObjectNode s = Manifests.object();
                        s.put("name", name);
                        s.putObject("trafficPolicy").putArray("portLevelSettings");
                        return s;
                    });
                    addPortSetting(subset, route.listener(), host);
                    ServerDraft sd = serverDraft(route.vg());
                    sd.sources.addAll(routing);
                    sd.hosts.computeIfAbsent(route.listener().port(), p -> new TreeMap<>())
                            .computeIfAbsent(rp.port().carriage() == Carriage.HTTP ? "HTTPS" : "TLS",
                                    p -> new TreeSet<>())
                            .add(home + "/" + host);
                }
            }
            addRules(host, ports, accessByPort);
        }
    }

    private List<String> exportTo(boolean all, Set<String> clients, Set<String> gatewayNamespaces) {
        if (all) {
            return List.of(ALL_NAMESPACES);
        }
        Set<String> others = new TreeSet<>(clients);
        others.addAll(gatewayNamespaces);
        others.remove(home);
        List<String> list = new ArrayList<>();
        list.add(SAME_NAMESPACE);
        list.addAll(others);
        return list;
    }

    private ObjectNode serviceEntry(Plan plan, List<String> exportTo) {
        ExternalService es = plan.es();
        ObjectNode spec = Manifests.object();
        spec.set("hosts", Manifests.strings(new TreeSet<>(es.hosts())));
        if (!es.addresses().isEmpty()) {
            spec.set("addresses", Manifests.strings(new TreeSet<>(es.addresses())));
        }
        Map<Integer, ObjectNode> ports = new TreeMap<>();
        for (RoutedPort rp : plan.ports()) {
            Port port = rp.port();
            ObjectNode p = Manifests.object();
            p.put("number", port.number());
            p.put("name", port.name());
            p.put("protocol", port.protocol().name());
            if (port.targetPort() != null) {
                p.put("targetPort", port.targetPort());
            }
            ports.put(port.number(), p);
            if (port.portMatch() != port.number()) {
                ObjectNode m = Manifests.object();
                m.put("number", port.portMatch());
                m.put("name", meshPortName(port));
                m.put("protocol", meshProtocol(port));
                ports.put(port.portMatch(), m);
            }
        }
        ArrayNode portArray = spec.putArray("ports");
        ports.values().forEach(portArray::add);
        spec.put("location", "MESH_EXTERNAL");
        spec.put("resolution", es.wildcard() ? "NONE" : "DNS");
        spec.set("exportTo", Manifests.strings(exportTo));
        return spec;
    }

    private String gatewayHost(GatewayTarget target) {
        return target.service() + "." + target.namespace() + ".svc." + settings.clusterDomain();
    }

    private ObjectNode virtualService(String host, List<RoutedPort> ports, List<String> exportTo) {
        Set<String> gatewayRefs = new TreeSet<>();
        ports.forEach(rp -> rp.routes().get(host).forEach(r -> gatewayRefs.add(r.gatewayRef())));
        List<String> gatewaysList = new ArrayList<>(gatewayRefs);
        gatewaysList.add(MESH);
        ArrayNode http = Manifests.array();
        ArrayNode tls = Manifests.array();
        ArrayNode tcp = Manifests.array();
        for (RoutedPort rp : ports) {
            Port port = rp.port();
            List<Route> routes = rp.routes().get(host);
            // mesh leg: the sidecar sends what the client calls on portMatch to the gateway, over mutual TLS
            Map<String, ObjectNode> destinations = new TreeMap<>();
            for (Route r : routes) {
                ObjectNode d = Manifests.object();
                ObjectNode destination = d.putObject("destination");
                destination.put("host", gatewayHost(r.target()));
                destination.put("subset", EgressNames.subset(host));
                destination.putObject("port").put("number", r.listener().port());
                destinations.put(String.format("%s|%05d", key(r.target().namespace(), r.target().service()),
                        r.listener().port()), d);
            }
            ArrayNode meshRoute = weighted(new ArrayList<>(destinations.values()));
            ObjectNode meshMatch = match(MESH, port.portMatch(), port.carriage() == Carriage.TLS ? host : null);
            switch (port.carriage()) {
                case HTTP -> http.add(route(meshMatch, meshRoute));
                case TLS -> tls.add(route(meshMatch, meshRoute));
                case TCP -> tcp.add(route(meshMatch, meshRoute));
            }
            // gateway leg: the gateway sends it on to the external host
            Map<String, Route> legs = new TreeMap<>();
            routes.forEach(r -> legs.putIfAbsent(r.gatewayRef() + "|" + r.listener().port(), r));
            for (Route r : legs.values()) {
                ObjectNode d = Manifests.object();
                ObjectNode destination = d.putObject("destination");
                destination.put("host", host);
                destination.putObject("port").put("number", port.number());
                ArrayNode route = Manifests.array().add(d);
                if (r.listener().mode() == ListenerMode.PASSTHROUGH) {
                    tls.add(route(match(r.gatewayRef(), r.listener().port(), host), route));
                } else if (port.carriage() == Carriage.HTTP) {
                    http.add(route(match(r.gatewayRef(), r.listener().port(), null), route));
                } else {
                    tcp.add(route(match(r.gatewayRef(), r.listener().port(), null), route));
                }
            }
        }
        ObjectNode spec = Manifests.object();
        spec.set("hosts", Manifests.strings(List.of(host)));
        spec.set("gateways", Manifests.strings(gatewaysList));
        spec.set("exportTo", Manifests.strings(exportTo));
        if (!http.isEmpty()) {
            spec.set("http", http);
        }
        if (!tls.isEmpty()) {
            spec.set("tls", tls);
        }
        if (!tcp.isEmpty()) {
            spec.set("tcp", tcp);
        }
        return spec;
    }

    private static ObjectNode match(String gateway, int port, String sniHost) {
        ObjectNode m = Manifests.object();
        m.set("gateways", Manifests.strings(List.of(gateway)));
        m.put("port", port);
        if (sniHost != null) {
            m.set("sniHosts", Manifests.strings(List.of(sniHost)));
        }
        return m;
    }

    private static ObjectNode route(ObjectNode match, ArrayNode destinations) {
        ObjectNode r = Manifests.object();
        r.set("match", Manifests.array().add(match));
        r.set("route", destinations);
        return r;
    }

    /** Spreads traffic evenly over several gateways; the weights add up to 100. */
    private static ArrayNode weighted(List<ObjectNode> destinations) {
        ArrayNode out = Manifests.array();
        int n = destinations.size();
        for (int i = 0; i < n; i++) {
            ObjectNode d = destinations.get(i);
            if (n > 1) {
                d.put("weight", 100 / n + (i < 100 % n ? 1 : 0));
            }
            out.add(d);
        }
        return out;
    }

    private static ObjectNode tlsOrigination(String host, List<RoutedPort> ports, List<String> exportTo) {
        ObjectNode spec = Manifests.object();
        spec.put("host", host);
        spec.set("exportTo", Manifests.strings(exportTo));
        ArrayNode settings = spec.putObject("trafficPolicy").putArray("portLevelSettings");
        for (RoutedPort rp : ports) {
            if (rp.port().tls() == null) {
                continue;
            }
            ObjectNode s = settings.addObject();
            s.putObject("port").put("number", rp.port().number());
            ObjectNode tls = s.putObject("tls");
            tls.put("mode", "SIMPLE");
            tls.put("sni", rp.port().tls().sni() != null ? rp.port().tls().sni() : host);
            if (!rp.port().tls().subjectAltNames().isEmpty()) {
                tls.set("subjectAltNames", Manifests.strings(rp.port().tls().subjectAltNames()));
            }
            // without caCertificates, Istio verifies the server against the gateway's system CA bundle
            if (rp.port().tls().caCertificates() != null) {
                tls.put("caCertificates", rp.port().tls().caCertificates());
            }
        }
        return spec;
    }

    private static void addPortSetting(ObjectNode subset, Listener listener, String host) {
        ArrayNode settings = (ArrayNode) subset.path("trafficPolicy").path("portLevelSettings");
        for (int i = 0; i < settings.size(); i++) {
            if (settings.get(i).path("port").path("number").intValue() == listener.port()) {
                return;
            }
        }
        ObjectNode s = Manifests.object();
        s.putObject("port").put("number", listener.port());
        ObjectNode tls = s.putObject("tls");
        if (listener.mode() == ListenerMode.ISTIO_MUTUAL) {
            tls.put("mode", "ISTIO_MUTUAL");
            tls.put("sni", host);
        } else {
            // the client's TLS goes to the gateway as it is: no mutual TLS around it
            tls.put("mode", "DISABLE");
        }
        int at = 0;
        while (at < settings.size() && settings.get(at).path("port").path("number").intValue() < listener.port()) {
            at++;
        }
        settings.insert(at, s);
    }

    private void addRules(String host, List<RoutedPort> ports, Map<Integer, Access> accessByPort) {
        Map<String, List<RoutedPort>> byTarget = new TreeMap<>();
        Map<String, GatewayTarget> targets = new HashMap<>();
        for (RoutedPort rp : ports) {
            for (Route r : rp.routes().get(host)) {
                String t = key(r.target().namespace(), r.target().service());
                targets.put(t, r.target());
                List<RoutedPort> list = byTarget.computeIfAbsent(t, k -> new ArrayList<>());
                if (!list.contains(rp)) {
                    list.add(rp);
                }
            }
        }
        byTarget.forEach((t, targetPorts) -> {
            GatewayTarget target = targets.get(t);
            Map<String, List<RoutedPort>> groups = new TreeMap<>();
            Map<String, Access> groupAccess = new HashMap<>();
            for (RoutedPort rp : targetPorts) {
                Access a = accessByPort.get(rp.port().number());
                String k = a == null ? "open" : a.key();
                groups.computeIfAbsent(k, x -> new ArrayList<>()).add(rp);
                groupAccess.putIfAbsent(k, a);
            }
            boolean withPorts = groups.size() > 1;
            GatewayDraft gd = gatewayDraft(target);
            groups.forEach((k, group) -> {
                Access a = groupAccess.get(k);
                List<Entry> entries = a == null ? List.of(new Entry(true, List.of(), List.of(), List.of()))
                        : a.locked ? List.of() : new ArrayList<>(a.entries.values());
                Set<Integer> targetPorts2 = new TreeSet<>();
                group.forEach(rp -> rp.routes().get(host).stream().filter(r -> r.target().equals(target))
                        .forEach(r -> targetPorts2.add(r.listener().targetPort())));
                List<String> portList = targetPorts2.stream().map(String::valueOf).toList();
                boolean http = group.stream().anyMatch(rp -> rp.port().carriage() == Carriage.HTTP);
                boolean sni = group.stream().anyMatch(rp -> rp.port().carriage() != Carriage.HTTP);
                for (Entry entry : entries) {
                    if (http) {
                        addRule(gd, host, httpRule(entry, host, withPorts ? portList : List.of()));
                    }
                    if (sni) {
                        addRule(gd, host, sniRule(entry, host, withPorts ? portList : List.of()));
                    }
                }
            });
        });
    }

    private static void addRule(GatewayDraft gd, String host, ObjectNode rule) {
        gd.rules.put(host + "\u0000" + rule, rule);
    }

    private static ObjectNode httpRule(Entry entry, String host, List<String> ports) {
        ObjectNode rule = Manifests.object();
        from(rule, entry);
        ObjectNode operation = rule.putArray("to").addObject().putObject("operation");
        operation.set("hosts", Manifests.strings(List.of(host)));
        if (!ports.isEmpty()) {
            operation.set("ports", Manifests.strings(ports));
        }
        if (!entry.methods().isEmpty()) {
            operation.set("methods", Manifests.strings(entry.methods()));
        }
        if (!entry.paths().isEmpty()) {
            operation.set("paths", Manifests.strings(entry.paths()));
        }
        return rule;
    }

    /** TLS and TCP carry no Host header: the gateway tells the host by the SNI of the connection. */
    private static ObjectNode sniRule(Entry entry, String host, List<String> ports) {
        ObjectNode rule = Manifests.object();
        from(rule, entry);
        if (!ports.isEmpty()) {
            rule.putArray("to").addObject().putObject("operation").set("ports", Manifests.strings(ports));
        }
        ObjectNode when = rule.putArray("when").addObject();
        when.put("key", "connection.sni");
        when.set("values", Manifests.strings(List.of(host)));
        return rule;
    }

    private static void from(ObjectNode rule, Entry entry) {
        if (!entry.everyone()) {
            rule.putArray("from").addObject().putObject("source").set("principals",
                    Manifests.strings(entry.principals()));
        }
    }

    private void warnUnroutedExposedHosts() {
        for (VirtualGateway vg : gateways.values()) {
            ServerDraft sd = serverDrafts.get(key(vg.source().namespace(), vg.source().name()));
            for (Listener listener : vg.listeners()) {
                Set<String> served = new TreeSet<>();
                if (sd != null && sd.hosts.containsKey(listener.port())) {
                    sd.hosts.get(listener.port()).values().forEach(hosts -> hosts.forEach(
                            h -> served.add(h.substring(h.indexOf('/') + 1))));
                }
                for (Declarations.ExposedHost e : listener.exposed()) {
                    if (!served.contains(e.host())) {
                        vg.findings().warn(e.path(), "no translated ExternalService routes " + e.host()
                                + " through this listener");
                    }
                }
            }
        }
    }

    private void finishGateways() {
        serverDrafts.values().forEach(sd -> {
            VirtualGateway vg = sd.vg;
            Draft gw = ownDraft(ISTIO_NETWORKING, "Gateway", vg.target().namespace(),
                    EgressNames.gateway(vg.source().namespace(), vg.source().name()), vg.findings());
            gw.sources.addAll(sd.sources);
            Map<Integer, Listener> listeners = new TreeMap<>();
            vg.listeners().forEach(l -> listeners.put(l.port(), l));
            gw.spec = () -> {
                ObjectNode spec = Manifests.object();
                spec.set("selector", Manifests.stringMap(vg.target().labels()));
                ArrayNode servers = spec.putArray("servers");
                sd.hosts.forEach((port, byProtocol) -> byProtocol.forEach((protocol, hosts) -> {
                    ObjectNode server = servers.addObject();
                    ObjectNode p = server.putObject("port");
                    p.put("number", port);
                    p.put("name", EgressNames.port(protocol, port));
                    p.put("protocol", protocol);
                    server.set("hosts", Manifests.strings(hosts));
                    server.putObject("tls").put("mode", listeners.get(port).mode().name());
                }));
                return spec;
            };
        });
        gatewayDrafts.values().forEach(gd -> {
            GatewayTarget target = gd.target;
            Draft dr = draft(ISTIO_NETWORKING, "DestinationRule", home,
                    EgressNames.gatewayDestinationRule(target.namespace(), target.service()));
            dr.sources.addAll(gd.sources);
            List<String> exportTo = exportTo(gd.exportAll, gd.exportTo, Set.of());
            dr.spec = () -> {
                ObjectNode spec = Manifests.object();
                spec.put("host", gatewayHost(target));
                spec.set("exportTo", Manifests.strings(exportTo));
                ArrayNode subsets = spec.putArray("subsets");
                gd.subsets.values().forEach(subsets::add);
                return spec;
            };
            Draft ap = draft(ISTIO_SECURITY, "AuthorizationPolicy", target.namespace(),
                    EgressNames.authorizationPolicy(target.service()));
            ap.sources.addAll(gd.sources);
            ap.spec = () -> {
                ObjectNode spec = Manifests.object();
                spec.set("selector", Manifests.matchLabels(target.labels()));
                spec.put("action", "ALLOW");
                if (!gd.rules.isEmpty()) {
                    ArrayNode rules = spec.putArray("rules");
                    gd.rules.values().forEach(rules::add);
                }
                return spec;
            };
        });
    }

    // --------------------------------------------------------------------------------------------------- namespaces

    private void generateNamespace(EnforcedNamespace namespace) {
        Draft sidecar = draft(ISTIO_NETWORKING, "Sidecar", namespace.name(), EgressNames.SIDECAR);
        sidecar.sources.add(namespace.source().text());
        sidecar.spec = () -> {
            ObjectNode spec = Manifests.object();
            spec.putObject("outboundTrafficPolicy").put("mode", "REGISTRY_ONLY");
            return spec;
        };
        // every declared gateway, whether or not a host routes through it yet: pods reach it on its pods' ports
        Map<String, GatewayTarget> targets = new TreeMap<>();
        Map<String, Set<Integer>> targetPorts = new TreeMap<>();
        Draft policy = draft(KUBERNETES_NETWORKING, "NetworkPolicy", namespace.name(), EgressNames.DENY_EGRESS_POLICY);
        policy.sources.add(namespace.source().text());
        for (VirtualGateway vg : gateways.values()) {
            String t = key(vg.target().namespace(), vg.target().service()) + "|" + vg.target().labels();
            targets.put(t, vg.target());
            vg.listeners().forEach(l -> targetPorts.computeIfAbsent(t, k -> new TreeSet<>()).add(l.targetPort()));
            policy.sources.add(vg.source().text());
        }
        policy.spec = () -> {
            ObjectNode spec = Manifests.object();
            spec.putObject("podSelector");
            spec.set("policyTypes", Manifests.strings(List.of("Egress")));
            ArrayNode egress = spec.putArray("egress");
            egress.add(peerRule(DNS_NAMESPACE, DNS_LABELS, Map.of(DNS_PORT, List.of("UDP", "TCP"))));
            Map<Integer, List<String>> istiod = new LinkedHashMap<>();
            ISTIOD_PORTS.forEach(p -> istiod.put(p, List.of("TCP")));
            egress.add(peerRule(settings.istiodNamespace(), ISTIOD_LABELS, istiod));
            targets.forEach((t, target) -> {
                Map<Integer, List<String>> ports = new LinkedHashMap<>();
                targetPorts.get(t).forEach(p -> ports.put(p, List.of("TCP")));
                egress.add(peerRule(target.namespace(), target.labels(), ports));
            });
            // pod to pod inside the cluster: this namespace, then every namespace; never an ipBlock
            ObjectNode inCluster = egress.addObject();
            ArrayNode to = inCluster.putArray("to");
            to.addObject().putObject("podSelector");
            to.addObject().putObject("namespaceSelector");
            return spec;
        };
    }

    private static ObjectNode peerRule(String namespace, Map<String, String> labels,
            Map<Integer, List<String>> ports) {
        ObjectNode rule = Manifests.object();
        ObjectNode peer = rule.putArray("to").addObject();
        peer.set("namespaceSelector", Manifests.matchLabels(Map.of(NAMESPACE_NAME_LABEL, namespace)));
        peer.set("podSelector", Manifests.matchLabels(labels));
        ArrayNode portArray = rule.putArray("ports");
        ports.forEach((port, protocols) -> protocols.forEach(protocol -> {
            ObjectNode p = portArray.addObject();
            p.put("protocol", protocol);
            p.put("port", port);
        }));
        return rule;
    }
}
