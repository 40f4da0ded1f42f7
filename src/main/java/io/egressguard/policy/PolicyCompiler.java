package io.egressguard.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelEvaluationException;
import io.egressguard.cel.FastEvaluator;
import io.egressguard.cel.KubernetesCel;
import io.egressguard.manifest.ManifestDocument;
import io.egressguard.manifest.ManifestException;
import io.egressguard.manifest.ManifestReader;
import io.egressguard.manifest.SourcePosition;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns {@code policy.yaml} files (Kubernetes {@code ValidatingAdmissionPolicy}, admissionregistration.k8s.io/v1)
 * into compiled {@link Policy} objects. The CEL environment is built once; every expression is type-checked and
 * planned here, never per request. Errors name file, line and column and show the line with a caret.
 */
public final class PolicyCompiler {

    /** Bound on comprehension iterations in one evaluation (cel-java's default is unlimited). */
    public static final int MAX_ITERATIONS = 100_000;

    static final String API_VERSION = "admissionregistration.k8s.io/v1";
    static final String KIND = "ValidatingAdmissionPolicy";
    private static final Set<String> TOP_FIELDS = Set.of("apiVersion", "kind", "metadata", "spec");
    private static final Set<String> SPEC_FIELDS = Set.of("failurePolicy", "paramKind", "matchConstraints",
            "validations", "auditAnnotations", "matchConditions", "variables");
    private static final Set<String> MATCH_FIELDS = Set.of("resourceRules", "excludeResourceRules",
            "namespaceSelector", "objectSelector", "matchPolicy");
    private static final Set<String> VALIDATION_FIELDS = Set.of("expression", "message", "messageExpression",
            "reason", "fieldPath");
    private static final Set<String> REASONS = Set.of("Unauthorized", "Forbidden", "Invalid",
            "RequestEntityTooLarge");
    private static final Pattern VARIABLE_REF = Pattern.compile("\\bvariables\\.([A-Za-z_][A-Za-z0-9_]*)");
    private static final Pattern ID = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

    /** Runs the compiled programs; built once, shared by every compiler. */
    private static final FastEvaluator FAST = KubernetesCel.fastEvaluator(MAX_ITERATIONS);

    private final Cel cel;
    private final dev.cel.validator.CelValidator validator;
    /** The build's checked ASTs of the built-in policies, read on first use; null until then. */
    private volatile PrecompiledExpressions precompiled;
    /** Told of every text parsed, checked and validated here (the build step records them); may be null. */
    private final BiConsumer<String, CelAbstractSyntaxTree> checked;

    public PolicyCompiler() {
        this(null, null);
    }

    /**
     * @param precompiled checked ASTs to use instead of compiling the same text; null for the packaged table
     * @param checked told of every text that had to be compiled, with its checked AST; may be null
     */
    PolicyCompiler(PrecompiledExpressions precompiled, BiConsumer<String, CelAbstractSyntaxTree> checked) {
        this.precompiled = precompiled;
        this.checked = checked;
        this.cel = KubernetesCel.newBuilder(MAX_ITERATIONS)
                .addVar("object", SimpleType.DYN)
                .addVar("oldObject", SimpleType.DYN)
                .addVar("request", SimpleType.DYN)
                .addVar("params", SimpleType.DYN)
                .addVar("namespaceObject", SimpleType.DYN)
                .addVar("variables", MapType.create(SimpleType.STRING, SimpleType.DYN))
                .addVar("egressguard", SimpleType.DYN)
                .build();
        this.validator = KubernetesCel.newValidator(cel);
    }

    /** The CEL environment of policy expressions. */
    Cel cel() {
        return cel;
    }

    /**
     * Parses, type-checks and validates one expression, or takes its checked AST from the build's table when the
     * same text was checked there in the same environment ({@link PrecompiledExpressions}): the result is the same.
     */
    CelAbstractSyntaxTree check(String text) throws CelValidationException {
        CelAbstractSyntaxTree ast = precompiled().find(text);
        if (ast != null) {
            return ast;
        }
        ast = cel.compile(text).getAst();
        validator.validate(ast).getAst();
        if (checked != null) {
            checked.accept(text, ast);
        }
        return ast;
    }

