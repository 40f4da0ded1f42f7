package io.egressguard.cel;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import dev.cel.common.values.NullValue;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelEvaluationListener;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelFunctionOverload;
import dev.cel.runtime.CelFunctionResolver;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelVariableResolver;
import dev.cel.runtime.ConcatenatedListView;
import dev.cel.runtime.PartialVars;
import dev.cel.runtime.UnknownContext;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.RandomAccess;

/**
 * A CEL program built by {@link FastEvaluator}: evaluates with a {@link CelVariableResolver} (or a map of variables)
 * by walking a tree of nodes, and hands everything else, and every expression whose evaluation ends in an error, to
 * cel-java's program for the same AST. Immutable and thread-safe.
 */
final class FastProgram implements CelRuntime.Program {

    private final Node root;
    private final int slots;
    private final int maxIterations;
    private final CelRuntime.Program fallback;

    FastProgram(Node root, int slots, int maxIterations, CelRuntime.Program fallback) {
        this.root = root;
        this.slots = slots;
        this.maxIterations = maxIterations;
        this.fallback = fallback;
    }

    @Override
    public Object eval(CelVariableResolver resolver) throws CelEvaluationException {
        EvaluationFrames frames = frames(resolver);
        Frame f = frame(frames, resolver);
        try {
            return root.eval(f);
        } catch (Exception e) {
            // cel-java decides what the error is (or, should the two ever disagree, what the value is)
            return fallback.eval(resolver);
        } finally {
            if (frames != null) {
                frames.release(f);
            }
        }
    }

    /** The resolver's reusable frames, or null. */
    private static EvaluationFrames frames(CelVariableResolver resolver) {
        return resolver instanceof DirectResolver direct ? direct.frames() : null;
    }

    /** A frame for one evaluation: taken from {@code frames} (to be released) or, without them, a new one. */
    private Frame frame(EvaluationFrames frames, CelVariableResolver resolver) {
        return frames == null ? new Frame(resolver, slots, maxIterations)
                : frames.acquire(resolver, slots, maxIterations);
    }

    /** The tree's root (for tests). */
    Node root() {
        return root;
    }

    CelRuntime.Program fallback() {
        return fallback;
    }

    /**
     * Evaluates without falling back: an error, or a construct left to cel-java, throws {@link Failure}. For tests
     * that compare this evaluator with cel-java's.
     */
    Object evalStrictly(CelVariableResolver resolver) throws Exception {
        EvaluationFrames frames = frames(resolver);
        Frame f = frame(frames, resolver);
        try {
            return root.eval(f);
        } finally {
            if (frames != null) {
                frames.release(f);
            }
        }
    }

    @Override
    public Object eval(Map<String, ?> mapValue) throws CelEvaluationException {
        return eval(name -> Optional.ofNullable(mapValue.get(name)));
    }

    @Override
    public Object eval() throws CelEvaluationException {
        return eval(Map.of());
    }

    @Override
    public Object eval(Map<String, ?> mapValue, CelFunctionResolver lateBoundFunctionResolver)
            throws CelEvaluationException {
        return fallback.eval(mapValue, lateBoundFunctionResolver);
    }

    @Override
    public Object eval(CelVariableResolver resolver, CelFunctionResolver lateBoundFunctionResolver)
            throws CelEvaluationException {
        return fallback.eval(resolver, lateBoundFunctionResolver);
    }

    @Override
    public Object eval(PartialVars partialVars) throws CelEvaluationException {
        return fallback.eval(partialVars);
    }

    @Override
    public Object eval(Message message) throws CelEvaluationException {
        return fallback.eval(message);
    }

    @Override
    public Object trace(CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(listener);
    }

    @Override
    public Object trace(Map<String, ?> mapValue, CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(mapValue, listener);
    }

    @Override
    public Object trace(Message message, CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(message, listener);
    }

    @Override
    public Object trace(CelVariableResolver resolver, CelEvaluationListener listener)
            throws CelEvaluationException {
        return fallback.trace(resolver, listener);
    }

    @Override
    public Object trace(CelVariableResolver resolver, CelFunctionResolver lateBoundFunctionResolver,
            CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(resolver, lateBoundFunctionResolver, listener);
    }

    @Override
    public Object trace(Map<String, ?> mapValue, CelFunctionResolver lateBoundFunctionResolver,
            CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(mapValue, lateBoundFunctionResolver, listener);
    }

    @Override
    public Object trace(PartialVars partialVars, CelEvaluationListener listener) throws CelEvaluationException {
        return fallback.trace(partialVars, listener);
    }

    @Override
    public Object advanceEvaluation(UnknownContext context) throws CelEvaluationException {
        return fallback.advanceEvaluation(context);
    }

