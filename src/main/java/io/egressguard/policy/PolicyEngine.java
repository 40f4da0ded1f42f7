package io.egressguard.policy;

import com.google.protobuf.NullValue;
import dev.cel.runtime.CelEvaluationException;
import io.egressguard.Settings;
import io.egressguard.cel.EvaluationFrames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Evaluates compiled policies against a request, as kube-apiserver evaluates a ValidatingAdmissionPolicy: match
 * constraints, then match conditions, then validations with lazily evaluated variables, then audit annotations.
 * Immutable and thread-safe; one engine serves both the webhook and the CLI.
 */
public final class PolicyEngine {

    /** Messages longer than this are cut, as Kubernetes drops messageExpression output over 5 KiB. */
    static final int MAX_MESSAGE = 5 * 1024;

    /**
     * A message that starts with a field path followed by ": " gives the decision its path. Paths look like
     * {@code spec.containers[0].securityContext.runAsUser} or {@code metadata.annotations["a/b"]}, several joined with
     * ", ".
     */
    private static final String PATH = "[A-Za-z_$][A-Za-z0-9_$-]*(?:\\." + "[A-Za-z_$][A-Za-z0-9_$-]*" + "|\\[[0-9]+\\]"
            + "|\\[\"(?:[^\"\\\\]|\\\\.)*\"\\])*";
    private static final Pattern PATH_PREFIX = Pattern.compile("^(" + PATH + "(?:, " + PATH + ")*): (.+)$",
            Pattern.DOTALL);

    private final List<Policy> policies;
    private final Settings settings;
    private final Map<String, Object> settingsValue;
    private final Map<String, List<Policy>> index = new ConcurrentHashMap<>();
    /** The last declared-hosts list seen and the {@code egressguard} value built with it. */
    private volatile HostsValue hostsValue;

    private record HostsValue(List<String> hosts, Map<String, Object> value) {
    }

    public PolicyEngine(List<Policy> policies, Settings settings) {
        List<Policy> sorted = new ArrayList<>(policies);
        sorted.sort(Comparator.comparing(Policy::id));
        this.policies = List.copyOf(sorted);
        this.settings = settings;
        this.settingsValue = settings.toCel();
    }

    /** Loads and compiles policies; every problem of every file is reported at once. */
    public static PolicyEngine load(boolean includeBuiltIn, List<java.nio.file.Path> userDirs, Settings settings)
            throws PolicyException {
        List<PolicySource> sources = PolicyLoader.load(includeBuiltIn, userDirs);
        PolicyCompiler compiler = PolicyCompiler.shared();
        List<Policy> compiled = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        // type-checking dominates startup: compile the files in parallel, then report in file order
        List<Object> results = sources.parallelStream().map(s -> {
            try {
                return (Object) compiler.compile(s);
            } catch (PolicyException e) {
                return e.getMessage();
            }
        }).toList();
        for (Object r : results) {
            if (r instanceof Policy p) {
                compiled.add(p);
            } else {
                errors.add((String) r);
            }
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(String.join("\n", errors));
        }
        return new PolicyEngine(compiled, settings);
    }

    /** The {@code egressguard} variable: the settings plus {@code externalHosts}, rebuilt only when the list changes. */
    Map<String, Object> egressguardValue(List<String> declaredHosts) {
        HostsValue current = hostsValue;
        if (current != null && current.hosts() == declaredHosts) {
            return current.value();
        }
        Map<String, Object> value = new LinkedHashMap<>(settingsValue);
        value.put("externalHosts", List.copyOf(declaredHosts));
        HostsValue fresh = new HostsValue(declaredHosts, java.util.Collections.unmodifiableMap(value));
        hostsValue = fresh;
        return fresh.value();
    }

    public List<Policy> policies() {
        return policies;
    }

    public Settings settings() {
        return settings;
    }

    /** The policies whose match constraints name this resource and operation (cached per key). */
    public List<Policy> candidates(String group, String version, String resource, String subResource,
            String operation) {
        String key = group + '|' + version + '|' + resource + '|' + subResource + '|' + operation;
        return index.computeIfAbsent(key, k -> {
            boolean namespaced = ResourceTable.forResource(group, resource)
                    .map(ResourceTable.Resource::namespaced).orElse(true);
            return policies.stream()
                    .filter(p -> p.matchesResource(group, version, resource, subResource, operation, namespaced))
                    .toList();
        });
    }

    /** Evaluates every policy that matches the request. */
    public Evaluation evaluate(AdmissionAttributes attrs) {
        return evaluate(attrs, p -> true, List.of());
    }

