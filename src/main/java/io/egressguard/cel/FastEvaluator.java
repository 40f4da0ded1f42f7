package io.egressguard.cel;

import com.google.common.collect.ImmutableList;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelReference;
import dev.cel.common.internal.DefaultMessageFactory;
import dev.cel.common.internal.DynamicProto;
import dev.cel.common.types.CelKind;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelInternalRuntimeLibrary;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeBuilder;
import dev.cel.runtime.CelRuntimeLibrary;
import dev.cel.runtime.CelStandardFunctions;
import dev.cel.runtime.CelVariableResolver;
import dev.cel.runtime.ProtoMessageRuntimeEquality;
import dev.cel.runtime.RuntimeEquality;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns checked CEL ASTs into {@link FastProgram}s: trees of small evaluators that resolve, at compile time, what
 * cel-java's {@code DefaultInterpreter} looks up on every evaluation (the reference and type of each node, the
 * function bindings of each call, the slot of each comprehension variable).
 *
 * <p>Function calls run cel-java's own bindings, captured from the same standard functions and runtime libraries the
 * {@link dev.cel.bundle.Cel} environment is built with, so every function behaves exactly as in cel-java; only the
 * tree walk, variable resolution, logical operators, conditionals, field selection, optional selection and
 * comprehensions are evaluated here, following {@code DefaultInterpreter}, plus the common cases of a few functions
 * whose result is plain (equality and order of strings and ints, membership and sets of strings, sizes of lists and
 * maps, {@code string()} of strings and ints, {@code split}, {@code join}, indexing), computed as cel-java's bindings compute
 * them. The loops of the {@code map}, {@code filter}, {@code exists} and {@code all} macros build their list or
 * find their answer directly instead of through an accumulator. Whatever this evaluator does not cover
 * (type values, structs, {@code cel.bind} blocks, two-variable comprehensions, protobuf results) makes the whole
 * expression run on cel-java's program instead, and so does any error that escapes an expression: cel-java then
 * evaluates it again and produces the authoritative error (or value). Evaluation is side-effect free, so running an
 * expression a second time cannot change its result.
 */
public final class FastEvaluator {

    private final CelOptions options;
    private final Map<String, CelFunctionBinding> bindings;

    private FastEvaluator(CelOptions options, Map<String, CelFunctionBinding> bindings) {
        this.options = options;
        this.bindings = bindings;
    }

    /**
     * Captures the function bindings that cel-java's runtime builder would register for these standard functions and
     * runtime libraries, as {@code CelRuntimeLegacyImpl.Builder#build} does.
     */
    static FastEvaluator create(CelOptions options, CelStandardFunctions standardFunctions,
            List<CelRuntimeLibrary> libraries) {
        RuntimeEquality equality = ProtoMessageRuntimeEquality.create(
                DynamicProto.create(DefaultMessageFactory.INSTANCE), options);
        Map<String, CelFunctionBinding> table = new HashMap<>();
        for (CelFunctionBinding b : standardFunctions.newFunctionBindings(equality, options)) {
            table.putIfAbsent(b.getOverloadId(), b);
        }
        List<CelFunctionBinding> custom = new ArrayList<>();
        CelRuntimeBuilder recorder = recorder(custom);
        for (CelRuntimeLibrary library : libraries) {
            if (library instanceof CelInternalRuntimeLibrary internal) {
                internal.setRuntimeOptions(recorder, equality, options);
            } else {
                library.setRuntimeOptions(recorder);
            }
        }
        for (CelFunctionBinding b : custom) {
            table.putIfAbsent(b.getOverloadId(), b);
        }
        return new FastEvaluator(options, Collections.unmodifiableMap(table));
    }

    /** An evaluator that leaves every program to cel-java. */
    static FastEvaluator disabled() {
        return new FastEvaluator(null, null);
    }

    /** A runtime builder that only records the function bindings a library adds. */
    @SuppressWarnings("unchecked")
    private static CelRuntimeBuilder recorder(List<CelFunctionBinding> out) {
        return (CelRuntimeBuilder) Proxy.newProxyInstance(FastEvaluator.class.getClassLoader(),
                new Class<?>[] {CelRuntimeBuilder.class}, (proxy, method, args) -> {
                    if (method.getName().equals("addFunctionBindings") && args != null && args.length == 1) {
                        if (args[0] instanceof CelFunctionBinding[] array) {
                            Collections.addAll(out, array);
                        } else {
                            for (Object b : (Iterable<Object>) args[0]) {
                                out.add((CelFunctionBinding) b);
                            }
                        }
                        return proxy;
                    }
                    if (method.getDeclaringClass() == Object.class) {
                        return switch (method.getName()) {
                            case "hashCode" -> System.identityHashCode(proxy);
                            case "equals" -> proxy == args[0];
                            default -> "function binding recorder";
                        };
                    }
                    throw new UnsupportedOperationException("a runtime library called " + method.getName()
                            + ", which the fast evaluator does not support");
                });
    }