    /** An error inside an expression. It carries nothing: an error that escapes is re-evaluated by cel-java. */
    static final class Failure extends RuntimeException {
        static final Failure INSTANCE = new Failure();

        private Failure() {
            super("evaluation error", null, false, false);
        }
    }

    /** The value of a comprehension accumulator whose step failed; reading it fails. */
    private static final Object ERROR = new Object();

    /**
     * The state of one evaluation: variables, comprehension slots and the iteration budget. Made for one evaluation,
     * or taken from {@link EvaluationFrames} and reset for each.
     */
    static final class Frame {
        CelVariableResolver resolver;
        Object[] slots;
        int maxIterations;
        int iterations;

        Frame(CelVariableResolver resolver, int slots, int maxIterations) {
            this.resolver = resolver;
            this.slots = slots == 0 ? null : new Object[slots];
            this.maxIterations = maxIterations;
        }

        /** Makes this frame as new for an evaluation of a program with {@code slots} slots. */
        void reset(CelVariableResolver resolver, int slots, int maxIterations) {
            this.resolver = resolver;
            this.maxIterations = maxIterations;
            this.iterations = 0;
            Object[] s = this.slots;
            if (slots > 0) {
                if (s == null || s.length < slots) {
                    this.slots = new Object[Math.max(slots, 8)];
                } else {
                    java.util.Arrays.fill(s, 0, slots, null);
                }
            }
        }
    }

    /**
     * Whether a value is of one of the classes JSON values and most results have (objects as read, strings, bools,
     * ints, doubles, lists, maps, optionals): tested by class, since testing a class against an interface it does not
     * implement scans all the interfaces it does, on every test. Values of other classes are tested as they are used.
     */
    static boolean common(Object v) {
        return v instanceof ArrayMap || v instanceof String || v instanceof Boolean || v instanceof Long
                || v instanceof ArrayList<?> || v instanceof java.util.HashMap<?, ?> || v instanceof Optional<?>
                || v instanceof Double;
    }

    /**
     * {@code map.get(field)} for a field name of the tree (interned): an object as read ({@link ArrayMap}, the
     * common case) by identity and without an interface call.
     */
    static Object get(Map<?, ?> map, String field) {
        return map instanceof ArrayMap objectAsRead ? objectAsRead.getInterned(field) : map.get(field);
    }

    /** Whether a node is a string literal (whose string the tree interns, see {@link FastEvaluator}). */
    static boolean interned(Node n) {
        return n instanceof Const k && k.value instanceof String s && s == s.intern();
    }

    /** Whether a value is one the fast evaluator leaves to cel-java: an error, a protobuf message or bytes. */
    static boolean foreign(Object v) {
        return v instanceof Throwable || v instanceof Message || v instanceof ByteString;
    }

    /** A node of the tree (an abstract class rather than an interface: the calls are virtual, not interface ones). */
    abstract static class Node {
        abstract Object eval(Frame f) throws Exception;
    }

    static Object bool(Node n, Frame f) throws Exception {
        Object v = n.eval(f);
        if (!(v instanceof Boolean)) {
            throw Failure.INSTANCE;
        }
        return v;
    }

    /** A literal (or an enum constant). */
    static final class Const extends Node {
        final Object value;

        Const(Object value) {
            this.value = value;
        }

        @Override
        public Object eval(Frame f) {
            return value;
        }
    }

    /** A variable of the activation. */
    static final class Global extends Node {
        final String name;
        /** The frame slot that keeps the value once resolved: one lookup per evaluation and name. */
        final int slot;
        /** The class of the last value found not to be foreign (racy but harmless: a class or null). */
        private Class<?> checked;

        Global(String name, int slot) {
            this.name = name.intern();
            this.slot = slot;
        }

        @Override
        public Object eval(Frame f) {
            Object value = f.slots[slot];
            return value != null ? value : resolve(f);
        }

        /** The first reference in the evaluation: asks the resolver (a small fast path above to inline). */
        private Object resolve(Frame f) {
            Object value;
            if (f.resolver instanceof DirectResolver direct) {
                value = direct.value(name);
                if (value == null) {
                    throw Failure.INSTANCE;
                }
            } else {
                Optional<Object> v = f.resolver.find(name);
                if (v.isEmpty()) {
                    throw Failure.INSTANCE;
                }
                value = v.get();
            }
            Class<?> type = value.getClass();
            if (type != checked) {
                if (!common(value) && !(value instanceof IndexedVariables) && foreign(value)) {
                    throw Failure.INSTANCE;
                }
                checked = type;
            }
            f.slots[slot] = value;
            return value;
        }
    }

    /**
     * {@code variables.name}, the variables of a Kubernetes policy: when the map is an {@link IndexedVariables}, by
     * position, found once per layout; otherwise as any selection.
     */
    static final class VariableSelect extends Node {
        final Select plain;
        /** The operand, {@code variables}: called as its own class, not through a virtual call. */
        final Global variables;
        /** The position of the field in the last layout seen (racy but immutable). */
        private Position last;