    /** Evaluates the policies that match the request and that {@code include} accepts. */
    public Evaluation evaluate(AdmissionAttributes attrs, java.util.function.Predicate<Policy> include) {
        return evaluate(attrs, include, List.of());
    }

    /**
     * Evaluates the policies that match the request and that {@code include} accepts.
     *
     * @param declaredHosts the external hosts declared by ExternalServices ({@code egressguard.externalHosts}); pass
     *     the same list instance while it does not change, so its CEL value is built once
     */
    public Evaluation evaluate(AdmissionAttributes attrs, java.util.function.Predicate<Policy> include,
            List<String> declaredHosts) {
        Map<String, Object> egressguard = egressguardValue(declaredHosts);
        List<Policy> candidates = candidates(attrs.group(), attrs.version(), attrs.resource(), attrs.subResource(),
                attrs.operation());
        List<Decision> decisions = new ArrayList<>();
        Map<String, String> audit = new TreeMap<>();
        if (candidates.isEmpty()) {
            return new Evaluation(List.of(), Map.of());
        }
        Map<String, Object> labels = attrs.labelsForSelector();
        Map<String, Object> nsLabels = attrs.namespaceObject() == null ? null
                : AdmissionAttributes.labelsOf(attrs.namespaceObject());
        EvaluationFrames frames = new EvaluationFrames();
        for (Policy p : candidates) {
            if (!include.test(p)) {
                continue;
            }
            if (!p.objectSelector().isEmpty() && !p.objectSelector().matches(labels)) {
                continue;
            }
            if (nsLabels != null && !p.namespaceSelector().isEmpty() && !p.namespaceSelector().matches(nsLabels)) {
                continue;
            }
            evaluate(p, attrs, egressguard, frames, decisions, audit);
        }
        return new Evaluation(List.copyOf(decisions), audit);
    }

    private void evaluate(Policy p, AdmissionAttributes attrs, Map<String, Object> egressguard,
            EvaluationFrames frames, List<Decision> out, Map<String, String> audit) {
        Activation activation = new Activation(attrs, egressguard, p, frames);
        int before = out.size();
        for (Policy.Expression condition : p.matchConditions()) {
            try {
                if (!Boolean.TRUE.equals(condition.program().eval(activation))) {
                    return;
                }
            } catch (CelEvaluationException | RuntimeException e) {
                error(p, "matchCondition " + condition.name(), e, out);
                return;
            }
        }
        Decision.Outcome violation = p.warnOnly() ? Decision.Outcome.WARN : Decision.Outcome.DENY;
        for (Policy.Validation v : p.validations()) {
            Object result;
            try {
                result = v.expression().program().eval(activation);
            } catch (CelEvaluationException | RuntimeException e) {
                error(p, "validation", e, out);
                continue;
            }
            if (Boolean.TRUE.equals(result)) {
                continue;
            }
            if (!(result instanceof Boolean)) {
                error(p, "validation", new IllegalStateException("expression returned " + describe(result)
                        + ", not a bool"), out);
                continue;
            }
            String text = message(v, activation);
            String path = v.fieldPath();
            Matcher m = PATH_PREFIX.matcher(text);
            if (m.matches()) {
                path = m.group(1);
                text = m.group(2);
            }
            out.add(new Decision(p.id(), violation, path, text, v.reason()));
        }
        for (Policy.Expression a : p.auditAnnotations()) {
            try {
                Object value = a.program().eval(activation);
                if (value instanceof String s && !s.isEmpty()) {
                    audit.put(p.id() + "/" + a.name(), s);
                }
            } catch (CelEvaluationException | RuntimeException e) {
                // an audit annotation that fails to evaluate is omitted, as Kubernetes does
            }
        }
        if (out.size() == before) {
            out.add(new Decision(p.id(), Decision.Outcome.ALLOW, "", "", ""));
        }
    }

    private static String message(Policy.Validation v, Activation activation) {
        if (v.messageExpression() != null) {
            try {
                Object m = v.messageExpression().program().eval(activation);
                if (m instanceof String s && !s.isBlank()) {
                    String single = s.strip().replace('\n', ' ');
                    return single.length() > MAX_MESSAGE ? single.substring(0, MAX_MESSAGE) + "..." : single;
                }
            } catch (CelEvaluationException | RuntimeException e) {
                // fall back to the static message, as Kubernetes does
            }
        }
        if (!v.message().isBlank()) {
            return v.message().strip();
        }
        return "failed expression: " + v.expression().text().strip();
    }

