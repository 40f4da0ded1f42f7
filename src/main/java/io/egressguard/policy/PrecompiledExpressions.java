package io.egressguard.policy;

import dev.cel.bundle.Cel;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.internal.EnvVisitable;
import dev.cel.common.internal.EnvVisitor;
import dev.cel.expr.Decl;
import dev.cel.parser.CelMacro;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * The checked ASTs of the built-in policies' CEL expressions, made once at build time ({@link #main}, run by the
 * Maven build after compilation) and packaged as {@value #RESOURCE}, so that a server or CLI that loads the built-in
 * policies does not parse, type-check and validate some 600 expressions again (about 10 ms each on a cold JVM, most
 * of startup).
 *
 * <p>A stored AST must never give a different result from compiling the text: every entry is keyed by a SHA-256 of
 * the expression text together with a fingerprint of everything else that determines the check ({@link
 * #fingerprint}): the CEL options, every declaration (variables, functions and overloads of the standard and
 * extension libraries, with their types) and macro of the environment, and the class files of the code that
 * parses, checks, validates and converts ASTs (cel-java's and Egress Guard's own libraries and validators). A text
 * that is not in the table, or a table made for another environment, is simply compiled as before; where class files
 * cannot be read (a native image) the table is not used at all.
 *
 * <p>ASTs are stored in {@link AstCodec}'s form, which reads back into cel-java's AST objects faster than cel-java's
 * own protobuf form; the source text, which it leaves out, is put back on load, so a stored AST equals the freshly
 * compiled one. An AST that the form cannot represent exactly is left out of the table, and so compiled at load.
 */
public final class PrecompiledExpressions {

    /** Where the build puts the table, beside the built-in policies. */
    public static final String RESOURCE = "policies/PRECOMPILED";

    /** Changes whenever the layout of the table or the meaning of its keys changes. */
    static final String FORMAT = "egress-guard precompiled CEL, format 2";
    private static final int MAGIC = 0x45474331; // "EGC1"

    /**
     * The classes whose code decides what a text parses, checks and validates to, and how that is stored, besides
     * declarations and options; a different version of any of them gives another fingerprint.
     */
    static final List<String> CODE = List.of(
            "io.egressguard.cel.KubernetesCel",
            "io.egressguard.cel.HomogeneousLiterals",
            "io.egressguard.cel.KubernetesListsLibrary",
            "io.egressguard.cel.KubernetesNetLibrary",
            "io.egressguard.cel.KubernetesRegexLibrary",
            "dev.cel.bundle.CelImpl",
            "dev.cel.parser.Parser",
            "dev.cel.parser.CelParserImpl",
            "dev.cel.checker.ExprChecker",
            "dev.cel.checker.Env",
            "dev.cel.checker.InferenceContext",
            "dev.cel.checker.CelStandardDeclarations",
            "dev.cel.checker.CelCheckerLegacyImpl",
            "dev.cel.validator.CelValidatorImpl",
            "io.egressguard.policy.AstCodec");

    /** The empty table: every expression is compiled. */
    static final PrecompiledExpressions NONE = new PrecompiledExpressions(new byte[0], Map.of());

    private final byte[] fingerprint;
    /** Stored ASTs ({@link AstCodec}) by hex key; decoded on lookup, so loading the table costs only its reading. */
    private final Map<String, byte[]> entries;

    private PrecompiledExpressions(byte[] fingerprint, Map<String, byte[]> entries) {
        this.fingerprint = fingerprint;
        this.entries = entries;
    }

    /**
     * The packaged table if it was made for exactly this environment, else {@link #NONE}.
     *
     * @param cel the environment expressions are compiled in
     */
    static PrecompiledExpressions builtIn(Cel cel) {
        try (InputStream in = PrecompiledExpressions.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return NONE;
            }
            byte[] expected = fingerprint(cel);
            return expected == null ? NONE : read(in, expected);
        } catch (IOException e) {
            return NONE;
        }
    }

    /** Number of stored expressions. */
    int size() {
        return entries.size();
    }

    /**
     * The checked (and validated) AST stored for this text, equal to what compiling it would give, or null when the
     * text must be compiled.
     */
    CelAbstractSyntaxTree find(String text) {
        if (entries.isEmpty()) {
            return null;
        }
        byte[] stored = entries.get(key(fingerprint, text));
        if (stored == null) {
            return null;
        }
        try {
            return AstCodec.decode(stored, text);
        } catch (IOException | RuntimeException e) {
            return null; // an unreadable entry is compiled instead
        }
    }

    /**
     * A fingerprint of everything besides the text that decides what an expression checks to: the format, the
     * options, every declaration and macro of {@code cel}, and the class files listed in {@link #CODE}.
     *
     * <p>It is a checksum, not a cryptographic digest: the table is made by the build that packages it, and the
     * fingerprint only has to tell when a table meets an environment from another build (a changed library, option
     * or declaration), not resist someone who can change the application's jars. Two CRCs of different polynomials
     * and the length of what was summed miss such a change with a probability of about 2^-64; both
     * CRCs are computed by CPU instructions even before the JIT compiles anything. A SHA-256 of the same 280 KB cost
     * some 20 ms more of CPU at startup, and enough hashing for the JIT's C2 compiler to compile its loop.
     *
     * @return the fingerprint, or null when it cannot be computed (class files are not readable, as in a native image)
     */
    static byte[] fingerprint(Cel cel) {
        Checksum sum = new Checksum();
        sum.update(FORMAT);
        CelOptions options = cel.toCheckerBuilder().options();
        sum.update(options.toString());
        if (!(cel instanceof EnvVisitable visitable)) {
            return null;
        }
        // sorted, so that the fingerprint does not depend on the order in which libraries were added
        Map<String, List<Decl>> declarations = new TreeMap<>();
        Map<String, String> macros = new TreeMap<>();
        visitable.accept(new EnvVisitor() {
            @Override
            public void visitDecl(String name, List<Decl> decls) {
                declarations.computeIfAbsent(name, n -> new ArrayList<>()).addAll(decls);
            }

            @Override
            public void visitMacro(CelMacro macro) {
                macros.put(macro.getKey(), macro.getFunction() + "/" + macro.getArgumentCount() + "/"
                        + macro.isReceiverStyle() + "/" + macro.isVariadic());
            }
        });
        declarations.forEach((name, decls) -> {
            sum.update(name);
            for (Decl d : decls) {
                sum.update(d.toByteArray());
            }
        });
        macros.forEach((key, macro) -> sum.update(key + "=" + macro));
        ClassLoader loader = PrecompiledExpressions.class.getClassLoader();
        for (String className : CODE) {
            try (InputStream in = loader.getResourceAsStream(className.replace('.', '/') + ".class")) {
                if (in == null) {
                    return null;
                }
                sum.update(className);
                sum.update(in.readAllBytes());
            } catch (IOException e) {
                return null;
            }
        }
        return sum.value();
    }

    /** CRC-32C and CRC-32 of a sequence of byte strings, each prefixed with its length, and their total length. */
    private static final class Checksum {
        private final CRC32C crc32c = new CRC32C();
        private final CRC32 crc32 = new CRC32();
        private long length;

        void update(String text) {
            update(text.getBytes(StandardCharsets.UTF_8));
        }

        void update(byte[] bytes) {
            byte[] prefix = ByteBuffer.allocate(4).putInt(bytes.length).array();
            crc32c.update(prefix);
            crc32.update(prefix);
            crc32c.update(bytes);
            crc32.update(bytes);
            length += 4L + bytes.length;
        }

        byte[] value() {
            return ByteBuffer.allocate(16).putInt((int) crc32c.getValue()).putInt((int) crc32.getValue())
                    .putLong(length).array();
        }
    }

    /** The key of a text: SHA-256 of the fingerprint and the text. */
    static String key(byte[] fingerprint, String text) {
        MessageDigest sha = sha256();
        sha.update(fingerprint);
        sha.update(text.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Reads a table; one made for another fingerprint (or unreadable) is {@link #NONE}. */
    static PrecompiledExpressions read(InputStream stream, byte[] expected) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(stream));
        if (in.readInt() != MAGIC) {
            return NONE;
        }
        byte[] stored = new byte[in.readUnsignedShort()];
        in.readFully(stored);
        if (!Arrays.equals(stored, expected)) {
            return NONE;
        }
        int count = in.readInt();
        Map<String, byte[]> entries = new HashMap<>(count * 2);
        HexFormat hex = HexFormat.of();
        for (int i = 0; i < count; i++) {
            byte[] key = new byte[32];
            in.readFully(key);
            byte[] ast = new byte[in.readInt()];
            in.readFully(ast);
            entries.put(hex.formatHex(key), ast);
        }
        return new PrecompiledExpressions(stored, Map.copyOf(entries));
    }

    /**
     * Writes a table of checked ASTs by text, in key order (the same input gives the same bytes). An AST that
     * {@link AstCodec} cannot store exactly is left out.
     */
    static byte[] write(byte[] fingerprint, Map<String, CelAbstractSyntaxTree> asts) throws IOException {
        Map<String, byte[]> sorted = new TreeMap<>();
        asts.forEach((text, ast) -> {
            try {
                sorted.put(key(fingerprint, text), AstCodec.encode(ast));
            } catch (IllegalArgumentException e) {
                // compiled at load, as any text that is not in the table
            }
        });
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeShort(fingerprint.length);
            out.write(fingerprint);
            out.writeInt(sorted.size());
            HexFormat hex = HexFormat.of();
            for (Map.Entry<String, byte[]> e : sorted.entrySet()) {
                out.write(hex.parseHex(e.getKey()));
                out.writeInt(e.getValue().length);
                out.write(e.getValue());
            }
        }
        return bytes.toByteArray();
    }

    /**
     * Build step: compiles every policy under a folder and writes the table of their expressions.
     *
     * <p>Usage: {@code PrecompiledExpressions POLICY_DIR OUTPUT_FILE}. A policy that does not compile is left out
     * (its errors are reported where it is loaded, as before); the build never fails because of it.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: PrecompiledExpressions POLICY_DIR OUTPUT_FILE");
            System.exit(2);
        }
        Map<String, CelAbstractSyntaxTree> asts = new ConcurrentSkipListMap<>();
        PolicyCompiler compiler = new PolicyCompiler(NONE, asts::put);
        byte[] fingerprint = fingerprint(compiler.cel());
        Path out = Path.of(args[1]);
        if (fingerprint == null) {
            System.err.println("precompiled CEL: the environment has no fingerprint; no table written");
            Files.deleteIfExists(out);
            return;
        }
        List<PolicySource> sources;
        try {
            sources = PolicyLoader.fromDirectory(Path.of(args[0]));
        } catch (PolicyException e) {
            System.err.println("precompiled CEL: " + e.getMessage());
            Files.deleteIfExists(out);
            return;
        }
        int failed = 0;
        for (PolicySource s : sources) {
            try {
                compiler.compile(s);
            } catch (PolicyException e) {
                failed++;
            }
        }
        byte[] table = write(fingerprint, asts);
        int unstored = asts.size() - read(new ByteArrayInputStream(table), fingerprint).size();
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.write(out, table);
        System.out.println("precompiled CEL: " + (asts.size() - unstored) + " expressions of " + sources.size()
                + " policies" + (failed > 0 ? " (" + failed + " did not compile and are left out)" : "")
                + (unstored > 0 ? " (" + unstored + " cannot be stored and are compiled at load)" : "") + " -> " + out);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