        private record Position(Object layout, int index) {
        }

        VariableSelect(Select plain) {
            this.plain = plain;
            this.variables = (Global) plain.operand;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object o = this.variables.eval(f);
            if (o instanceof IndexedVariables variables) {
                Object layout = variables.layout();
                Position p = last;
                if (p == null || p.layout != layout) {
                    p = new Position(layout, variables.indexOf(plain.field));
                    last = p;
                }
                if (p.index < 0) {
                    throw Failure.INSTANCE;
                }
                return variables.valueAt(p.index);
            }
            return plain.select(o);
        }
    }

    /** A comprehension variable. */
    static final class Slot extends Node {
        final int index;

        Slot(int index) {
            this.index = index;
        }

        @Override
        public Object eval(Frame f) {
            Object v = f.slots[index];
            if (v == ERROR) {
                throw Failure.INSTANCE;
            }
            return v;
        }
    }

    /** {@code operand.field}: a map key that must be present; on an optional value, an optional result. */
    static final class Select extends Node {
        final Node operand;
        final String field;

        Select(Node operand, String field) {
            this.operand = operand;
            this.field = field.intern();
        }

        @Override
        public Object eval(Frame f) throws Exception {
            return select(operand.eval(f));
        }

        /** The selection on the operand's value. */
        Object select(Object o) {
            if (o instanceof Map<?, ?> map) {
                Object v = get(map, field);
                if (v == null) {
                    throw Failure.INSTANCE;
                }
                return v;
            }
            if (o instanceof Optional<?> opt) {
                if (opt.isEmpty()) {
                    return opt;
                }
                if (opt.get() instanceof Map<?, ?> map) {
                    return map.containsKey(field) ? Optional.of(map.get(field)) : Optional.empty();
                }
            }
            throw Failure.INSTANCE;
        }
    }

    /** {@code has(operand.field)}. */
    static final class Has extends Node {
        final Node operand;
        final String field;

        Has(Node operand, String field) {
            this.operand = operand;
            this.field = field.intern();
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object o = operand.eval(f);
            if (o instanceof Optional<?> opt) {
                if (opt.isEmpty()) {
                    return false;
                }
                o = opt.get();
            }
            if (o instanceof ArrayMap map) {
                return map.getInterned(field) != null;
            }
            if (o instanceof Map<?, ?> map) {
                return map.containsKey(field);
            }
            throw Failure.INSTANCE;
        }
    }

    /** {@code operand.?field}: on a map the value if present; on an optional map, the chained selection. */
    static final class OptionalSelect extends Node {
        final Node operand;
        final String field;

        OptionalSelect(Node operand, String field) {
            this.operand = operand;
            this.field = field.intern();
        }

        @Override
        public Object eval(Frame f) throws Exception {
            return select(operand.eval(f), field);
        }

        static Object select(Object o, String field) {
            if (o instanceof Map<?, ?> map) {
                // cel-java's binding (RuntimeEquality.findInMap) for a string key: the value when present
                Object v = get(map, field);
                return v == null ? Optional.empty() : Optional.of(v);
            }
            if (o instanceof Optional<?> opt) {
                if (opt.isEmpty()) {
                    return opt;
                }
                if (opt.get() instanceof Map<?, ?> map) {
                    return map.containsKey(field) ? Optional.of(map.get(field)) : Optional.empty();
                }
            }
            throw Failure.INSTANCE;
        }
    }

    /**
     * {@code operand.?f1.?f2....orValue(alternative)}: the chain of {@link OptionalSelect}s then {@link OptionalOr},
     * without the optionals in between when the operand is a map (the common case): each field is looked up in the
     * value found so far, the first one missing gives the alternative, and a value found that is not a map before
     * the last field is an error, as selecting on an optional of it is.
     */
    static final class OptionalSelectOrValue extends Node {
        final Node operand;
        final String[] fields;
        final Node alternative;

        OptionalSelectOrValue(OptionalSelect select, Node alternative) {
            List<String> chain = new ArrayList<>();
            Node o = select;
            while (o instanceof OptionalSelect s) {
                chain.add(0, s.field);
                o = s.operand;
            }
            this.operand = o;
            this.fields = chain.toArray(new String[0]);
            this.alternative = alternative;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object o = operand.eval(f);
            if (!(o instanceof Map<?, ?>)) {
                for (String field : fields) {
                    o = OptionalSelect.select(o, field);
                }
                Optional<?> opt = (Optional<?>) o;
                return opt.isPresent() ? opt.get() : alternative.eval(f);
            }
            for (String field : fields) {
                if (!(o instanceof Map<?, ?> map)) {
                    throw Failure.INSTANCE;
                }
                o = get(map, field);
                if (o == null) {
                    return alternative.eval(f);
                }
            }
            return o;
        }
    }

