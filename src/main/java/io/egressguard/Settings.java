package io.egressguard;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What Egress Guard knows about the mesh and the cluster. Defaults match a stock Istio install; the server builds it
 * from Quarkus configuration ({@code egressguard.*}), the CLI from its defaults and flags.
 *
 * @param gatewayNamespace namespace of the egress gateway deployment and Service
 * @param gatewayService name of the egress gateway Service
 * @param gatewayLabels labels that select the egress gateway pods
 * @param istiodNamespace namespace of istiod
 * @param ownNamespace namespace Egress Guard runs in
 * @param proxyUid UID of the sidecar proxy, whose traffic iptables never redirects
 * @param proxyGid GID of the sidecar proxy
 * @param proxyImagePattern regular expression an injected {@code istio-proxy} image must match (default: Istio's
 *     published {@code proxyv2} images on docker.io/istio and gcr.io/istio-release; set it to your mirror's)
 * @param clusterCidrs pod and service CIDRs of the cluster: addresses inside them are not "external" (default:
 *     kubeadm's and kind's defaults, 10.244.0.0/16 for pods and 10.96.0.0/12 for services, and their IPv6 twins;
 *     set them to your cluster's)
 * @param installedRevisions Istio revisions that exist ({@code istio.io/rev} values that inject)
 * @param exemptNamespaces namespaces that are never guarded
 * @param clusterDomain the cluster DNS domain
 * @param trustDomain the mesh trust domain used in SPIFFE principals
 * @param adminGroups groups whose members may change managed objects and enforcement labels
 * @param serviceAccount Egress Guard's own service account user name
 */
public record Settings(
        String gatewayNamespace,
        String gatewayService,
        Map<String, String> gatewayLabels,
        String istiodNamespace,
        String ownNamespace,
        long proxyUid,
        long proxyGid,
        String proxyImagePattern,
        List<String> clusterCidrs,
        List<String> installedRevisions,
        Set<String> exemptNamespaces,
        String clusterDomain,
        String trustDomain,
        List<String> adminGroups,
        String serviceAccount) {

    /** The label a namespace carries to opt in: {@code enforce}, {@code warn} or {@code audit}. */
    public static final String MODE_LABEL = "egressguard.io/mode";
    /** Label on every object Egress Guard generates. */
    public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY_VALUE = "egress-guard";
    /** Annotation on every generated object naming the declaration it comes from ({@code Kind/namespace/name}). */
    public static final String SOURCE_ANNOTATION = "egressguard.io/source";

    public static Settings defaults() {
        return new Settings(
                "istio-egress",
                "istio-egressgateway",
                Map.of("istio", "egressgateway"),
                "istio-system",
                "egress-guard",
                1337,
                1337,
                "^(docker\\.io/istio|gcr\\.io/istio-release|istio)/proxyv2:[A-Za-z0-9._-]+$",
                List.of("10.244.0.0/16", "10.96.0.0/12", "fd00:10:244::/56", "fd00:10:96::/112"),
                List.of("default"),
                Set.of("kube-system", "kube-public", "kube-node-lease"),
                "cluster.local",
                "cluster.local",
                List.of("system:masters"),
                "system:serviceaccount:egress-guard:egress-guard");
    }

    /** Every namespace that is never guarded: the configured ones plus istiod's, the gateway's and our own. */
    public Set<String> platformNamespaces() {
        java.util.TreeSet<String> all = new java.util.TreeSet<>(exemptNamespaces);
        all.add(istiodNamespace);
        all.add(gatewayNamespace);
        all.add(ownNamespace);
        return all;
    }

    /** The settings as the CEL variable {@code egressguard} that policies read. */
    public Map<String, Object> toCel() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("gatewayNamespace", gatewayNamespace);
        m.put("gatewayService", gatewayService);
        m.put("gatewayHost", gatewayService + "." + gatewayNamespace + ".svc." + clusterDomain);
        m.put("gatewayLabels", Map.copyOf(gatewayLabels));
        m.put("istiodNamespace", istiodNamespace);
        m.put("ownNamespace", ownNamespace);
        m.put("proxyUid", proxyUid);
        m.put("proxyGid", proxyGid);
        m.put("proxyImagePattern", proxyImagePattern);
        m.put("clusterCidrs", List.copyOf(clusterCidrs));
        m.put("installedRevisions", List.copyOf(installedRevisions));
        m.put("platformNamespaces", List.copyOf(platformNamespaces()));
        m.put("clusterDomain", clusterDomain);
        m.put("trustDomain", trustDomain);
        m.put("adminGroups", List.copyOf(adminGroups));
        m.put("serviceAccount", serviceAccount);
        return Map.copyOf(m);
    }
}
