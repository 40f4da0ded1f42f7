package io.egressguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.egressguard.cel.CelJson;
import io.egressguard.policy.AdmissionAttributes;
import io.egressguard.policy.Evaluation;
import io.egressguard.policy.Policy;
import io.egressguard.policy.PolicyEngine;
import io.egressguard.policy.ResourceRule;
import io.egressguard.policy.ResourceTable;
import io.egressguard.Settings;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ListOptions;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Finds existing objects in enforced namespaces that the policies refuse: the webhook only sees new objects. Lists
 * every kind a policy judges, page by page, and evaluates each object as if it were created now, with the same engine
 * and messages as the webhook.
 */
public final class ClusterAudit {

    /** One object that was looked at. */
    public record Finding(String apiVersion, String kind, String namespace, String name, Evaluation evaluation) {
    }

    /** What the audit saw: findings per object, the kinds it could not list, and how many objects it read. */
    public record Report(List<Finding> findings, List<String> skipped, int objects, int namespaces) {
    }

    private final KubernetesClient client;
    private final PolicyEngine engine;
    private final long pageSize;

    public ClusterAudit(KubernetesClient client, PolicyEngine engine, long pageSize) {
        this.client = client;
        this.engine = engine;
        this.pageSize = pageSize;
    }

    /** The resources the policies name, with the version to list them in. */
    static List<ResourceDefinitionContext> auditedResources(PolicyEngine engine) {
        Map<String, ResourceDefinitionContext> out = new TreeMap<>();
        for (Policy p : engine.policies()) {
            for (ResourceRule r : p.resourceRules()) {
                if (!(r.operations().contains("CREATE") || r.operations().contains("*"))) {
                    continue;
                }
                for (String group : r.apiGroups()) {
                    for (String resource : r.resources()) {
                        if (resource.contains("/") || resource.equals("*")) {
                            continue;
                        }
                        ResourceTable.forResource(group, resource).filter(ResourceTable.Resource::namespaced)
                                .ifPresent(res -> out.putIfAbsent(group + "/" + resource,
                                        new ResourceDefinitionContext.Builder().withGroup(group)
                                                .withVersion(version(r)).withPlural(resource).withKind(res.kind())
                                                .withNamespaced(true).build()));
                    }
                }
            }
        }
        return List.copyOf(out.values());
    }

    private static String version(ResourceRule r) {
        if (r.apiVersions().isEmpty() || r.apiVersions().contains("*") || r.apiVersions().contains("v1")) {
            return "v1";
        }
        return r.apiVersions().iterator().next();
    }

    /** Audits every namespace labelled {@code egressguard.io/mode}, except the platform namespaces. */
    public Report run() {
        Settings settings = engine.settings();
        List<Namespace> namespaces = new ArrayList<>();
        for (Namespace ns : client.namespaces().withLabel(Settings.MODE_LABEL).list().getItems()) {
            if (!settings.platformNamespaces().contains(ns.getMetadata().getName())) {
                namespaces.add(ns);
            }
        }
        namespaces.sort((a, b) -> a.getMetadata().getName().compareTo(b.getMetadata().getName()));
        List<Finding> findings = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        int objects = 0;
        List<ResourceDefinitionContext> resources = auditedResources(engine);
        for (Namespace ns : namespaces) {
            String name = ns.getMetadata().getName();
            Object namespaceObject = CelJson.toCel(Serialization.jsonMapper().valueToTree(ns));
            for (ResourceDefinitionContext rd : resources) {
                String apiVersion = rd.getGroup().isEmpty() ? rd.getVersion() : rd.getGroup() + "/" + rd.getVersion();
                String continueToken = null;
                try {
                    do {
                        ListOptions options = new ListOptionsBuilder().withLimit(pageSize)
                                .withContinue(continueToken).build();
                        GenericKubernetesResourceList page = client.genericKubernetesResources(rd).inNamespace(name)
                                .list(options);
                        for (GenericKubernetesResource item : page.getItems()) {
                            objects++;
                            ObjectNode tree = Serialization.jsonMapper().valueToTree(item);
                            // list items carry no apiVersion and kind; policies read object.kind
                            tree.put("apiVersion", apiVersion);
                            tree.put("kind", rd.getKind());
                            Evaluation eval = evaluate(tree, name, namespaceObject);
                            if (!eval.violations().isEmpty()) {
                                findings.add(new Finding(apiVersion, rd.getKind(), name,
                                        tree.path("metadata").path("name").asText(), eval));
                            }
                        }
                        continueToken = page.getMetadata() == null ? null : page.getMetadata().getContinue();
                    } while (continueToken != null && !continueToken.isEmpty());
                } catch (KubernetesClientException e) {
                    if (e.getCode() == 404) {
                        String s = apiVersion + " " + rd.getPlural() + " (not served by this cluster)";
                        if (!skipped.contains(s)) {
                            skipped.add(s);
                        }
                        continue;
                    }
                    throw e;
                }
            }
        }
        return new Report(findings, skipped, objects, namespaces.size());
    }

    private Evaluation evaluate(JsonNode tree, String namespace, Object namespaceObject) {
        AdmissionAttributes base = AdmissionAttributes.ofManifest(tree, namespace, "egress-guard-audit")
                .orElseThrow();
        AdmissionAttributes attrs = new AdmissionAttributes(base.operation(), base.group(), base.version(),
                base.resource(), base.subResource(), base.namespace(), base.object(), null, base.request(),
                namespaceObject);
        return engine.evaluate(attrs);
    }

    /** Findings grouped by namespace, for text output. */
    static Map<String, List<Finding>> byNamespace(List<Finding> findings) {
        Map<String, List<Finding>> out = new LinkedHashMap<>();
        findings.forEach(f -> out.computeIfAbsent(f.namespace(), k -> new ArrayList<>()).add(f));
        return out;
    }
}