    private PrecompiledExpressions precompiled() {
        PrecompiledExpressions table = precompiled;
        if (table == null) {
            synchronized (this) {
                table = precompiled;
                if (table == null) {
                    table = PrecompiledExpressions.builtIn(cel);
                    precompiled = table;
                }
            }
        }
        return table;
    }

    /** Number of expressions the build's table holds for this environment (0 when it does not fit). */
    int precompiledCount() {
        return precompiled().size();
    }

    /** The compiler {@link PolicyEngine#load} uses: one per process, so that it finds what was compiled ahead. */
    static PolicyCompiler shared() {
        return Shared.INSTANCE;
    }

    private static final class Shared {
        static final PolicyCompiler INSTANCE = new PolicyCompiler();
    }

    /**
     * Compiles the built-in policies with the {@link #shared()} compiler, on the calling thread, ahead of need:
     * {@code serve} has it done on a second thread while the server boots, and {@link PolicyEngine#load} then takes
     * each result, or waits for the one in progress, instead of compiling the same source again. Any other source is
     * compiled as usual.
     *
     * @return the built-in policies that compiled (the others fail again, with their errors, where they are loaded)
     */
    public static List<Policy> compileBuiltInAhead() throws PolicyException {
        PolicyCompiler compiler = shared();
        List<FutureTask<Object>> tasks = new ArrayList<>();
        for (PolicySource source : PolicyLoader.builtIn()) {
            FutureTask<Object> task = new FutureTask<>(() -> compiler.compileOrError(source));
            FutureTask<Object> earlier = compiler.ahead.putIfAbsent(source, task);
            tasks.add(earlier == null ? task : earlier);
        }
        List<Policy> policies = new ArrayList<>();
        for (FutureTask<Object> task : tasks) {
            task.run(); // unless it has run or is running
            try {
                if (task.get() instanceof Policy p) {
                    policies.add(p);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException e) {
                // compiled again, with its error, where it is loaded
            }
        }
        return policies;
    }

    /** Compilations started ahead of need ({@link #compileBuiltInAhead}) by source: a Policy or a PolicyException. */
    private final Map<PolicySource, FutureTask<Object>> ahead = new ConcurrentHashMap<>();

    /** Compiles one policy file; all problems are collected and reported together. */
    public Policy compile(PolicySource source) throws PolicyException {
        FutureTask<Object> task = ahead.get(source);
        if (task == null) {
            return compileNow(source);
        }
        task.run(); // runs it here unless it has run or is running
        Object result;
        try {
            result = task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return compileNow(source);
        } catch (ExecutionException e) {
            return compileNow(source);
        }
        if (result instanceof PolicyException e) {
            throw new PolicyException(e.getMessage());
        }
        return (Policy) result;
    }

    private Object compileOrError(PolicySource source) {
        try {
            return compileNow(source);
        } catch (PolicyException e) {
            return e;
        }
    }

    private Policy compileNow(PolicySource source) throws PolicyException {
        List<ManifestDocument> docs;
        try {
            docs = ManifestReader.parse(source.text(), source.origin(), true);
        } catch (ManifestException e) {
            throw new PolicyException(e.getMessage());
        }
        if (docs.size() != 1) {
            throw new PolicyException(source.origin() + ": expected exactly one ValidatingAdmissionPolicy, found "
                    + docs.size() + " documents");
        }
        Context ctx = new Context(source, docs.get(0));
        Policy policy = ctx.build();
        if (!ctx.errors.isEmpty()) {
            throw new PolicyException(String.join("\n", ctx.errors));
        }
        return policy;
    }

    /** Compiles a standalone expression against the policy environment (used by tests and tools). */
    public Policy.Expression compileExpression(String name, String text) throws PolicyException {
        try {
            CelAbstractSyntaxTree ast = check(text);
            return new Policy.Expression(name, text, FAST.program(ast, cel.createProgram(ast)));
        } catch (CelValidationException e) {
            throw new PolicyException(e.getMessage());
        } catch (CelEvaluationException e) {
            throw new PolicyException(e.getMessage());
        }
    }

    /** State of one compilation: the parsed document, the errors so far, the variables declared so far. */
    private final class Context {
        final PolicySource source;
        final ManifestDocument doc;
        final String[] lines;
        final List<String> errors = new ArrayList<>();
        final Set<String> declaredVariables = new HashSet<>();

        Context(PolicySource source, ManifestDocument doc) {
            this.source = source;
            this.doc = doc;
            this.lines = source.text().split("\n", -1);
        }

        Policy build() {
            JsonNode root = doc.tree();
            if (!root.isObject()) {
                error("", "a policy must be a YAML mapping");
                return null;
            }
            unknownFields(root, "", TOP_FIELDS);
            if (!API_VERSION.equals(root.path("apiVersion").asText())
                    || !KIND.equals(root.path("kind").asText())) {
                error("/kind", "expected apiVersion " + API_VERSION + " and kind " + KIND + ", found "
                        + root.path("apiVersion").asText() + " " + root.path("kind").asText());
            }
            String id = root.path("metadata").path("name").asText();
            if (!ID.matcher(id).matches()) {
                error("/metadata/name", "metadata.name \"" + id + "\" is not a kebab-case policy id");
            } else if (!source.folder().isEmpty() && !source.folder().equals(id)) {
                error("/metadata/name", "metadata.name \"" + id + "\" must equal its folder name \""
                        + source.folder() + "\"");
            }
            Map<String, String> annotations = new TreeMap<>();
            root.path("metadata").path("annotations").fields()
                    .forEachRemaining(e -> annotations.put(e.getKey(), e.getValue().asText()));
            JsonNode spec = root.path("spec");
            unknownFields(spec, "/spec", SPEC_FIELDS);
            if (spec.has("paramKind")) {
                error("/spec/paramKind", "paramKind is not supported: Egress Guard has no parameter resources; "
                        + "read settings from the egressguard variable");
            }
            String failurePolicy = spec.path("failurePolicy").asText("Fail");
            if (!failurePolicy.equals("Fail") && !failurePolicy.equals("Ignore")) {
                error("/spec/failurePolicy", "failurePolicy must be Fail or Ignore, found \"" + failurePolicy
                        + "\"");
            }
            String action = annotations.getOrDefault("egressguard.io/action", "Deny");
            if (!action.equals("Deny") && !action.equals("Warn")) {
                error("/metadata/annotations/egressguard.io~1action",
                        "egressguard.io/action must be Deny or Warn, found \"" + action + "\"");
            }

            JsonNode match = spec.path("matchConstraints");
            unknownFields(match, "/spec/matchConstraints", MATCH_FIELDS);
            List<ResourceRule> rules = rules(match.path("resourceRules"), "/spec/matchConstraints/resourceRules");
            if (rules.isEmpty()) {
                error("/spec/matchConstraints", "matchConstraints.resourceRules must name at least one resource");
            }
            List<ResourceRule> excludes = rules(match.path("excludeResourceRules"),
                    "/spec/matchConstraints/excludeResourceRules");
            LabelSelector nsSel = selector(match.get("namespaceSelector"), "/spec/matchConstraints/namespaceSelector");
            LabelSelector objSel = selector(match.get("objectSelector"), "/spec/matchConstraints/objectSelector");

            List<Policy.Expression> conditions = new ArrayList<>();
            int i = 0;
            for (JsonNode c : spec.path("matchConditions")) {
                String at = "/spec/matchConditions/" + i++;
                unknownFields(c, at, Set.of("name", "expression"));
                Policy.Expression e = expression(c.path("name").asText(), c, at, "expression", true);
                if (e != null) {
                    conditions.add(e);
                }
            }
            List<Policy.Expression> variables = new ArrayList<>();
            i = 0;
            for (JsonNode v : spec.path("variables")) {
                String at = "/spec/variables/" + i++;
                unknownFields(v, at, Set.of("name", "expression"));
                String name = v.path("name").asText();
                if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    error(at + "/name", "variable name \"" + name + "\" is not a CEL identifier");
                }
                Policy.Expression e = expression(name, v, at, "expression", null);
                declaredVariables.add(name);
                if (e != null) {
                    variables.add(e);
                }
            }
            List<Policy.Validation> validations = new ArrayList<>();
            i = 0;
            for (JsonNode v : spec.path("validations")) {
                String at = "/spec/validations/" + i++;
                unknownFields(v, at, VALIDATION_FIELDS);
                Policy.Expression e = expression("validation", v, at, "expression", true);
                Policy.Expression msg = v.has("messageExpression")
                        ? expression("messageExpression", v, at, "messageExpression", false) : null;
                String reason = v.path("reason").asText("Forbidden");
                if (!REASONS.contains(reason)) {
                    error(at + "/reason", "reason must be one of " + new java.util.TreeSet<>(REASONS)
                            + ", found \"" + reason + "\"");
                }
                if (e != null) {
                    validations.add(new Policy.Validation(e, v.path("message").asText(""), msg, reason,
                            v.path("fieldPath").asText("")));
                }
            }
            List<Policy.Expression> audits = new ArrayList<>();
            i = 0;
            for (JsonNode a : spec.path("auditAnnotations")) {
                String at = "/spec/auditAnnotations/" + i++;
                unknownFields(a, at, Set.of("key", "valueExpression"));
                Policy.Expression e = expression(a.path("key").asText(), a, at, "valueExpression", null);
                if (e != null) {
                    audits.add(e);
                }
            }
            if (validations.isEmpty() && audits.isEmpty() && errors.isEmpty()) {
                error("/spec", "a policy needs at least one validation or auditAnnotation");
            }
            return new Policy(id, source.origin(), Map.copyOf(annotations), failurePolicy.equals("Ignore"),
                    action.equals("Warn"), rules, excludes, nsSel, objSel, List.copyOf(conditions),
                    List.copyOf(variables), List.copyOf(validations), List.copyOf(audits));
        }

        List<ResourceRule> rules(JsonNode array, String at) {
            List<ResourceRule> out = new ArrayList<>();
            int i = 0;
            for (JsonNode r : array) {
                String where = at + "/" + i++;
                unknownFields(r, where, Set.of("apiGroups", "apiVersions", "resources", "operations", "scope",
                        "resourceNames"));
                try {
                    out.add(ResourceRule.parse(r, location(where)));
                } catch (PolicyException e) {
                    errors.add(e.getMessage());
                }
            }
            return List.copyOf(out);
        }

        LabelSelector selector(JsonNode node, String at) {
            try {
                return LabelSelector.parse(node, location(at));
            } catch (PolicyException e) {
                errors.add(e.getMessage());
                return LabelSelector.EVERYTHING;
            }
        }

        /**
         * Compiles {@code node[field]}.
         *
         * @param wantBool TRUE: must be bool; FALSE: must be string; null: any type
         */
        Policy.Expression expression(String name, JsonNode node, String at, String field, Boolean wantBool) {
            JsonNode textNode = node.get(field);
            String pointer = at + "/" + field;
            if (textNode == null || !textNode.isTextual() || textNode.textValue().isBlank()) {
                error(pointer, field + " is required");
                return null;
            }
            String text = textNode.textValue();
            Matcher m = VARIABLE_REF.matcher(text);
            while (m.find()) {
                if (!declaredVariables.contains(m.group(1))) {
                    errorAt(pointer, text, m.start(1), "undeclared variable \"" + m.group(1)
                            + "\" (variables are declared in spec.variables, before their use)");
                    return null;
                }
            }
            try {
                CelAbstractSyntaxTree ast = check(text);
                CelType type = ast.getResultType();
                if (wantBool != null && type.kind() != CelKind.DYN) {
                    CelType want = wantBool ? SimpleType.BOOL : SimpleType.STRING;
                    if (!type.equals(want)) {
                        errorAt(pointer, text, 0, field + " must evaluate to " + want.name() + ", not "
                                + type.name());
                        return null;
                    }
                }
                return new Policy.Expression(name, text, FAST.program(ast, cel.createProgram(ast)));
            } catch (CelValidationException e) {
                for (CelIssue issue : e.getErrors()) {
                    errorAt(pointer, text, offsetOf(text, issue.getSourceLocation().getLine(),
                            issue.getSourceLocation().getColumn()), issue.getMessage());
                }
                if (e.getErrors().isEmpty()) {
                    error(pointer, e.getMessage());
                }
                return null;
            } catch (CelEvaluationException e) {
                error(pointer, e.getMessage());
                return null;
            }
        }

        void unknownFields(JsonNode node, String at, Set<String> known) {
            if (!node.isObject()) {
                return;
            }
            node.fieldNames().forEachRemaining(f -> {
                if (!known.contains(f)) {
                    error(at + "/" + f.replace("~", "~0").replace("/", "~1"), "unknown field \"" + f + "\"");
                }
            });
        }

        void error(String pointer, String message) {
            errors.add(location(pointer) + ": " + message);
        }

        /** file:line for a JSON pointer: the scalar itself, or the closest scalar inside it. */
        String location(String pointer) {
            SourcePosition pos = doc.positions().get(pointer);
            if (pos == null) {
                for (Map.Entry<String, SourcePosition> e : new TreeMap<>(doc.positions()).entrySet()) {
                    if (e.getKey().startsWith(pointer)) {
                        pos = e.getValue();
                        break;
                    }
                }
            }
            if (pos == null) {
                return source.origin();
            }
            return source.origin() + ":" + pos.line();
        }

        /** An error inside an expression, with the file line and a caret under the column. */
        void errorAt(String pointer, String text, int offset, String message) {
            SourcePosition pos = doc.positions().get(pointer);
            if (pos == null) {
                error(pointer, message);
                return;
            }
            int[] lc = fileLineColumn(pos, text, offset);
            int line = lc[0];
            int col = lc[1];
            String fileLine = line - 1 < lines.length ? lines[line - 1].replace("\t", " ") : "";
            errors.add(source.origin() + ":" + line + ":" + (col + 1) + ": " + message + "\n | " + fileLine
                    + "\n | " + " ".repeat(Math.max(0, Math.min(col, fileLine.length()))) + "^");
        }

        /** Maps an offset in the scalar's text to a 1-based file line and 0-based column. */
        int[] fileLineColumn(SourcePosition pos, String text, int offset) {
            int firstLine;
            int firstColumn;
            if (pos.isBlock()) {
                firstLine = pos.line() + 1;
                firstColumn = -1;
            } else {
                firstLine = pos.line();
                firstColumn = pos.column() + (pos.isQuoted() ? 1 : 0);
            }
            boolean literal = pos.style() == org.yaml.snakeyaml.DumperOptions.ScalarStyle.LITERAL;
            if (literal) {
                int line = 0;
                int lineStart = 0;
                for (int i = 0; i < offset && i < text.length(); i++) {
                    if (text.charAt(i) == '\n') {
                        line++;
                        lineStart = i + 1;
                    }
                }
                int fileLine = firstLine + line;
                return new int[] {fileLine, indentOf(fileLine) + (offset - lineStart)};
            }
            // plain, quoted or folded: lines of the file were joined with single spaces
            int remaining = offset;
            int fileLine = firstLine;
            while (fileLine - 1 < lines.length) {
                String raw = lines[fileLine - 1];
                int start = firstColumn >= 0 && fileLine == firstLine ? firstColumn : indentOf(fileLine);
                int length = Math.max(0, raw.stripTrailing().length() - start);
                if (remaining <= length || fileLine == lines.length) {
                    return new int[] {fileLine, start + remaining};
                }
                remaining -= length + 1;
                fileLine++;
            }
            return new int[] {firstLine, Math.max(0, firstColumn)};
        }

        int indentOf(int fileLine) {
            if (fileLine - 1 >= lines.length) {
                return 0;
            }
            String raw = lines[fileLine - 1];
            int n = 0;
            while (n < raw.length() && raw.charAt(n) == ' ') {
                n++;
            }
            return n;
        }
    }

    /** Offset in {@code text} of a CEL source location (1-based line, 0-based column). */
    static int offsetOf(String text, int line, int column) {
        int offset = 0;
        for (int l = 1; l < line; l++) {
            int nl = text.indexOf('\n', offset);
            if (nl < 0) {
                break;
            }
            offset = nl + 1;
        }
        return Math.min(text.length(), offset + Math.max(0, column));
    }

    /** The annotations a policy must carry to be shown to users. */
    public static final List<String> REQUIRED_ANNOTATIONS = List.of("egressguard.io/title",
            "egressguard.io/category", "egressguard.io/severity", "egressguard.io/description",
            "egressguard.io/remediation");

}