    /** The number of function overloads known to this evaluator. */
    int overloads() {
        return bindings == null ? 0 : bindings.size();
    }

    /**
     * A program for a checked AST: the fast tree when every node is supported, else {@code fallback} itself.
     *
     * @param fallback cel-java's program for the same AST
     */
    public CelRuntime.Program program(CelAbstractSyntaxTree ast, CelRuntime.Program fallback) {
        if (bindings == null) {
            return fallback;
        }
        try {
            Builder builder = new Builder(ast);
            FastProgram.Node root = builder.compile(ast.getExpr());
            return new FastProgram(root, builder.slots, options.comprehensionMaxIterations(), fallback);
        } catch (Unsupported e) {
            return fallback;
        }
    }

    /** Whether {@link #program} evaluates this AST itself (for tests and diagnostics). */
    public boolean supports(CelAbstractSyntaxTree ast) {
        if (bindings == null) {
            return false;
        }
        try {
            new Builder(ast).compile(ast.getExpr());
            return true;
        } catch (Unsupported e) {
            return false;
        }
    }

    /**
     * For tests that compare the two evaluators: the result of {@code program} without falling back to cel-java.
     *
     * @throws IllegalArgumentException if {@code program} is cel-java's own (the AST is not supported)
     * @throws Exception any error, or a {@link FastProgram.Failure} for an error the fast evaluator leaves to cel-java
     */
    public static Object evalStrictly(CelRuntime.Program program, CelVariableResolver resolver) throws Exception {
        if (!(program instanceof FastProgram fast)) {
            throw new IllegalArgumentException("not a fast program");
        }
        return fast.evalStrictly(resolver);
    }

    /** For tests: cel-java's program behind {@code program} (itself when it is cel-java's). */
    public static CelRuntime.Program reference(CelRuntime.Program program) {
        return program instanceof FastProgram fast ? fast.fallback() : program;
    }

    /** A construct the fast evaluator leaves to cel-java. */
    private static final class Unsupported extends Exception {
        Unsupported(String what) {
            super(what, null, false, false);
        }
    }

    /** Compiles one AST; tracks comprehension variables in scope and the slots they use. */
    private final class Builder {
        private final CelAbstractSyntaxTree ast;
        private final List<Map.Entry<String, Integer>> scope = new ArrayList<>();
        private final Map<String, Integer> globals = new HashMap<>();
        /** How many {@link FastProgram.Slot} nodes read each slot so far. */
        private final Map<Integer, Integer> slotReads = new HashMap<>();
        private int slots;

        Builder(CelAbstractSyntaxTree ast) {
            this.ast = ast;
        }

        FastProgram.Node compile(CelExpr e) throws Unsupported {
            switch (e.exprKind().getKind()) {
                case CONSTANT:
                    return new FastProgram.Const(constant(e.constant()));
                case IDENT:
                    return ident(e, e.ident().name());
                case SELECT:
                    return select(e);
                case CALL:
                    return call(e);
                case LIST:
                    return list(e);
                case MAP:
                    return map(e);
                case COMPREHENSION:
                    return comprehension(e);
                default:
                    throw new Unsupported(e.exprKind().getKind().name());
            }
        }

        private Object constant(CelConstant c) throws Unsupported {
            switch (c.getKind()) {
                case NULL_VALUE:
                    return options.evaluateCanonicalTypesToNativeValues() ? c.nullValue()
                            : com.google.protobuf.NullValue.NULL_VALUE;
                case BOOLEAN_VALUE:
                    return c.booleanValue();
                case INT64_VALUE:
                    return c.int64Value();
                case UINT64_VALUE:
                    return options.enableUnsignedLongs() ? c.uint64Value() : (Object) c.uint64Value().longValue();
                case DOUBLE_VALUE:
                    return c.doubleValue();
                case STRING_VALUE:
                    // interned, as the keys of objects read are: literal keys are found by identity
                    return c.stringValue().intern();
                default:
                    throw new Unsupported("constant " + c.getKind());
            }
        }

