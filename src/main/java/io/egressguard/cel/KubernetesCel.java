package io.egressguard.cel;

import dev.cel.bundle.CelBuilder;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelOptions;
import dev.cel.extensions.CelExtensions;
import dev.cel.extensions.CelStringExtensions;
import dev.cel.parser.CelStandardMacro;

/**
 * The CEL environment of a Kubernetes ValidatingAdmissionPolicy (1.31+), built on cel-java's standard runtime.
 *
 * <p>Only libraries that Kubernetes enables for admission policies are registered, so that an expression accepted
 * here is also accepted by a cluster.
 */
public final class KubernetesCel {

    private KubernetesCel() {
    }

    /**
     * A builder with the Kubernetes options, macros and libraries; the caller adds its variables and builds.
     *
     * @param comprehensionMaxIterations bound on the iterations of all comprehensions in one evaluation
     */
    public static CelBuilder newBuilder(int comprehensionMaxIterations) {
        CelOptions options = CelOptions.current()
                .enableOptionalSyntax(true)
                .enableHeterogeneousNumericComparisons(true)
                .comprehensionMaxIterations(comprehensionMaxIterations)
                .build();
        return CelFactory.standardCelBuilder()
                .setOptions(options)
                .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .addCompilerLibraries(stringsLibrary(), CelExtensions.optional(), CelExtensions.sets(options))
                .addRuntimeLibraries(stringsLibrary(), CelExtensions.optional(), CelExtensions.sets(options));
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
}
