package io.egressguard.cel;

import com.google.common.collect.ImmutableCollection;
import com.google.common.collect.ImmutableList;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelBuilder;
import dev.cel.bundle.CelFactory;
import dev.cel.checker.CelStandardDeclarations;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.CelType;
import dev.cel.common.types.CelTypeProvider;
import dev.cel.extensions.CelExtensions;
import dev.cel.extensions.CelStringExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntimeLibrary;
import dev.cel.runtime.CelStandardFunctions;
import dev.cel.validator.CelValidator;
import dev.cel.validator.CelValidatorFactory;
import dev.cel.validator.validators.DurationLiteralValidator;
import dev.cel.validator.validators.TimestampLiteralValidator;
import java.util.Optional;

/**
 * The CEL environment of a Kubernetes ValidatingAdmissionPolicy (1.31+), built on cel-java's standard runtime.
 *
 * <p>Only libraries that Kubernetes enables for admission policies are registered, so that an expression accepted
 * here is also accepted by a cluster: the standard macros, the strings extension without {@code reverse}, optional
 * values, sets, and Kubernetes' own {@code ip}/{@code cidr}, list ({@code isSorted}, {@code sum}, {@code min},
 * {@code max}, {@code indexOf}, {@code lastIndexOf}) and regex ({@code find}, {@code findAll}) libraries. Math,
 * encoders, bindings, protos, cel-java's regex, lists and two-variable comprehension extensions are not registered.
 *
 * <p>Kubernetes also type-checks literals (durations, timestamps, regular expressions) and requires list and map
 * literals to be homogeneous. Those checks run as AST validators: {@link #validate(Cel, CelAbstractSyntaxTree)} or a
 * validator from {@link #newValidator(Cel)} after compiling.
 */
public final class KubernetesCel {

    private static final CelTypeProvider TYPE_PROVIDER = new NetTypeProvider();

    private KubernetesCel() {
    }

    /**
     * A builder with the Kubernetes options, macros, libraries and type provider; the caller adds its variables and
     * builds. A caller that sets its own {@link CelTypeProvider} must combine it with {@link #typeProvider()}.
     *
     * @param comprehensionMaxIterations bound on the iterations of all comprehensions in one evaluation
     */
    public static CelBuilder newBuilder(int comprehensionMaxIterations) {
        CelOptions options = options(comprehensionMaxIterations);
        KubernetesListsLibrary lists = new KubernetesListsLibrary(options);
        return CelFactory.standardCelBuilder()
                .setOptions(options)
                // The standard environment, except that the runtime's matches() is the regex library's, which
                // compiles each pattern once: cel-java's own compiles the pattern again on every call. With these
                // options (unsigned longs, timestamp epoch, heterogeneous comparisons) cel-java's default
                // environment keeps every standard declaration and function, as the unfiltered builders do.
                .setStandardEnvironmentEnabled(false)
                .setStandardDeclarations(CelStandardDeclarations.newBuilder().build())
                .setStandardFunctions(standardFunctions())
                .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .setTypeProvider(TYPE_PROVIDER)
                .addCompilerLibraries(stringsLibrary(), CelExtensions.optional(), CelExtensions.sets(options),
                        KubernetesNetLibrary.INSTANCE, lists, KubernetesRegexLibrary.INSTANCE)
                .addRuntimeLibraries(runtimeLibraries(options, lists).toArray(new CelRuntimeLibrary[0]));
    }

    /**
     * The evaluator that runs the programs of an environment from {@link #newBuilder(int)} with the same bound,
     * calling the same function bindings; see {@link FastEvaluator}.
     */
    public static FastEvaluator fastEvaluator(int comprehensionMaxIterations) {
        CelOptions options = options(comprehensionMaxIterations);
        try {
            return FastEvaluator.create(options, standardFunctions(),
                    runtimeLibraries(options, new KubernetesListsLibrary(options)));
        } catch (RuntimeException | LinkageError e) {
            // e.g. a native image built without the recorder's proxy class: cel-java's interpreter runs everything
            System.getLogger(KubernetesCel.class.getName()).log(System.Logger.Level.WARNING,
                    "the fast CEL evaluator is unavailable, policies run on cel-java's interpreter: " + e);
            return FastEvaluator.disabled();
        }
    }