        private FastProgram.Node ident(CelExpr e, String fallbackName) throws Unsupported {
            Optional<CelReference> ref = ast.getReference(e.id());
            if (ref.isPresent() && ref.get().value().isPresent()) {
                return new FastProgram.Const(constant(ref.get().value().get()));
            }
            if (ast.getType(e.id()).map(t -> t.kind() == CelKind.TYPE).orElse(true)) {
                throw new Unsupported("type value");
            }
            String name = ref.map(CelReference::name).orElse(fallbackName);
            for (int i = scope.size() - 1; i >= 0; i--) {
                if (scope.get(i).getKey().equals(name)) {
                    slotReads.merge(scope.get(i).getValue(), 1, Integer::sum);
                    return new FastProgram.Slot(scope.get(i).getValue());
                }
            }
            Integer slot = globals.get(name);
            if (slot == null) {
                slot = slots++;
                globals.put(name, slot);
            }
            return new FastProgram.Global(name, slot);
        }

        private FastProgram.Node select(CelExpr e) throws Unsupported {
            if (ast.getReference(e.id()).isPresent()) {
                // a qualified name or an enum constant
                return ident(e, ast.getReference(e.id()).get().name());
            }
            FastProgram.Node operand = compile(e.select().operand());
            String field = e.select().field();
            if (e.select().testOnly()) {
                return new FastProgram.Has(operand, field);
            }
            FastProgram.Select select = new FastProgram.Select(operand, field);
            if (operand instanceof FastProgram.Global g && g.name.equals(IndexedVariables.NAME)) {
                return new FastProgram.VariableSelect(select);
            }
            return select;
        }

