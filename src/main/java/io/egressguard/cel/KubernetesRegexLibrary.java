package io.egressguard.cel;

import com.google.common.collect.ImmutableList;
import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import dev.cel.bundle.Cel;
import dev.cel.checker.CelCheckerBuilder;
import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.navigation.CelNavigableAst;
import dev.cel.common.types.ListType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompilerLibrary;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelFunctionBinding;
import dev.cel.runtime.CelRuntimeBuilder;
import dev.cel.runtime.CelRuntimeLibrary;
import dev.cel.validator.CelAstValidator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kubernetes' regex library ({@code k8s.io/apiserver/pkg/cel/library/regex.go}): {@code <string>.find(regex)} and
 * {@code <string>.findAll(regex[, limit])}; and the runtime of the standard {@code matches}, which
 * {@link KubernetesCel} takes out of cel-java's standard functions because cel-java compiles its pattern on every
 * call (about 10 µs for the patterns policies use, more than matching them).
 *
 * <p>Patterns are RE2 patterns evaluated by RE2/J, the Java port of Go's {@code regexp} package that cel-java itself
 * uses for {@code matches}: the syntax and the leftmost-first match semantics are Go's, and matching time is linear
 * in the input. {@code findAll} reproduces Go's {@code FindAllString} iteration, which drops an empty match that
 * directly follows the previous match.
 *
 * <p>cel-java's standard runtime offers no hook to compile a literal pattern when a program is created, so compiled
 * patterns are kept in a bounded cache shared by all environments instead: policies use a handful of patterns over
 * and over, and the validator puts the literal ones there. {@link #literalPatternValidator()} reports invalid literal
 * patterns at compile time, as Kubernetes does for {@code matches} (its regex literal validator) and for
 * {@code find}/{@code findAll} (it compiles their literal patterns when it plans a program).
 */
final class KubernetesRegexLibrary implements CelCompilerLibrary, CelRuntimeLibrary {

    static final KubernetesRegexLibrary INSTANCE = new KubernetesRegexLibrary();

    /** Upper bound of cached compiled patterns; the cache is emptied when it is reached. */
    static final int PATTERN_CACHE_SIZE = 256;

    private static final ConcurrentHashMap<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

    /**
     * Answers of {@code matches} and {@code findAll} by pattern and text. Pods of one workload carry the same strings
     * (the injector's {@code sidecar.istio.io/status}, proxy images, istio-init's arguments), and several policies ask
     * the same question of each, so most answers are found here instead of running RE2/J again. Only texts of up to
     * {@value #MAX_ANSWER_TEXT} characters are kept, and at most {@value #MAX_ANSWERS} answers: the cache is emptied
     * when full, so it never holds more than a few megabytes. Values are immutable.
     */
    private static final ConcurrentHashMap<Question, Object> ANSWERS = new ConcurrentHashMap<>();

    static final int MAX_ANSWERS = 4096;
    static final int MAX_ANSWER_TEXT = 1024;

    /** A regex question: the operation ({@code -1} for matches, else findAll's limit), pattern and text. */
    private record Question(long operation, String regex, String text) {
    }

    private static Object cachedAnswer(Question q) {
        return q.text().length() > MAX_ANSWER_TEXT ? null : ANSWERS.get(q);
    }

    private static void remember(Question q, Object answer) {
        if (q.text().length() > MAX_ANSWER_TEXT) {
            return;
        }
        if (ANSWERS.size() >= MAX_ANSWERS) {
            ANSWERS.clear();
        }
        ANSWERS.put(q, answer);
    }

    /** The number of answers currently cached. */
    static int cachedAnswerCount() {
        return ANSWERS.size();
    }

    private KubernetesRegexLibrary() {
    }

    @Override
    public void setCheckerOptions(CelCheckerBuilder checker) {
        ListType listOfStrings = ListType.create(SimpleType.STRING);
        checker.addFunctionDeclarations(
                CelFunctionDecl.newFunctionDeclaration("find",
                        CelOverloadDecl.newMemberOverload("string_find_string", SimpleType.STRING,
                                SimpleType.STRING, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("findAll",
                        CelOverloadDecl.newMemberOverload("string_find_all_string", listOfStrings,
                                SimpleType.STRING, SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("string_find_all_string_int", listOfStrings,
                                SimpleType.STRING, SimpleType.STRING, SimpleType.INT)));
    }

    @Override
    public void setRuntimeOptions(CelRuntimeBuilder runtime) {
        runtime.addFunctionBindings(
                CelFunctionBinding.from("string_find_string", String.class, String.class,
                        KubernetesRegexLibrary::find),
                CelFunctionBinding.from("string_find_all_string", String.class, String.class,
                        (text, regex) -> findAll(text, regex, -1)),
                CelFunctionBinding.from("string_find_all_string_int",
                        ImmutableList.<Class<?>>of(String.class, String.class, Long.class),
                        args -> findAll((String) args[0], (String) args[1], (Long) args[2])),
                // the standard matches(string, string) and <string>.matches(string) overloads
                CelFunctionBinding.from("matches", String.class, String.class, KubernetesRegexLibrary::matches),
                CelFunctionBinding.from("matches_string", String.class, String.class,
                        KubernetesRegexLibrary::matches));
    }

    /**
     * An AST validator that rejects {@code matches}, {@code find} and {@code findAll} calls whose literal pattern is
     * not a valid RE2 pattern, the syntax both cel-java's {@code matches} and these functions evaluate.
     */
    static CelAstValidator literalPatternValidator() {
        return KubernetesRegexLibrary::validateLiteralPatterns;
    }

    private static void validateLiteralPatterns(CelNavigableAst navigableAst, Cel cel,
            CelAstValidator.IssuesFactory issues) {
        navigableAst.getRoot().allNodes()
                .map(node -> node.expr())
                .filter(expr -> expr.getKind() == CelExpr.ExprKind.Kind.CALL)
                .forEach(expr -> {
                    CelExpr.CelCall call = expr.call();
                    int patternIndex;
                    switch (call.function()) {
                        case "matches":
                            patternIndex = call.target().isPresent() ? 0 : 1;
                            break;
                        case "find":
                        case "findAll":
                            patternIndex = call.target().isPresent() ? 0 : -1;
                            break;
                        default:
                            patternIndex = -1;
                            break;
                    }
                    if (patternIndex < 0 || call.args().size() <= patternIndex) {
                        return;
                    }
                    CelExpr pattern = call.args().get(patternIndex);
                    if (pattern.getKind() != CelExpr.ExprKind.Kind.CONSTANT
                            || pattern.constant().getKind() != CelConstant.Kind.STRING_VALUE) {
                        return;
                    }
                    try {
                        cachedPattern(pattern.constant().stringValue());
                    } catch (PatternSyntaxException e) {
                        issues.addError(pattern.id(), "invalid regular expression: " + e.getMessage());
                    }
                });
    }

    /**
     * CEL's {@code matches}: whether {@code regex} matches anywhere in {@code text} (RE2 semantics, unanchored, as in
     * cel-go and cel-java with partial matching), with the compiled pattern taken from the cache.
     */
    static boolean matches(String text, String regex) throws CelEvaluationException {
        Question q = new Question(Long.MIN_VALUE, regex, text);
        if (cachedAnswer(q) instanceof Boolean found) {
            return found;
        }
        boolean found = compile(regex).matcher(text).find();
        remember(q, found);
        return found;
    }

    /** The first match of {@code regex} in {@code text}, or the empty string. */
    static String find(String text, String regex) throws CelEvaluationException {
        Matcher matcher = compile(regex).matcher(text);
        return matcher.find() ? matcher.group() : "";
    }

    /**
     * Go's {@code FindAllString}: successive non-overlapping matches, at most {@code limit} of them when
     * {@code limit >= 0}; an empty match right after the previous match is skipped.
     */
    @SuppressWarnings("unchecked")
    static List<String> findAll(String text, String regex, long limit) throws CelEvaluationException {
        Question q = new Question(limit < 0 ? -1 : limit, regex, text);
        if (cachedAnswer(q) instanceof List<?> found) {
            return (List<String>) found;
        }
        List<String> found = List.copyOf(findAll(compile(regex).matcher(text), text, limit));
        remember(q, found);
        return found;
    }

    private static List<String> findAll(Matcher matcher, String text, long limit) {
        List<String> matches = new ArrayList<>();
        int end = text.length();
        int pos = 0;
        int previousMatchEnd = -1;
        while ((limit < 0 || matches.size() < limit) && pos <= end) {
            if (!matcher.find(pos)) {
                break;
            }
            int matchStart = matcher.start();
            int matchEnd = matcher.end();
            boolean accept = true;
            if (matchEnd == pos) {
                // An empty match at pos: not allowed right after the previous match; move on by one code point.
                if (matchStart == previousMatchEnd) {
                    accept = false;
                }
                pos += pos < end ? Character.charCount(text.codePointAt(pos)) : 1;
            } else {
                pos = matchEnd;
            }
            previousMatchEnd = matchEnd;
            if (accept) {
                matches.add(text.substring(matchStart, matchEnd));
            }
        }
        return matches;
    }

    private static Pattern compile(String regex) throws CelEvaluationException {
        try {
            return cachedPattern(regex);
        } catch (PatternSyntaxException e) {
            throw new CelEvaluationException("Illegal regex: " + e.getMessage());
        }
    }

    /** Whether {@code regex} is compiled in the cache. */
    static boolean isCached(String regex) {
        return PATTERNS.containsKey(regex);
    }

    /** The number of compiled patterns currently cached. */
    static int cachedPatternCount() {
        return PATTERNS.size();
    }

    private static Pattern cachedPattern(String regex) {
        Pattern pattern = PATTERNS.get(regex);
        if (pattern != null) {
            return pattern;
        }
        pattern = Pattern.compile(regex);
        if (PATTERNS.size() >= PATTERN_CACHE_SIZE) {
            PATTERNS.clear();
        }
        PATTERNS.putIfAbsent(regex, pattern);
        return pattern;
    }
}
