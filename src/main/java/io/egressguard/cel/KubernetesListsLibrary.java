package io.egressguard.cel;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import com.google.common.primitives.UnsignedLong;
import dev.cel.bundle.Cel;
import dev.cel.checker.CelCheckerBuilder;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOptions;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelReference;
import dev.cel.common.navigation.CelNavigableAst;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.CelTypes;
import dev.cel.common.types.ListType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.types.TypeParamType;
import dev.cel.common.values.CelByteString;
import dev.cel.compiler.CelCompilerLibrary;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntimeBuilder;
import dev.cel.runtime.CelRuntimeLibrary;
import dev.cel.runtime.RuntimeEquality;
import dev.cel.runtime.RuntimeHelpers;
import dev.cel.validator.CelAstValidator;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Kubernetes' list library ({@code k8s.io/apiserver/pkg/cel/library/lists.go}): {@code isSorted}, {@code sum},
 * {@code min}, {@code max}, {@code indexOf} and {@code lastIndexOf} on lists.
 *
 * <p>Kubernetes declares one overload per element type. cel-java's standard runtime dispatches by Java class only and
 * reports an ambiguity when several overloads accept the same {@link List}, which every expression over the
 * {@code dyn} admission objects would hit. Each function is therefore declared once over {@code list(A)}, and
 * {@link #elementTypeValidator()} rejects, like Kubernetes' type checker, calls on lists whose static element type is
 * neither comparable ({@code isSorted}, {@code min}, {@code max}) nor summable ({@code sum}).
 *
 * <p>Runtime semantics follow Kubernetes: comparisons between numbers of different kinds are numeric, an element pair
 * that cannot be ordered is skipped by {@code isSorted}, {@code min} and {@code max} (cel-go ignores the comparison
 * error), elements that cannot be ordered at all are an error, and {@code min}/{@code max} of an empty list are
 * errors. {@code sum} of an empty list is the int {@code 0}, whatever the static element type.
 */
final class KubernetesListsLibrary implements CelCompilerLibrary, CelRuntimeLibrary {

    static final String IS_SORTED = "list_a_is_sorted_bool";
    static final String SUM = "list_a_sum_a";
    static final String MIN = "list_a_min_a";
    static final String MAX = "list_a_max_a";
    static final String INDEX_OF = "list_a_index_of_int";
    static final String LAST_INDEX_OF = "list_a_last_index_of_int";

    private static final TypeParamType PARAM_A = TypeParamType.create("A");
    private static final ListType LIST_A = ListType.create(PARAM_A);

    private static final ImmutableSet<CelKind> COMPARABLE_KINDS = ImmutableSet.of(CelKind.INT, CelKind.UINT,
            CelKind.DOUBLE, CelKind.BOOL, CelKind.DURATION, CelKind.TIMESTAMP, CelKind.STRING, CelKind.BYTES);
    private static final ImmutableSet<CelKind> SUMMABLE_KINDS = ImmutableSet.of(CelKind.INT, CelKind.UINT,
            CelKind.DOUBLE, CelKind.DURATION);

    private final RuntimeEquality equality;

    KubernetesListsLibrary(CelOptions options) {
        this.equality = RuntimeEquality.create(RuntimeHelpers.create(), options);
    }

    @Override
    public void setCheckerOptions(CelCheckerBuilder checker) {
        checker.addFunctionDeclarations(
                CelFunctionDecl.newFunctionDeclaration("isSorted",
                        CelOverloadDecl.newMemberOverload(IS_SORTED, SimpleType.BOOL, LIST_A)),
                CelFunctionDecl.newFunctionDeclaration("sum",
                        CelOverloadDecl.newMemberOverload(SUM, PARAM_A, LIST_A)),
                CelFunctionDecl.newFunctionDeclaration("min",
                        CelOverloadDecl.newMemberOverload(MIN, PARAM_A, LIST_A)),
                CelFunctionDecl.newFunctionDeclaration("max",
                        CelOverloadDecl.newMemberOverload(MAX, PARAM_A, LIST_A)),
                CelFunctionDecl.newFunctionDeclaration("indexOf",
                        CelOverloadDecl.newMemberOverload(INDEX_OF, SimpleType.INT, LIST_A, PARAM_A)),
                CelFunctionDecl.newFunctionDeclaration("lastIndexOf",
                        CelOverloadDecl.newMemberOverload(LAST_INDEX_OF, SimpleType.INT, LIST_A, PARAM_A)));
    }

    @Override
    public void setRuntimeOptions(CelRuntimeBuilder runtime) {
        runtime.addFunctionBindings(
                CelFunctionBinding.from(IS_SORTED, List.class, KubernetesListsLibrary::isSorted),
                CelFunctionBinding.from(SUM, List.class, KubernetesListsLibrary::sum),
                CelFunctionBinding.from(MIN, List.class, list -> extreme(list, "min", 1)),
                CelFunctionBinding.from(MAX, List.class, list -> extreme(list, "max", -1)),
                CelFunctionBinding.from(INDEX_OF, List.class, Object.class, this::indexOf),
                CelFunctionBinding.from(LAST_INDEX_OF, List.class, Object.class, this::lastIndexOf));
    }

    /**
     * An AST validator that reports {@code isSorted}, {@code min} and {@code max} on lists of non-comparable elements
     * and {@code sum} on lists of non-summable elements, with the message Kubernetes' type checker gives.
     */
    static CelAstValidator elementTypeValidator() {
        return KubernetesListsLibrary::validateElementTypes;
    }

    private static void validateElementTypes(CelNavigableAst navigableAst, Cel cel,
            CelAstValidator.IssuesFactory issues) {
        navigableAst.getRoot().allNodes()
                .map(node -> node.expr())
                .filter(expr -> expr.getKind() == CelExpr.ExprKind.Kind.CALL && expr.call().target().isPresent())
                .forEach(expr -> {
                    Optional<CelReference> reference = navigableAst.getAst().getReference(expr.id());
                    if (reference.isEmpty()) {
                        return;
                    }
                    ImmutableList<String> overloads = reference.get().overloadIds();
                    ImmutableSet<CelKind> allowed;
                    if (overloads.contains(SUM)) {
                        allowed = SUMMABLE_KINDS;
                    } else if (overloads.contains(MIN) || overloads.contains(MAX) || overloads.contains(IS_SORTED)) {
                        allowed = COMPARABLE_KINDS;
                    } else {
                        return;
                    }
                    CelExpr target = expr.call().target().get();
                    Optional<CelType> targetType = navigableAst.getAst().getType(target.id());
                    if (targetType.isEmpty() || !(targetType.get() instanceof ListType)) {
                        return;
                    }
                    CelKind elementKind = ((ListType) targetType.get()).elemType().kind();
                    if (elementKind == CelKind.DYN || elementKind == CelKind.TYPE_PARAM
                            || elementKind == CelKind.ERROR || allowed.contains(elementKind)) {
                        return;
                    }
                    issues.addError(expr.id(), "found no matching overload for '" + expr.call().function()
                            + "' applied to '" + CelTypes.format(targetType.get()) + ".()'");
                });
    }

    // ---- functions ----------------------------------------------------------------------------------------------

    private static boolean isSorted(List<?> list) throws CelEvaluationException {
        Object previous = null;
        for (Object element : list) {
            requireComparable(element);
            if (previous != null && compare(previous, element) > 0) {
                return false;
            }
            previous = element;
        }
        return true;
    }

    /**
     * The first element preferred by {@code preferred}: 1 keeps replacing the result with smaller elements (min), -1
     * with larger ones (max).
     */
    private static Object extreme(List<?> list, String name, int preferred) throws CelEvaluationException {
        Object result = null;
        for (Object element : list) {
            requireComparable(element);
            if (result == null || compare(result, element) == preferred) {
                result = element;
            }
        }
        if (result == null) {
            throw new CelEvaluationException(name + " called on empty list");
        }
        return result;
    }

    private static Object sum(List<?> list) throws CelEvaluationException {
        if (list.isEmpty()) {
            return 0L;
        }
        Object total = null;
        for (Object element : list) {
            if (!(element instanceof Long || element instanceof Double || element instanceof UnsignedLong
                    || element instanceof Duration)) {
                throw noSuchOverload();
            }
            total = total == null ? element : add(total, element);
        }
        return total;
    }

    private static Object add(Object a, Object b) throws CelEvaluationException {
        try {
            if (a instanceof Long && b instanceof Long) {
                return Math.addExact((Long) a, (Long) b);
            }
            if (a instanceof Double && b instanceof Double) {
                return (Double) a + (Double) b;
            }
            if (a instanceof UnsignedLong && b instanceof UnsignedLong) {
                UnsignedLong sum = ((UnsignedLong) a).plus((UnsignedLong) b);
                if (sum.compareTo((UnsignedLong) a) < 0) {
                    throw new ArithmeticException();
                }
                return sum;
            }
            if (a instanceof Duration && b instanceof Duration) {
                Duration sum = ((Duration) a).plus((Duration) b);
                sum.toNanos();
                return sum;
            }
        } catch (ArithmeticException e) {
            throw new CelEvaluationException("integer overflow");
        }
        throw noSuchOverload();
    }

    private long indexOf(List<?> list, Object item) {
        for (int i = 0; i < list.size(); i++) {
            if (elementEquals(list.get(i), item)) {
                return i;
            }
        }
        return -1L;
    }

    private long lastIndexOf(List<?> list, Object item) {
        for (int i = list.size() - 1; i >= 0; i--) {
            if (elementEquals(list.get(i), item)) {
                return i;
            }
        }
        return -1L;
    }

    /**
     * CEL equality of a list element and the searched item. Two strings, the common case, are compared directly:
     * CEL's equality of strings is Java's, and going through {@link RuntimeEquality} for each element costs more than
     * the comparison.
     */
    private boolean elementEquals(Object element, Object item) {
        if (element instanceof String s && item instanceof String t) {
            return s.equals(t);
        }
        return equality.objectEquals(element, item);
    }

    // ---- ordering (cel-go traits.Comparer) ----------------------------------------------------------------------

    private static void requireComparable(Object value) throws CelEvaluationException {
        if (!(value instanceof Number || value instanceof UnsignedLong || value instanceof String
                || value instanceof Boolean || value instanceof CelByteString || value instanceof Duration
                || value instanceof Instant)) {
            throw noSuchOverload();
        }
    }

    /** -1, 0 or 1; {@link Integer#MIN_VALUE} when the two values cannot be ordered (other kinds, or NaN). */
    private static int compare(Object a, Object b) {
        if (a instanceof String && b instanceof String) {
            return Integer.signum(compareCodePoints((String) a, (String) b));
        }
        if (isNumber(a) && isNumber(b)) {
            return compareNumbers(a, b);
        }
        if (a instanceof Boolean && b instanceof Boolean) {
            return Boolean.compare((Boolean) a, (Boolean) b);
        }
        if (a instanceof CelByteString && b instanceof CelByteString) {
            return Integer.signum(CelByteString.unsignedLexicographicalComparator()
                    .compare((CelByteString) a, (CelByteString) b));
        }
        if (a instanceof Duration && b instanceof Duration) {
            return Integer.signum(((Duration) a).compareTo((Duration) b));
        }
        if (a instanceof Instant && b instanceof Instant) {
            return Integer.signum(((Instant) a).compareTo((Instant) b));
        }
        return Integer.MIN_VALUE;
    }

    private static boolean isNumber(Object value) {
        return value instanceof Long || value instanceof Double || value instanceof UnsignedLong;
    }

    private static int compareNumbers(Object a, Object b) {
        if (a instanceof Long && b instanceof Long) {
            return Long.compare((Long) a, (Long) b);
        }
        if (a instanceof UnsignedLong && b instanceof UnsignedLong) {
            return Integer.signum(((UnsignedLong) a).compareTo((UnsignedLong) b));
        }
        if (a instanceof Long && b instanceof UnsignedLong) {
            long x = (Long) a;
            return x < 0 ? -1 : Long.signum(Long.compareUnsigned(x, ((UnsignedLong) b).longValue()));
        }
        if (a instanceof UnsignedLong && b instanceof Long) {
            return -compareNumbers(b, a);
        }
        double x = toDouble(a);
        double y = toDouble(b);
        if (Double.isNaN(x) || Double.isNaN(y)) {
            return Integer.MIN_VALUE;
        }
        return x < y ? -1 : x > y ? 1 : 0;
    }

    private static double toDouble(Object number) {
        if (number instanceof UnsignedLong) {
            return ((UnsignedLong) number).doubleValue();
        }
        return ((Number) number).doubleValue();
    }

    /** Go orders strings by their UTF-8 bytes, which is code point order, not UTF-16 code unit order. */
    private static int compareCodePoints(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            char x = a.charAt(i);
            char y = b.charAt(i);
            if (x != y) {
                if (x >= Character.MIN_SURROGATE && y >= Character.MIN_SURROGATE) {
                    // Move surrogates (U+D800..U+DFFF) above U+E000..U+FFFF.
                    return fixupForCodePointOrder(x) - fixupForCodePointOrder(y);
                }
                return x - y;
            }
        }
        return a.length() - b.length();
    }

    private static int fixupForCodePointOrder(char c) {
        return c >= 0xe000 ? c - 0x800 : c + 0x2000;
    }

    private static CelEvaluationException noSuchOverload() {
        return new CelEvaluationException("no such overload");
    }
}