    private static CelOptions options(int comprehensionMaxIterations) {
        return CelOptions.current()
                .enableOptionalSyntax(true)
                .enableHeterogeneousNumericComparisons(true)
                .comprehensionMaxIterations(comprehensionMaxIterations)
                .build();
    }

    private static CelStandardFunctions standardFunctions() {
        return CelStandardFunctions.newBuilder()
                .excludeFunctions(CelStandardFunctions.StandardFunction.MATCHES)
                .build();
    }

    private static java.util.List<CelRuntimeLibrary> runtimeLibraries(CelOptions options,
            KubernetesListsLibrary lists) {
        return java.util.List.of(stringsLibrary(), CelExtensions.optional(), CelExtensions.sets(options),
                KubernetesNetLibrary.INSTANCE, lists, KubernetesRegexLibrary.INSTANCE);
    }

    /** The types this environment adds: {@code net.IP} ({@link IpAddress}) and {@code net.CIDR} ({@link Cidr}). */
    public static CelTypeProvider typeProvider() {
        return TYPE_PROVIDER;
    }

    /**
     * A validator with the literal checks Kubernetes applies to admission expressions: duration and timestamp literals
     * must be valid, list and map literals homogeneous, literal patterns of {@code matches}, {@code find} and
     * {@code findAll} valid RE2, and the element type of a list passed to the list library must fit the function.
     * Build it once per {@link Cel} and reuse it; it is thread-safe.
     *
     * <p>Patterns are checked with RE2/J, which is what cel-java's {@code matches} runs, rather than with cel-java's
     * {@code RegexLiteralValidator}, which checks them against {@code java.util.regex} and so accepts look-arounds and
     * back-references that RE2 (and Kubernetes) reject.
     */
    public static CelValidator newValidator(Cel cel) {
        return CelValidatorFactory.standardCelValidatorBuilder(cel)
                .addAstValidators(
                        DurationLiteralValidator.INSTANCE,
                        TimestampLiteralValidator.INSTANCE,
                        new HomogeneousLiterals(),
                        KubernetesListsLibrary.elementTypeValidator(),
                        KubernetesRegexLibrary.literalPatternValidator())
                .build();
    }

    /**
     * Applies the checks of {@link #newValidator(Cel)} to a checked AST.
     *
     * @return the AST, unchanged, if it passes
     * @throws CelValidationException listing every violation
     */
    public static CelAbstractSyntaxTree validate(Cel cel, CelAbstractSyntaxTree ast) throws CelValidationException {
        return newValidator(cel).validate(ast).getAst();
    }

    /** Kubernetes' strings extension (cel-go v2): everything cel-java has except {@code reverse}. */
    private static CelStringExtensions stringsLibrary() {
        return CelExtensions.strings(
                CelStringExtensions.Function.CHAR_AT,
                CelStringExtensions.Function.INDEX_OF,
                CelStringExtensions.Function.JOIN,
                CelStringExtensions.Function.LAST_INDEX_OF,
                CelStringExtensions.Function.LOWER_ASCII,
                CelStringExtensions.Function.QUOTE,
                CelStringExtensions.Function.REPLACE,
                CelStringExtensions.Function.SPLIT,
                CelStringExtensions.Function.SUBSTRING,
                CelStringExtensions.Function.TRIM,
                CelStringExtensions.Function.UPPER_ASCII);
    }

    /** Resolves the names {@code net.IP} and {@code net.CIDR}. */
    private static final class NetTypeProvider implements CelTypeProvider {

        private final ImmutableList<CelType> types = ImmutableList.of(IpAddress.TYPE, Cidr.TYPE);

        @Override
        public ImmutableCollection<CelType> types() {
            return types;
        }

        @Override
        public Optional<CelType> findType(String typeName) {
            if (IpAddress.TYPE.name().equals(typeName)) {
                return Optional.of(IpAddress.TYPE);
            }
            if (Cidr.TYPE.name().equals(typeName)) {
                return Optional.of(Cidr.TYPE);
            }
            return Optional.empty();
        }
    }
}
