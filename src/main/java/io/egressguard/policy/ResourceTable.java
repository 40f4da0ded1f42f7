package io.egressguard.policy;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a manifest's apiVersion and kind to the resource the API server would name in an AdmissionReview, for the
 * kinds Egress Guard reasons about: core, apps, batch, networking, discovery, Istio networking and security, and its
 * own declarations (plus Gloo Mesh's spelling of them).
 */
public final class ResourceTable {

    /** A resource as admission sees it. */
    public record Resource(String group, String kind, String plural, boolean namespaced) {
    }

    private static final Map<String, Resource> BY_GROUP_KIND = new HashMap<>();
    private static final Map<String, Resource> BY_GROUP_PLURAL = new HashMap<>();

    static {
        core("Pod", "pods");
        core("Service", "services");
        core("Endpoints", "endpoints");
        core("ConfigMap", "configmaps");
        core("Secret", "secrets");
        core("ServiceAccount", "serviceaccounts");
        core("ReplicationController", "replicationcontrollers");
        add("", "Namespace", "namespaces", false);
        for (String[] k : new String[][] {{"Deployment", "deployments"}, {"StatefulSet", "statefulsets"},
                {"DaemonSet", "daemonsets"}, {"ReplicaSet", "replicasets"}}) {
            add("apps", k[0], k[1], true);
        }
        add("batch", "Job", "jobs", true);
        add("batch", "CronJob", "cronjobs", true);
        add("networking.k8s.io", "NetworkPolicy", "networkpolicies", true);
        add("networking.k8s.io", "Ingress", "ingresses", true);
        add("discovery.k8s.io", "EndpointSlice", "endpointslices", true);
        add("policy", "PodDisruptionBudget", "poddisruptionbudgets", true);
        add("rbac.authorization.k8s.io", "Role", "roles", true);
        add("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true);
        add("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false);
        add("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", false);
        add("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", false);
        add("admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false);
        add("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false);
        add("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false);
        for (String[] k : new String[][] {{"ServiceEntry", "serviceentries"}, {"WorkloadEntry", "workloadentries"},
                {"WorkloadGroup", "workloadgroups"}, {"Sidecar", "sidecars"}, {"EnvoyFilter", "envoyfilters"},
                {"Gateway", "gateways"}, {"VirtualService", "virtualservices"},
                {"DestinationRule", "destinationrules"}, {"ProxyConfig", "proxyconfigs"}}) {
            add("networking.istio.io", k[0], k[1], true);
        }
        for (String[] k : new String[][] {{"AuthorizationPolicy", "authorizationpolicies"},
                {"PeerAuthentication", "peerauthentications"},
                {"RequestAuthentication", "requestauthentications"}}) {
            add("security.istio.io", k[0], k[1], true);
        }
        add("telemetry.istio.io", "Telemetry", "telemetries", true);
        add("extensions.istio.io", "WasmPlugin", "wasmplugins", true);
        add("gateway.networking.k8s.io", "Gateway", "gateways", true);
        add("gateway.networking.k8s.io", "HTTPRoute", "httproutes", true);
        add("gateway.networking.k8s.io", "TCPRoute", "tcproutes", true);
        add("gateway.networking.k8s.io", "TLSRoute", "tlsroutes", true);
        add("egressguard.io", "ExternalService", "externalservices", true);
        add("egressguard.io", "VirtualGateway", "virtualgateways", true);
        add("egressguard.io", "AccessPolicy", "accesspolicies", true);
        add("networking.gloo.solo.io", "ExternalService", "externalservices", true);
        add("networking.gloo.solo.io", "VirtualGateway", "virtualgateways", true);
        add("security.policy.gloo.solo.io", "AccessPolicy", "accesspolicies", true);
    }

    private ResourceTable() {
    }

    private static void core(String kind, String plural) {
        add("", kind, plural, true);
    }

    private static void add(String group, String kind, String plural, boolean namespaced) {
        Resource r = new Resource(group, kind, plural, namespaced);
        BY_GROUP_KIND.put(group + "/" + kind, r);
        BY_GROUP_PLURAL.put(group + "/" + plural, r);
    }

    /** The resource for an apiVersion ({@code v1}, {@code apps/v1}) and kind, if Egress Guard knows it. */
    public static Optional<Resource> forKind(String apiVersion, String kind) {
        return Optional.ofNullable(BY_GROUP_KIND.get(groupOf(apiVersion) + "/" + kind));
    }

    /** The resource for a group and plural name, if known. */
    public static Optional<Resource> forResource(String group, String plural) {
        return Optional.ofNullable(BY_GROUP_PLURAL.get(group + "/" + plural));
    }

    public static String groupOf(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? "" : apiVersion.substring(0, slash);
    }

    public static String versionOf(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? apiVersion : apiVersion.substring(slash + 1);
    }
}