    /** {@code target.or(other)} and {@code target.orValue(other)}: the alternative is evaluated only when needed. */
    static final class OptionalOr extends Node {
        final Node target;
        final Node alternative;
        final boolean unwrap;

        OptionalOr(Node target, Node alternative, boolean unwrap) {
            this.target = target;
            this.alternative = alternative;
            this.unwrap = unwrap;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object t = target.eval(f);
            if (!(t instanceof Optional<?> opt)) {
                throw Failure.INSTANCE;
            }
            if (opt.isPresent()) {
                return unwrap ? opt.get() : opt;
            }
            return alternative.eval(f);
        }
    }

    /** {@code a ? b : c}. */
    static final class Conditional extends Node {
        final Node condition;
        final Node then;
        final Node otherwise;

        Conditional(Node condition, Node then, Node otherwise) {
            this.condition = condition;
            this.then = then;
            this.otherwise = otherwise;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            return (Boolean) bool(condition, f) ? then.eval(f) : otherwise.eval(f);
        }
    }

    /**
     * {@code a && b} ({@code dominant} false) and {@code a || b} ({@code dominant} true), commutative over errors: the
     * dominant value on either side wins over an error on the other. An operand that is neither a bool nor an error is
     * an error of the whole expression.
     */
    static final class Logical extends Node {
        final Node left;
        final Node right;
        final Boolean dominant;

        Logical(Node left, Node right, Boolean dominant) {
            this.left = left;
            this.right = right;
            this.dominant = dominant;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object l = operand(left, f);
            if (dominant.equals(l)) {
                return l;
            }
            Object r = operand(right, f);
            if (dominant.equals(r)) {
                return r;
            }
            if (l instanceof Boolean && r instanceof Boolean) {
                return !dominant;
            }
            throw Failure.INSTANCE;
        }

        /** The operand's value, or its error as a value. */
        private static Object operand(Node n, Frame f) {
            Object v;
            try {
                v = n.eval(f);
            } catch (Exception e) {
                return e;
            }
            if (!(v instanceof Boolean)) {
                throw Failure.INSTANCE;
            }
            return v;
        }
    }

    /** {@code !a}. */
    static final class Not extends Node {
        final Node operand;

        Not(Node operand) {
            this.operand = operand;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            return !(Boolean) bool(operand, f);
        }
    }

    /** The loop condition of {@code all} and {@code exists}: true unless the value is false (errors included). */
    static final class NotStrictlyFalse extends Node {
        final Node operand;

        NotStrictlyFalse(Node operand) {
            this.operand = operand;
        }

        @Override
        public Object eval(Frame f) {
            try {
                return !Boolean.FALSE.equals(operand.eval(f));
            } catch (Exception e) {
                return Boolean.TRUE;
            }
        }
    }

    /** {@code a == b} and {@code a != b}: strings, ints and bools directly, anything else with cel-java's binding. */
    static final class Equals extends Node {
        final Node left;
        final Node right;
        final CelFunctionBinding binding;
        final boolean negate;

        Equals(Node left, Node right, CelFunctionBinding binding, boolean negate) {
            this.left = left;
            this.right = right;
            this.binding = binding;
            this.negate = negate;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object l = left.eval(f);
            Object r = right.eval(f);
            // each class's own comparison, called directly (l.equals(r) would be a call on any of three classes)
            if (l instanceof String a && r instanceof String b) {
                return a.equals(b) != negate;
            }
            if (l instanceof Long a && r instanceof Long b) {
                return (a.longValue() == b.longValue()) != negate;
            }
            if (l instanceof Boolean a && r instanceof Boolean b) {
                return (a.booleanValue() == b.booleanValue()) != negate;
            }
            if (l == NullValue.NULL_VALUE && r == l) {
                return !negate;
            }
            // null against a value of JSON (or the reverse): different types are never equal
            if (l == NullValue.NULL_VALUE && plain(r) || r == NullValue.NULL_VALUE && plain(l)) {
                return negate;
            }
            return Call.apply(binding, new Object[] {l, r});
        }

        private static boolean plain(Object v) {
            // the classes first (see common)
            return v instanceof ArrayMap || v instanceof String || v instanceof Long || v instanceof Boolean
                    || v instanceof Double || v instanceof ArrayList<?> || v instanceof java.util.HashMap<?, ?>
                    || v instanceof Map || v instanceof List;
        }
    }

    /** A node of two operands that handles some cases itself and leaves the others to cel-java's bindings. */
    abstract static class Binary extends Node {
        final Node left;
        final Node right;
        final Call general;

