package io.egressguard.cel;

import com.google.common.collect.ImmutableList;
import dev.cel.bundle.Cel;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.navigation.CelNavigableAst;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.CelTypes;
import dev.cel.common.types.OptionalType;
import dev.cel.validator.CelAstValidator;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Kubernetes' {@code HomogeneousAggregateLiterals}, as cel-go's checker applies it ({@code joinTypes} in
 * google/cel-go {@code checker/checker.go}): the elements of a list literal, and the keys and the values of a map
 * literal, are joined left to right; each must be assignable to the type joined so far, where {@code dyn} is
 * assignable to and from anything, so once a {@code dyn} element is seen the rest are accepted. cel-java's own
 * validator is stricter ({@code ['a', dyn(1)]} fails there but compiles in a cluster), so this one replaces it.
 */
final class HomogeneousLiterals implements CelAstValidator {

    @Override
    public void validate(CelNavigableAst navigableAst, Cel cel, IssuesFactory issues) {
        navigableAst.getRoot().allNodes().map(node -> node.expr()).forEach(expr -> {
            if (expr.getKind() == CelExpr.ExprKind.Kind.LIST) {
                List<CelExpr> elements = expr.list().elements();
                List<Integer> optional = expr.list().optionalIndices();
                List<CelExpr> checked = new ArrayList<>();
                for (int i = 0; i < elements.size(); i++) {
                    checked.add(elements.get(i));
                }
                join(navigableAst, issues, checked, optional);
            } else if (expr.getKind() == CelExpr.ExprKind.Kind.MAP) {
                List<CelExpr> keys = new ArrayList<>();
                List<CelExpr> values = new ArrayList<>();
                List<Integer> optional = new ArrayList<>();
                int i = 0;
                for (CelExpr.CelMap.Entry e : expr.map().entries()) {
                    keys.add(e.key());
                    values.add(e.value());
                    if (e.optionalEntry()) {
                        optional.add(i);
                    }
                    i++;
                }
                join(navigableAst, issues, keys, List.of());
                join(navigableAst, issues, values, optional);
            }
        });
    }

    private static void join(CelNavigableAst ast, IssuesFactory issues, List<CelExpr> exprs,
            List<Integer> optionalIndices) {
        CelType joined = null;
        for (int i = 0; i < exprs.size(); i++) {
            CelExpr e = exprs.get(i);
            Optional<CelType> found = ast.getAst().getType(e.id());
            if (found.isEmpty()) {
                continue;
            }
            CelType type = found.get();
            if (optionalIndices.contains(i) && type instanceof OptionalType opt) {
                type = opt.parameters().get(0);
            }
            if (joined == null) {
                joined = type;
            } else if (assignable(joined, type)) {
                joined = mostGeneral(joined, type);
            } else {
                issues.addError(e.id(), "expected type '" + CelTypes.format(joined) + "' but found '"
                        + CelTypes.format(type) + "'");
                return;
            }
        }
    }

    static boolean isDyn(CelType t) {
        CelKind k = t.kind();
        return k == CelKind.DYN || k == CelKind.ANY || k == CelKind.ERROR || k == CelKind.TYPE_PARAM;
    }

    static boolean assignable(CelType a, CelType b) {
        if (isDyn(a) || isDyn(b)) {
            return true;
        }
        if (a.kind() != b.kind() || !a.name().equals(b.name())) {
            return false;
        }
        ImmutableList<CelType> pa = a.parameters();
        ImmutableList<CelType> pb = b.parameters();
        if (pa.size() != pb.size()) {
            return false;
        }
        for (int i = 0; i < pa.size(); i++) {
            if (!assignable(pa.get(i), pb.get(i))) {
                return false;
            }
        }
        return true;
    }

    static CelType mostGeneral(CelType a, CelType b) {
        if (isDyn(a)) {
            return a;
        }
        if (isDyn(b)) {
            return b;
        }
        if (a.parameters().isEmpty()) {
            return a;
        }
        List<CelType> params = new ArrayList<>();
        for (int i = 0; i < a.parameters().size(); i++) {
            params.add(mostGeneral(a.parameters().get(i), b.parameters().get(i)));
        }
        return a.withParameters(ImmutableList.copyOf(params));
    }
}