        private FastProgram.Node call(CelExpr e) throws Unsupported {
            CelReference ref = ast.getReference(e.id()).orElseThrow(() -> new Unsupported("call without reference"));
            ImmutableList<String> ids = ref.overloadIds();
            if (ids.isEmpty()) {
                throw new Unsupported("call without overloads");
            }
            List<CelExpr> argExprs = new ArrayList<>();
            e.call().target().ifPresent(argExprs::add);
            argExprs.addAll(e.call().args());
            switch (ids.get(0)) {
                case "identity":
                    return compile(e.call().args().get(0));
                case "conditional":
                    return new FastProgram.Conditional(compile(argExprs.get(0)), compile(argExprs.get(1)),
                            compile(argExprs.get(2)));
                case "logical_and":
                    return new FastProgram.Logical(compile(argExprs.get(0)), compile(argExprs.get(1)), Boolean.FALSE);
                case "logical_or":
                    return new FastProgram.Logical(compile(argExprs.get(0)), compile(argExprs.get(1)), Boolean.TRUE);
                case "optional_or_optional":
                    return new FastProgram.OptionalOr(compile(argExprs.get(0)), compile(argExprs.get(1)), false);
                case "optional_orValue_value": {
                    FastProgram.Node target = compile(argExprs.get(0));
                    FastProgram.Node alternative = compile(argExprs.get(1));
                    if (target instanceof FastProgram.OptionalSelect select) {
                        return new FastProgram.OptionalSelectOrValue(select, alternative);
                    }
                    return new FastProgram.OptionalOr(target, alternative, true);
                }
                case "select_optional_field": {
                    CelExpr fieldExpr = e.call().args().get(1);
                    if (e.call().target().isPresent()
                            || fieldExpr.exprKind().getKind() != CelExpr.ExprKind.Kind.CONSTANT) {
                        throw new Unsupported("optional select shape");
                    }
                    binding("select_optional_field"); // the optional library is there
                    return new FastProgram.OptionalSelect(compile(e.call().args().get(0)),
                            fieldExpr.constant().stringValue());
                }
                case "type":
                case "cel_block_list":
                    throw new Unsupported(ids.get(0));
                default:
                    break;
            }
            CelFunctionBinding[] candidates = new CelFunctionBinding[ids.size()];
            for (int i = 0; i < ids.size(); i++) {
                candidates[i] = binding(ids.get(i));
            }
            FastProgram.Node[] args = new FastProgram.Node[argExprs.size()];
            for (int i = 0; i < args.length; i++) {
                args[i] = compile(argExprs.get(i));
            }
            if (candidates.length == 1 && !candidates[0].isStrict()) {
                if (ids.get(0).equals("not_strictly_false") && args.length == 1) {
                    return new FastProgram.NotStrictlyFalse(args[0]);
                }
                throw new Unsupported("non-strict function " + ids.get(0));
            }
            for (CelFunctionBinding c : candidates) {
                if (!c.isStrict()) {
                    throw new Unsupported("non-strict overload " + c.getOverloadId());
                }
            }
            if (ids.size() == 1 && args.length == 1 && ids.get(0).equals("logical_not")) {
                return new FastProgram.Not(args[0]);
            }
            if (ids.size() == 1 && args.length == 2 && ids.get(0).equals("equals")) {
                return new FastProgram.Equals(args[0], args[1], candidates[0], false);
            }
            if (ids.size() == 1 && args.length == 2 && ids.get(0).equals("not_equals")) {
                return new FastProgram.Equals(args[0], args[1], candidates[0], true);
            }
            if (args.length == 1 && (ids.contains("size_list") || ids.contains("list_size")
                    || ids.contains("size_map") || ids.contains("map_size"))
                    && (e.call().function().equals("size"))) {
                return new FastProgram.Unary(FastProgram.Unary.Kind.SIZE, args[0],
                        new FastProgram.Call(candidates, args), ids);
            }
            if (args.length == 1 && ids.contains("string_to_string") && e.call().function().equals("string")) {
                return new FastProgram.Unary(FastProgram.Unary.Kind.STRING, args[0],
                        new FastProgram.Call(candidates, args), ids);
            }
            if (args.length == 2) {
                FastProgram.Compare.Kind kind = ids.contains("less_int64") ? FastProgram.Compare.Kind.LESS
                        : ids.contains("less_equals_int64") ? FastProgram.Compare.Kind.LESS_EQUALS
                        : ids.contains("greater_int64") ? FastProgram.Compare.Kind.GREATER
                        : ids.contains("greater_equals_int64") ? FastProgram.Compare.Kind.GREATER_EQUALS : null;
                if (kind != null) {
                    return new FastProgram.Compare(kind, args[0], args[1], new FastProgram.Call(candidates, args));
                }
            }
            if (ids.size() == 1 && (args.length == 1 && ids.get(0).equals("list_join")
                    || args.length == 2 && ids.get(0).equals("list_join_string"))) {
                return new FastProgram.Join(args[0], args.length == 2 ? args[1] : null,
                        new FastProgram.Call(candidates, args));
            }
            if (args.length == 2 && ids.size() == 1 && ids.get(0).equals("string_split_string")) {
                return new FastProgram.Split(args[0], args[1], new FastProgram.Call(candidates, args));
            }
            if (args.length == 2 && e.call().function().equals("_[_]")
                    && ids.stream().allMatch(id -> id.equals("index_map") || id.equals("index_list")
                        || id.equals("optional_map_index_value") || id.equals("optional_list_index_int"))) {
                return new FastProgram.Index(args[0], args[1], new FastProgram.Call(candidates, args));
            }
            if (args.length == 2 && ids.size() == 1) {
                FastProgram.SetFunction.Kind kind = switch (ids.get(0)) {
                    case "list_sets_contains_list" -> FastProgram.SetFunction.Kind.CONTAINS;
                    case "list_sets_equivalent_list" -> FastProgram.SetFunction.Kind.EQUIVALENT;
                    case "list_sets_intersects_list" -> FastProgram.SetFunction.Kind.INTERSECTS;
                    default -> null;
                };
                if (kind != null) {
                    return new FastProgram.SetFunction(kind, args[0], args[1], new FastProgram.Call(candidates, args));
                }
            }
            if (args.length == 2 && e.call().function().equals("@in")) {
                return new FastProgram.In(args[0], args[1], new FastProgram.Call(candidates, args));
            }
            return new FastProgram.Call(candidates, args);
        }

        private CelFunctionBinding binding(String overloadId) throws Unsupported {
            CelFunctionBinding b = bindings.get(overloadId);
            if (b == null) {
                throw new Unsupported("no binding for " + overloadId);
            }
            return b;
        }

        private FastProgram.Node list(CelExpr e) throws Unsupported {
            List<CelExpr> elements = e.list().elements();
            FastProgram.Node[] nodes = new FastProgram.Node[elements.size()];
            boolean[] optional = new boolean[nodes.length];
            for (int i = 0; i < nodes.length; i++) {
                nodes[i] = compile(elements.get(i));
            }
            boolean anyOptional = false;
            for (int index : e.list().optionalIndices()) {
                optional[index] = true;
                anyOptional = true;
            }
            return new FastProgram.ListLiteral(nodes, anyOptional ? optional : null);
        }

        private FastProgram.Node map(CelExpr e) throws Unsupported {
            var entries = e.map().entries();
            FastProgram.Node[] keys = new FastProgram.Node[entries.size()];
            FastProgram.Node[] values = new FastProgram.Node[entries.size()];
            boolean[] optional = new boolean[entries.size()];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = compile(entries.get(i).key());
                values[i] = compile(entries.get(i).value());
                optional[i] = entries.get(i).optionalEntry();
            }
            return new FastProgram.MapLiteral(keys, values, optional, options.errorOnDuplicateMapKeys());
        }