    private static void error(Policy p, String what, Throwable e, List<Decision> out) {
        if (p.failOpen()) {
            return;
        }
        String detail = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        Throwable cause = e.getCause();
        while (cause != null && cause != e) {
            if (cause instanceof VariableException ve) {
                detail = ve.getMessage();
            }
            cause = cause.getCause() == cause ? null : cause.getCause();
        }
        out.add(new Decision(p.id(), Decision.Outcome.ERROR, "", "evaluation error in " + what + ": "
                + detail.strip().replace('\n', ' ') + "; the request is refused because the policy's "
                + "failurePolicy is Fail", "InternalError"));
    }

    private static String describe(Object o) {
        return o == null || o == NullValue.NULL_VALUE ? "null" : o.getClass().getSimpleName();
    }

    /** A variable whose expression failed; surfaces the variable's name in the error. */
    static final class VariableException extends RuntimeException {
        VariableException(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /** The variables of one policy evaluation: object, oldObject, request, params, namespaceObject, ... */
    static final class Activation implements io.egressguard.cel.DirectResolver {
        private final AdmissionAttributes attrs;
        private final Map<String, Object> settings;
        private final LazyVariables variables;
        private final EvaluationFrames frames;

        Activation(AdmissionAttributes attrs, Map<String, Object> settings, Policy policy,
                EvaluationFrames frames) {
            this.attrs = attrs;
            this.settings = settings;
            this.variables = policy.variables().isEmpty() ? null : new LazyVariables(policy.variables(), this);
            this.frames = frames;
        }

        @Override
        public EvaluationFrames frames() {
            return frames;
        }

        @Override
        public Object value(String name) {
            if (name == io.egressguard.cel.IndexedVariables.NAME) {
                // the evaluator's names are interned: the most frequent one (once per variable) by identity
                return variables == null ? Map.of() : variables;
            }
            Object v = switch (name) {
                case "object" -> attrs.object();
                case "oldObject" -> attrs.oldObject();
                case "request" -> attrs.request();
                case "params" -> NullValue.NULL_VALUE;
                case "namespaceObject" -> attrs.namespaceObject();
                case "variables" -> variables == null ? Map.of() : variables;
                case "egressguard" -> settings;
                default -> null;
            };
            if (v == null && (name.equals("object") || name.equals("oldObject") || name.equals("namespaceObject")
                    || name.equals("request"))) {
                return NullValue.NULL_VALUE;
            }
            return v;
        }
    }

    /**
     * {@code variables}: each evaluated on first use and remembered for the rest of the policy's evaluation. The
     * layout is the policy's list of variables (the same instance for every evaluation), and a name's position is
     * found in it by a scan: the evaluator looks each name up once per layout, so nothing is built per evaluation.
     */
    static final class LazyVariables extends io.egressguard.cel.IndexedVariables {
        private final List<Policy.Expression> expressions;
        private final Object[] values;
        private final Activation activation;
        private static final Object EVALUATING = new Object();

        LazyVariables(List<Policy.Expression> expressions, Activation activation) {
            this.expressions = expressions;
            this.activation = activation;
            this.values = new Object[expressions.size()];
        }

        @Override
        public boolean containsKey(Object key) {
            return key instanceof String name && indexOf(name) >= 0;
        }

        @Override
        public Object get(Object key) {
            int i = key instanceof String name ? indexOf(name) : -1;
            return i < 0 ? null : valueAt(i);
        }

        @Override
        public Object layout() {
            return expressions;
        }

        /** The position of the last variable of that name (as a map of the variables by name keeps it), or -1. */
        @Override
        public int indexOf(String name) {
            for (int i = expressions.size() - 1; i >= 0; i--) {
                if (expressions.get(i).name().equals(name)) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public Object valueAt(int i) {
            Object v = values[i];
            if (v == EVALUATING) {
                throw new VariableException("variable " + expressions.get(i).name() + " refers to itself", null);
            }
            if (v != null) {
                if (v instanceof VariableException e) {
                    throw e;
                }
                return v;
            }
            values[i] = EVALUATING;
            try {
                Object result = expressions.get(i).program().eval(activation);
                values[i] = result == null ? NullValue.NULL_VALUE : result;
                return values[i];
            } catch (CelEvaluationException | RuntimeException e) {
                VariableException ve = new VariableException("variable " + expressions.get(i).name() + ": "
                        + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
                values[i] = ve;
                throw ve;
            }
        }

        @Override
        public Set<Entry<String, Object>> entrySet() {
            Map<String, Object> all = new LinkedHashMap<>();
            for (Policy.Expression e : expressions) {
                all.putIfAbsent(e.name(), null);
            }
            all.replaceAll((name, none) -> get(name));
            return all.entrySet();
        }
    }
}