        Binary(Node left, Node right, Call general) {
            this.left = left;
            this.right = right;
            this.general = general;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            return apply(left.eval(f), right.eval(f));
        }

        abstract Object apply(Object left, Object right) throws Exception;
    }

    /**
     * {@code a in b}: a string in a list (only strings can equal a string) or a string key of a map by lookup,
     * anything else with cel-java's bindings.
     */
    static final class In extends Binary {
        /** Whether the element is a string literal, which the tree interns: looked up in an object by identity. */
        final boolean literal;

        In(Node element, Node container, Call general) {
            super(element, container, general);
            this.literal = interned(element);
        }

        @Override
        Object apply(Object e, Object c) throws Exception {
            if (e instanceof String s) {
                // class tests first (see common)
                if (c instanceof ArrayList<?> list) {
                    return containsString(list, s);
                }
                if (c instanceof ArrayMap object) {
                    return (literal ? object.getInterned(s) : object.get(s)) != null;
                }
                if (c instanceof java.util.AbstractMap<?, ?> map) {
                    return map.get(s) != null;
                }
                if (c instanceof Map<?, ?> map) {
                    return map.get(s) != null;
                }
                if (c instanceof List<?> list) {
                    return containsString(list, s);
                }
            }
            return general.dispatch(new Object[] {e, c});
        }
    }

    /**
     * {@code size(x)} and {@code string(x)}: a list's or a map's size, and a string or an int as a string, as
     * cel-java's {@code size_list}, {@code size_map}, {@code string_to_string} and {@code int64_to_string} compute
     * them (only when the checked candidates include that overload); anything else with cel-java's bindings.
     */
    static final class Unary extends Node {
        enum Kind { SIZE, STRING }

        final Kind kind;
        final Node arg;
        final Call general;
        final boolean sizeList;
        final boolean sizeMap;
        final boolean intToString;

        Unary(Kind kind, Node arg, Call general, List<String> overloads) {
            this.kind = kind;
            this.arg = arg;
            this.general = general;
            this.sizeList = overloads.contains("size_list") || overloads.contains("list_size");
            this.sizeMap = overloads.contains("size_map") || overloads.contains("map_size");
            this.intToString = overloads.contains("int64_to_string");
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object v = arg.eval(f);
            if (kind == Kind.SIZE) {
                if (sizeList && v instanceof List<?> list) {
                    return (long) list.size();
                }
                if (sizeMap && v instanceof Map<?, ?> map) {
                    return (long) map.size();
                }
            } else {
                if (v instanceof String) {
                    return v;
                }
                if (intToString && v instanceof Long n) {
                    return n.toString();
                }
            }
            return general.dispatch(new Object[] {v});
        }
    }

    /**
     * {@code <}, {@code <=}, {@code >} and {@code >=} on two ints directly (when the checked candidates include the
     * int overload), anything else with cel-java's bindings.
     */
    static final class Compare extends Binary {
        enum Kind { LESS, LESS_EQUALS, GREATER, GREATER_EQUALS }

        final Kind kind;

        Compare(Kind kind, Node left, Node right, Call general) {
            super(left, right, general);
            this.kind = kind;
        }

        @Override
        Object apply(Object l, Object r) throws Exception {
            if (l instanceof Long a && r instanceof Long b) {
                long x = a;
                long y = b;
                return switch (kind) {
                    case LESS -> x < y;
                    case LESS_EQUALS -> x <= y;
                    case GREATER -> x > y;
                    case GREATER_EQUALS -> x >= y;
                };
            }
            return general.dispatch(new Object[] {l, r});
        }
    }

    /**
     * {@code s.split(separator)} with a separator that is not empty, as cel-java's strings extension computes it (a
     * piece before, between and after every occurrence, empty ones included); anything else with its binding.
     */
    static final class Split extends Binary {
        Split(Node string, Node separator, Call general) {
            super(string, separator, general);
        }