        private FastProgram.Node comprehension(CelExpr e) throws Unsupported {
            var c = e.comprehension();
            if (c.iterVar2() != null && !c.iterVar2().isEmpty()) {
                throw new Unsupported("two-variable comprehension");
            }
            boolean lazy = c.loopCondition().exprKind().getKind() == CelExpr.ExprKind.Kind.CONSTANT
                    && c.loopCondition().constant().getKind() == CelConstant.Kind.BOOLEAN_VALUE
                    && !c.loopCondition().constant().booleanValue();
            if (lazy) {
                throw new Unsupported("cel.bind");
            }
            FastProgram.Node range = compile(c.iterRange());
            FastProgram.Node init = compile(c.accuInit());
            int iterSlot = slots++;
            int accuSlot = slots++;
            scope.add(Map.entry(c.accuVar(), accuSlot));
            scope.add(Map.entry(c.iterVar(), iterSlot));
            FastProgram.Node condition = compile(c.loopCondition());
            int readsBefore = reads(accuSlot);
            FastProgram.Node step = compile(c.loopStep());
            int stepReads = reads(accuSlot) - readsBefore;
            scope.remove(scope.size() - 1);
            FastProgram.Node result = compile(c.result());
            scope.remove(scope.size() - 1);
            FastProgram.Node special = macro(range, iterSlot, accuSlot, init, condition, step, stepReads, result);
            if (special != null) {
                return special;
            }
            return new FastProgram.Comprehension(range, iterSlot, accuSlot, init, condition, step, result);
        }

        private int reads(int slot) {
            return slotReads.getOrDefault(slot, 0);
        }

        /**
         * The loop of a standard macro, when the comprehension has its shape and the accumulator is read nowhere
         * but where the macro reads it: {@code map} and {@code filter} (an empty list, a condition that is always
         * true, steps {@code accu + [e]} or {@code p ? accu + [e] : accu}), {@code exists} and {@code all} (false and
         * {@code !accu}, or true and {@code accu}, with steps {@code accu || p} and {@code accu && p}). Else null.
         */
        private FastProgram.Node macro(FastProgram.Node range, int iterSlot, int accuSlot, FastProgram.Node init,
                FastProgram.Node condition, FastProgram.Node step, int stepReads, FastProgram.Node result) {
            if (!(result instanceof FastProgram.Slot r && r.index == accuSlot)) {
                return null;
            }
            if (init instanceof FastProgram.ListLiteral empty && empty.elements.length == 0
                    && condition instanceof FastProgram.Const k && Boolean.TRUE.equals(k.value)) {
                if (stepReads == 1 && appended(step, accuSlot) != null) {
                    return new FastProgram.ListComprehension(range, iterSlot, null, appended(step, accuSlot));
                }
                if (stepReads == 2 && step instanceof FastProgram.Conditional cond
                        && appended(cond.then, accuSlot) != null
                        && cond.otherwise instanceof FastProgram.Slot s && s.index == accuSlot) {
                    return new FastProgram.ListComprehension(range, iterSlot, cond.condition,
                            appended(cond.then, accuSlot));
                }
                return null;
            }
            if (stepReads == 1 && init instanceof FastProgram.Const k && k.value instanceof Boolean initial
                    && step instanceof FastProgram.Logical logical && logical.dominant.equals(!initial)
                    && logical.left instanceof FastProgram.Slot s && s.index == accuSlot
                    && condition instanceof FastProgram.NotStrictlyFalse loop
                    && isSlot(initial ? loop.operand
                        : loop.operand instanceof FastProgram.Not not ? not.operand : null, accuSlot)) {
                return new FastProgram.Quantifier(range, iterSlot, logical.right, logical.dominant);
            }
            return null;
        }

        private static boolean isSlot(FastProgram.Node n, int slot) {
            return n instanceof FastProgram.Slot s && s.index == slot;
        }

        /** For a step {@code accu + [e]} (cel-java's list concatenation), {@code e}; else null. */
        private FastProgram.Node appended(FastProgram.Node step, int accuSlot) {
            if (step instanceof FastProgram.Call call && call.candidates.length == 1
                    && call.candidates[0].getOverloadId().equals("add_list") && call.args.length == 2
                    && call.args[0] instanceof FastProgram.Slot s && s.index == accuSlot
                    && call.args[1] instanceof FastProgram.ListLiteral one && one.elements.length == 1
                    && one.optional == null) {
                return one.elements[0];
            }
            return null;
        }
    }
}