        @Override
        Object apply(Object s, Object sep) throws Exception {
            if (s instanceof String text && sep instanceof String separator && !separator.isEmpty()) {
                com.google.common.collect.ImmutableList.Builder<String> out =
                        com.google.common.collect.ImmutableList.builder();
                int start = 0;
                for (int at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, start)) {
                    out.add(text.substring(start, at));
                    start = at + separator.length();
                }
                out.add(text.substring(start));
                return out.build();
            }
            return general.dispatch(new Object[] {s, sep});
        }
    }

    /**
     * {@code list.join()} and {@code list.join(separator)} of a list of strings, as the strings extension joins them
     * (Guava's {@code Joiner}, which writes a string as itself); anything else with its binding.
     */
    static final class Join extends Node {
        final Node list;
        /** null for {@code join()}. */
        final Node separator;
        final Call general;

        Join(Node list, Node separator, Call general) {
            this.list = list;
            this.separator = separator;
            this.general = general;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object l = list.eval(f);
            Object sep = separator == null ? "" : separator.eval(f);
            if (l instanceof List<?> items && sep instanceof String s && allStrings(items)) {
                @SuppressWarnings("unchecked")
                List<String> strings = (List<String>) items;
                return String.join(s, strings);
            }
            return general.dispatch(separator == null ? new Object[] {l} : new Object[] {l, sep});
        }

        private static boolean allStrings(List<?> items) {
            if (indexed(items)) {
                for (int i = 0, n = items.size(); i < n; i++) {
                    if (!(items.get(i) instanceof String)) {
                        return false;
                    }
                }
                return true;
            }
            for (Object item : items) {
                if (!(item instanceof String)) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * {@code sets.contains}, {@code sets.equivalent} and {@code sets.intersects} on lists whose searched elements
     * are strings: a string equals only an equal string, so membership is {@link String#equals}, in the order of
     * the extension's loops. Anything else with cel-java's bindings.
     */
    static final class SetFunction extends Binary {
        enum Kind { CONTAINS, EQUIVALENT, INTERSECTS }

        final Kind kind;

        SetFunction(Kind kind, Node left, Node right, Call general) {
            super(left, right, general);
            this.kind = kind;
        }

        @Override
        Object apply(Object a, Object b) throws Exception {
            if (a instanceof List<?> x && b instanceof List<?> y) {
                Boolean r = switch (kind) {
                    case CONTAINS -> containsAll(x, y);
                    case EQUIVALENT -> {
                        Boolean forward = containsAll(x, y);
                        yield forward == null || !forward ? forward : containsAll(y, x);
                    }
                    case INTERSECTS -> intersects(x, y);
                };
                if (r != null) {
                    return r;
                }
            }
            return general.dispatch(new Object[] {a, b});
        }

        /** Whether every element of {@code sub} is in {@code list}; null at an element that is not a string. */
        private static Boolean containsAll(List<?> list, List<?> sub) {
            for (Object e : sub) {
                if (!(e instanceof String s)) {
                    return null;
                }
                if (!containsString(list, s)) {
                    return Boolean.FALSE;
                }
            }
            return Boolean.TRUE;
        }

        /** Whether an element of {@code b} is in {@code a}; null at an element of b that is not a string. */
        private static Boolean intersects(List<?> a, List<?> b) {
            if (a.isEmpty() || b.isEmpty()) {
                return Boolean.FALSE;
            }
            for (Object e : b) {
                if (!(e instanceof String s)) {
                    return null;
                }
                if (containsString(a, s)) {
                    return Boolean.TRUE;
                }
            }
            return Boolean.FALSE;
        }

    }

    /** Whether a list has a string equal to {@code s} (by index when it can: no iterator to allocate). */
    static boolean containsString(List<?> list, String s) {
        if (indexed(list)) {
            for (int i = 0, n = list.size(); i < n; i++) {
                if (s.equals(list.get(i))) {
                    return true;
                }
            }
            return false;
        }
        for (Object item : list) {
            if (s.equals(item)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A strict function call: the one overload among the checked candidates that accepts the arguments. Which one
     * that is depends only on the classes of the arguments, so the last choice is remembered with them.
     */
    static final class Call extends Node {
        final CelFunctionBinding[] candidates;
        final Node[] args;
        /** The last dispatch: argument classes and the overload chosen for them (racy but immutable). */
        private Choice last;

        private record Choice(Class<?>[] classes, CelFunctionBinding binding) {
        }

        Call(CelFunctionBinding[] candidates, Node[] args) {
            this.candidates = candidates;
            this.args = args;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object[] values = new Object[args.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = args[i].eval(f);
            }
            return dispatch(values);
        }

        Object dispatch(Object[] values) throws CelEvaluationException {
            Choice c = last;
            if (c != null && sameClasses(c.classes, values)) {
                return apply(c.binding, values);
            }
            CelFunctionBinding match = null;
            for (CelFunctionBinding candidate : candidates) {
                if (CelFunctionOverload.canHandle(values, candidate.getArgTypes(), true)) {
                    if (match != null) {
                        throw Failure.INSTANCE; // ambiguous
                    }
                    match = candidate;
                }
            }
            if (match == null) {
                throw Failure.INSTANCE;
            }
            Class<?>[] classes = new Class<?>[values.length];
            for (int i = 0; i < values.length; i++) {
                if (values[i] == null) {
                    return apply(match, values); // the choice for null is not a matter of class
                }
                classes[i] = values[i].getClass();
            }
            last = new Choice(classes, match);
            return apply(match, values);
        }

        private static boolean sameClasses(Class<?>[] classes, Object[] values) {
            for (int i = 0; i < classes.length; i++) {
                if (values[i] == null || values[i].getClass() != classes[i]) {
                    return false;
                }
            }
            return true;
        }

        static Object apply(CelFunctionBinding binding, Object[] values) throws CelEvaluationException {
            Object result = binding.getDefinition().apply(values);
            if (result == null || !common(result) && foreign(result)) {
                throw Failure.INSTANCE;
            }
            return result;
        }
    }

    /**
     * {@code a[i]}: a map by a string key and a list by an int index directly (as cel-java's {@code index_map} and
     * {@code index_list} do for them; the optional library's overloads among the candidates take only optionals),
     * anything else with cel-java's bindings.
     */
    static final class Index extends Binary {
        /** Whether the index is a string literal, which the tree interns: looked up in an object by identity. */
        final boolean literal;

        Index(Node operand, Node index, Call general) {
            super(operand, index, general);
            this.literal = interned(index);
        }

        @Override
        Object apply(Object o, Object i) throws Exception {
            // the key's class first: it leaves one interface to test
            if (i instanceof String key && o instanceof Map<?, ?> map) {
                Object v = literal && map instanceof ArrayMap object ? object.getInterned(key) : map.get(key);
                if (v == null) {
                    throw Failure.INSTANCE;
                }
                return v;
            }
            if (i instanceof Long n && o instanceof List<?> list) {
                if (n < 0 || n >= list.size()) {
                    throw Failure.INSTANCE;
                }
                return list.get(n.intValue());
            }
            return general.dispatch(new Object[] {o, i});
        }
    }

    /** A list literal; elements marked optional are included only when present. */
    static final class ListLiteral extends Node {
        final Node[] elements;
        final boolean[] optional;

        ListLiteral(Node[] elements, boolean[] optional) {
            this.elements = elements;
            this.optional = optional;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            List<Object> out = new ArrayList<>(elements.length);
            for (int i = 0; i < elements.length; i++) {
                Object v = elements[i].eval(f);
                if (optional != null && optional[i]) {
                    if (!(v instanceof Optional<?> opt)) {
                        throw Failure.INSTANCE;
                    }
                    if (opt.isEmpty()) {
                        continue;
                    }
                    v = opt.get();
                }
                out.add(v);
            }
            return out;
        }
    }

    /** A map literal; entries marked optional are included only when present. */
    static final class MapLiteral extends Node {
        final Node[] keys;
        final Node[] values;
        final boolean[] optional;
        final boolean errorOnDuplicates;

        MapLiteral(Node[] keys, Node[] values, boolean[] optional, boolean errorOnDuplicates) {
            this.keys = keys;
            this.values = values;
            this.optional = optional;
            this.errorOnDuplicates = errorOnDuplicates;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < keys.length; i++) {
                Object k = keys[i].eval(f);
                Object v = values[i].eval(f);
                if (errorOnDuplicates && out.containsKey(k)) {
                    throw Failure.INSTANCE;
                }
                if (optional[i]) {
                    if (!(v instanceof Optional<?> opt)) {
                        throw Failure.INSTANCE;
                    }
                    if (opt.isEmpty()) {
                        out.remove(k);
                        continue;
                    }
                    v = opt.get();
                }
                out.put(k, v);
            }
            return out;
        }
    }

    /**
     * Whether a list reads by index in constant time: the lists of JSON values and of list literals by their class
     * (a test against an interface that a class implements costs more), others when they say so.
     */
    static boolean indexed(List<?> list) {
        return list instanceof ArrayList<?> || list instanceof com.google.common.collect.ImmutableList<?>
                || list instanceof RandomAccess;
    }

    /** The items a comprehension iterates over, to be read by index: a list's elements or a map's keys. */
    static List<?> items(Object range) {
        if (range instanceof ArrayList<?> list) {
            return list;
        }
        if (range instanceof List<?> list) {
            return indexed(list) ? list : new ArrayList<>(list);
        }
        if (range instanceof Map<?, ?> map) {
            return new ArrayList<>(map.keySet());
        }
        throw Failure.INSTANCE;
    }

    static void countIteration(Frame f) {
        if (f.maxIterations >= 0 && ++f.iterations > f.maxIterations) {
            throw Failure.INSTANCE;
        }
    }

    /**
     * The comprehension of {@code map} and {@code filter} ({@code [] + [element]} for each item, or for each item
     * where {@code predicate} is true), built in a list directly. The general {@link Comprehension} keeps an error
     * of any step in its accumulator and so fails at the end: here the first error ends it.
     */
    static final class ListComprehension extends Node {
        final Node range;
        final int iterSlot;
        /** null for {@code map(x, e)}. */
        final Node predicate;
        final Node element;

        ListComprehension(Node range, int iterSlot, Node predicate, Node element) {
            this.range = range;
            this.iterSlot = iterSlot;
            this.predicate = predicate;
            this.element = element;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            List<?> items = items(range.eval(f));
            int n = items.size();
            List<Object> out = new ArrayList<>(predicate == null ? n : 4);
            Object[] slots = f.slots;
            for (int i = 0; i < n; i++) {
                Object item = items.get(i);
                countIteration(f);
                slots[iterSlot] = Comprehension.adapt(item);
                if (predicate != null) {
                    Object keep = predicate.eval(f);
                    if (!Boolean.TRUE.equals(keep)) {
                        if (keep instanceof Boolean) {
                            continue;
                        }
                        throw Failure.INSTANCE;
                    }
                }
                out.add(element.eval(f));
            }
            return out;
        }
    }

    /**
     * The comprehension of {@code exists} ({@code dominant} true) and {@code all} ({@code dominant} false): the
     * dominant value of the predicate ends the loop (after counting one more iteration, as the general loop does
     * when it checks its condition) and is the result; otherwise an error or a value that is not a bool fails it,
     * else the result is the other bool.
     */
    static final class Quantifier extends Node {
        final Node range;
        final int iterSlot;
        final Node predicate;
        final Boolean dominant;

        Quantifier(Node range, int iterSlot, Node predicate, Boolean dominant) {
            this.range = range;
            this.iterSlot = iterSlot;
            this.predicate = predicate;
            this.dominant = dominant;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            List<?> items = items(range.eval(f));
            Object[] slots = f.slots;
            boolean failed = false;
            boolean found = false;
            for (int i = 0, n = items.size(); i < n; i++) {
                Object item = items.get(i);
                countIteration(f);
                if (found) {
                    break;
                }
                slots[iterSlot] = Comprehension.adapt(item);
                Object v;
                try {
                    v = predicate.eval(f);
                } catch (Exception e) {
                    failed = true;
                    continue;
                }
                if (dominant.equals(v)) {
                    found = true;
                } else if (!(v instanceof Boolean)) {
                    failed = true;
                }
            }
            if (found) {
                return dominant;
            }
            if (failed) {
                throw Failure.INSTANCE;
            }
            return !dominant;
        }
    }

    /**
     * A comprehension (the macros {@code all}, {@code exists}, {@code exists_one}, {@code map}, {@code filter}), as
     * cel-java runs it: a list accumulator is a {@link ConcatenatedListView} so that appending stays linear, a failed
     * step leaves an error in the accumulator, and every iteration counts against the evaluation's budget.
     */
    static final class Comprehension extends Node {
        final Node range;
        final int iterSlot;
        final int accuSlot;
        final Node init;
        final Node condition;
        final Node step;
        final Node result;

        Comprehension(Node range, int iterSlot, int accuSlot, Node init, Node condition, Node step, Node result) {
            this.range = range;
            this.iterSlot = iterSlot;
            this.accuSlot = accuSlot;
            this.init = init;
            this.condition = condition;
            this.step = step;
            this.result = result;
        }

        @Override
        public Object eval(Frame f) throws Exception {
            Object r = range.eval(f);
            Collection<?> items;
            if (r instanceof List<?> list) {
                items = list;
            } else if (r instanceof Map<?, ?> map) {
                items = map.keySet();
            } else {
                throw Failure.INSTANCE;
            }
            Object accu;
            try {
                accu = init.eval(f);
            } catch (Exception e) {
                accu = ERROR;
            }
            if (accu instanceof List<?> list) {
                accu = new ConcatenatedListView<>(list);
            }
            Object[] slots = f.slots;
            for (Object item : items) {
                if (f.maxIterations >= 0 && ++f.iterations > f.maxIterations) {
                    throw Failure.INSTANCE;
                }
                slots[iterSlot] = adapt(item);
                slots[accuSlot] = accu;
                Object go = condition.eval(f);
                if (!(go instanceof Boolean)) {
                    throw Failure.INSTANCE;
                }
                if (!(Boolean) go) {
                    break;
                }
                try {
                    accu = step.eval(f);
                } catch (Exception e) {
                    accu = ERROR;
                }
            }
            if (accu instanceof ConcatenatedListView<?> view) {
                accu = new ArrayList<>(view);
            }
            slots[accuSlot] = accu;
            return result.eval(f);
        }

        /** cel-java's {@code RuntimeHelpers.maybeAdaptPrimitive}: ints and floats of Java become CEL ints and doubles. */
        static Object adapt(Object value) {
            if (value instanceof Optional<?> opt) {
                return opt.isEmpty() ? opt : Optional.of(adapt(opt.get()));
            }
            if (value instanceof Float x) {
                return x.doubleValue();
            }
            if (value instanceof Integer x) {
                return x.longValue();
            }
            return value;
        }
    }
}
