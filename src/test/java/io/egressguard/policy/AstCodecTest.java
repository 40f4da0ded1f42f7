package io.egressguard.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.core.type.TypeReference;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.protobuf.Timestamp;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelOptions;
import dev.cel.common.CelSource;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelReference;
import dev.cel.common.types.CelKind;
import dev.cel.common.types.CelType;
import dev.cel.common.types.ListType;
import dev.cel.common.types.MapType;
import dev.cel.common.types.NullableType;
import dev.cel.common.types.OpaqueType;
import dev.cel.common.types.OptionalType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.types.StructTypeReference;
import dev.cel.common.types.TypeParamType;
import dev.cel.common.types.TypeType;
import dev.cel.common.values.CelByteString;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * The stored form of checked ASTs ({@link AstCodec}): every built-in expression and every construct of the language
 * reads back equal to what compiling gives, what cannot be stored exactly is refused, and damaged bytes fail with an
 * {@link IOException}, never hang and never throw anything else.
 */
class AstCodecTest {

    /** Expressions of the policy environment that, together, use every construct its checker produces. */
    static final List<String> POLICY_EXPRESSIONS = List.of(
            "null == null",
            "true && !false",
            "1 + -1 - 9223372036854775807 < 0",
            "-9223372036854775808 < 0",
            "1u + 18446744073709551615u > 0u",
            "1.5 * -0.0 + 1e300 + 2.5e-300 != 0.0",
            "'s' + \"t\" + '''u''' + r'\\d' == 'stu\\\\d'",
            "b'\\x00\\xff' + bytes('abc') != b''",
            "'üñí' + '😀' + '\\u00e9' != ''",
            "size('''a\nb''') == 3\n  && true",
            "object.spec.containers.all(c, c.name != '')",
            "object.spec.containers.exists(c, c.image.startsWith('nginx'))",
            "object.spec.containers.exists_one(c, has(c.securityContext))",
            "object.spec.containers.map(c, c.name)",
            "object.spec.containers.map(c, has(c.name), c.name.lowerAscii())",
            "object.spec.containers.filter(c, c.name in ['a', 'b']).size() > 0",
            "has(object.spec) ? object.spec.hostNetwork == true : false",
            "object.?spec.?hostNetwork.orValue(false)",
            "[?optional.of(1), 2, ?optional.none()]",
            "{'a': 1, ?'b': optional.ofNonZeroValue(0)}",
            "[1, 2][0] + {'a': 3}['a'] + [[4]][0][0]",
            "type(1) == int && type('') == string && type(object) == dyn",
            "type(1u) == uint && type(1.0) == double && type(b'') == bytes && type(null) == null_type",
            "type([1]) == list && type({}) == map && type(true) == bool && type(type) == type",
            "duration('1s') + duration('1m') < duration('1h')",
            "timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
            "ip('10.0.0.1').family() == 4 && cidr('10.0.0.0/8').containsIP(ip('10.0.0.1'))",
            "[3, 1, 2].isSorted() || [1, 2].sum() == 3 || [1].max() == 1",
            "'abc'.matches('^a') && 'abc'.find('b') == 'b'",
            "sets.contains([1, 2], [1])",
            "dyn(1) == 1 && int('2') == 2 && uint(3) == 3u && double(4) == 4.0 && string(5) == '5'",
            "variables.missing.orValue(1)",
            "optional.of(variables).value().size() >= 0",
            "egressguard.hosts.exists(h, h.endsWith('.example.com'))",
            "request.userInfo.username.split(':')[0]",
            "[[1, 2], [3]].all(l, l.all(x, x > 0))",
            "{'k': [1]}.exists(k, {'k': [1]}[k].exists(v, v == 1))");

    static final String POD = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
            + "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx\"},{\"name\":\"b\",\"image\":\"x\","
            + "\"securityContext\":{}}]}}";

    /** An environment beyond the policies': macro calls kept, two-variable comprehensions, message and enum types. */
    static final Cel EXTENDED = CelFactory.standardCelBuilder()
            .setOptions(CelOptions.current().populateMacroCalls(true).enableOptionalSyntax(true).build())
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addMessageTypes(dev.cel.expr.Constant.getDescriptor(), dev.cel.expr.Type.getDescriptor())
            .addCompilerLibraries(CelExtensions.comprehensions(), CelExtensions.optional())
            .addRuntimeLibraries(CelExtensions.comprehensions(), CelExtensions.optional())
            .addVar("n", NullableType.create(SimpleType.INT))
            .addVar("s", StructTypeReference.create("cel.expr.Constant"))
            .addVar("o", OpaqueType.create("optional_type", SimpleType.STRING))
            .addVar("a", SimpleType.ANY)
            .addVar("t", SimpleType.TIMESTAMP)
            .build();

    /** Expressions of {@link #EXTENDED}, for what the policy environment cannot produce. */
    static final List<String> EXTENDED_EXPRESSIONS = List.of(
            "{'a': 1}.all(k, v, v > 0) && [1].exists(i, x, i == 0 && x == 1)",
            "{'a': 1}.transformMap(k, v, v + 1)",
            "[[1]].map(x, x.map(y, y + 1)).filter(z, z.size() > 0).exists(w, has(s.int64_value))",
            "[1].map(x, x).exists(y, y > 0)",
            "cel.expr.Type.PrimitiveType.BOOL == 1",
            "n == null || n > 0",
            "o.hasValue() && a == a && t > timestamp(0)",
            "type(s) != type(1)");

    static PolicyCompiler compiler() {
        return new PolicyCompiler(PrecompiledExpressions.NONE, null);
    }

    static CelAbstractSyntaxTree roundTrip(CelAbstractSyntaxTree ast) throws IOException {
        return AstCodec.decode(AstCodec.encode(ast), ast.getSource().getContent().toString());
    }

    @Test
    void everyBuiltInExpressionReadsBackEqualAndEvaluatesTheSame() throws Exception {
        Map<String, CelAbstractSyntaxTree> compiled = new ConcurrentHashMap<>();
        PolicyCompiler compiler = new PolicyCompiler(PrecompiledExpressions.NONE, compiled::put);
        List<Policy> policies = new ArrayList<>();
        for (PolicySource s : PolicyLoader.builtIn()) {
            policies.add(compiler.compile(s));
        }
        assertThat(compiled).hasSizeGreaterThan(500);
        Map<String, CelAbstractSyntaxTree> stored = new TreeMap<>();
        for (Map.Entry<String, CelAbstractSyntaxTree> e : compiled.entrySet()) {
            CelAbstractSyntaxTree fresh = e.getValue();
            CelAbstractSyntaxTree decoded = AstCodec.decode(AstCodec.encode(fresh), e.getKey());
            assertThat(decoded).as(e.getKey()).isEqualTo(fresh);
            assertThat(decoded.getResultType()).isEqualTo(fresh.getResultType());
            stored.put(e.getKey(), decoded);
        }
        int values = 0;
        for (Policy p : policies) {
            Map<String, Object> freshActivation = activation();
            Map<String, Object> storedActivation = activation();
            Map<String, Object> freshVariables = new LinkedHashMap<>();
            Map<String, Object> storedVariables = new LinkedHashMap<>();
            freshActivation.put("variables", freshVariables);
            storedActivation.put("variables", storedVariables);
            List<String> texts = new ArrayList<>(PrecompiledExpressionsTest.texts(List.of(p)));
            for (String text : texts) {
                Object a = evaluate(compiler.cel(), compiled.get(text), freshActivation);
                Object b = evaluate(compiler.cel(), stored.get(text), storedActivation);
                assertThat(String.valueOf(b)).as(p.id() + ": " + text).isEqualTo(String.valueOf(a));
                values += a instanceof Failure ? 0 : 1;
                for (Policy.Expression v : p.variables()) {
                    if (v.text().equals(text) && !(a instanceof Failure)) {
                        freshVariables.put(v.name(), a);
                        storedVariables.put(v.name(), b);
                    }
                }
            }
        }
        assertThat(values).as("expressions that evaluated to a value").isGreaterThan(400);
    }

    @Test
    void everyConstructReadsBackEqual() throws Exception {
        Set<CelExpr.ExprKind.Kind> kinds = EnumSet.noneOf(CelExpr.ExprKind.Kind.class);
        Set<CelConstant.Kind> constants = EnumSet.noneOf(CelConstant.Kind.class);
        Set<CelType> types = new HashSet<>();
        PolicyCompiler compiler = compiler();
        Map<String, Object> activation = activation();
        List<CelAbstractSyntaxTree> asts = new ArrayList<>();
        for (String text : POLICY_EXPRESSIONS) {
            CelAbstractSyntaxTree fresh = compiler.check(text);
            CelAbstractSyntaxTree stored = roundTrip(fresh);
            assertThat(stored).as(text).isEqualTo(fresh);
            assertThat(String.valueOf(evaluate(compiler.cel(), stored, activation))).as(text)
                    .isEqualTo(String.valueOf(evaluate(compiler.cel(), fresh, activation)));
            asts.add(fresh);
        }
        for (String text : EXTENDED_EXPRESSIONS) {
            CelAbstractSyntaxTree fresh = EXTENDED.compile(text).getAst();
            assertThat(roundTrip(fresh)).as(text).isEqualTo(fresh);
            asts.add(fresh);
        }
        CelAbstractSyntaxTree struct = withStructReferences(
                EXTENDED.compile("cel.expr.Constant{int64_value: 1, ?string_value: optional.of('s')}").getAst());
        assertThat(roundTrip(struct)).isEqualTo(struct);
        asts.add(struct);
        CelAbstractSyntaxTree handBuilt = handBuilt();
        assertThat(roundTrip(handBuilt)).isEqualTo(handBuilt);
        asts.add(handBuilt);

        boolean[] seen = new boolean[4]; // optional list index, optional map entry, test-only select, second iter var
        for (CelAbstractSyntaxTree ast : asts) {
            List<CelExpr> nodes = new ArrayList<>();
            collect(ast.getExpr(), nodes);
            ast.getSource().getMacroCalls().values().forEach(m -> collect(m, nodes));
            for (CelExpr e : nodes) {
                kinds.add(e.getKind());
                switch (e.getKind()) {
                    case CONSTANT -> constants.add(e.constant().getKind());
                    case LIST -> seen[0] |= !e.list().optionalIndices().isEmpty();
                    case MAP -> seen[1] |= e.map().entries().stream().anyMatch(CelExpr.CelMap.Entry::optionalEntry);
                    case SELECT -> seen[2] |= e.select().testOnly();
                    case COMPREHENSION -> seen[3] |= !e.comprehension().iterVar2().isEmpty();
                    default -> {
                        // nothing more to note
                    }
                }
            }
            ast.getReferenceMap().values().forEach(r -> r.value().ifPresent(c -> constants.add(c.getKind())));
            ast.getTypeMap().values().forEach(t -> collect(t, types));
        }
        assertThat(kinds).as("expression kinds covered").containsExactlyInAnyOrder(CelExpr.ExprKind.Kind.values());
        assertThat(constants).as("constant kinds covered, but the deprecated ones that are refused")
                .isEqualTo(EnumSet.complementOf(EnumSet.of(CelConstant.Kind.TIMESTAMP_VALUE,
                        CelConstant.Kind.DURATION_VALUE)));
        assertThat(seen).containsOnly(true);
        assertThat(asts.stream().anyMatch(a -> a.getReferenceMap().values().stream()
                .anyMatch(r -> r.value().isPresent()))).as("a reference with a value").isTrue();
        assertThat(types).as("simple types covered").containsAll(List.of(SimpleType.ERROR, SimpleType.DYN,
                SimpleType.ANY, SimpleType.BOOL, SimpleType.BYTES, SimpleType.DOUBLE, SimpleType.DURATION,
                SimpleType.INT, SimpleType.NULL_TYPE, SimpleType.STRING, SimpleType.TIMESTAMP, SimpleType.UINT));
        Set<Class<?>> typeClasses = new HashSet<>();
        types.forEach(t -> typeClasses.add(t.getClass().getSuperclass()));
        assertThat(typeClasses).as("kinds of types covered").containsAll(List.of(SimpleType.class, ListType.class,
                MapType.class, OpaqueType.class, OptionalType.class, TypeType.class, TypeParamType.class,
                StructTypeReference.class, NullableType.class));
        assertThat(types).as("an opaque type named like the optional type, which is another class")
                .contains(OpaqueType.create("optional_type", SimpleType.STRING), ListType.create());
    }

    /** An AST with what no checker here produces: a constant without value, a list type without element type. */
    static CelAbstractSyntaxTree handBuilt() {
        CelExpr expr = CelExpr.ofCall(1, Optional.empty(), "f", ImmutableList.of(
                CelExpr.ofConstant(2, CelConstant.ofNotSet()),
                CelExpr.ofConstant(3, CelConstant.ofValue(CelByteString.of(new byte[] {0, -1}))),
                CelExpr.ofConstant(-4, CelConstant.ofValue(Double.NaN)),
                CelExpr.ofConstant(Long.MAX_VALUE, CelConstant.ofValue(Long.MIN_VALUE))));
        CelSource source = CelSource.newBuilder("f(x)\n\ny").setDescription("hand")
                .addPositions(1, 1).addPositions(2, Integer.MAX_VALUE).addPositions(-4, -1)
                .addAllExtensions(CelSource.Extension.create("ext", CelSource.Extension.Version.of(1, -2),
                        CelSource.Extension.Component.COMPONENT_RUNTIME,
                        CelSource.Extension.Component.COMPONENT_PARSER))
                .addAllExtensions(CelSource.Extension.create("other", CelSource.Extension.Version.of(0, 0)))
                .build();
        Map<Long, CelType> types = new LinkedHashMap<>();
        types.put(1L, TypeParamType.create("T"));
        types.put(2L, ListType.create());
        types.put(3L, MapType.create(NullableType.create(SimpleType.UINT),
                TypeType.create(OpaqueType.create("o", SimpleType.ERROR, StructTypeReference.create("m")))));
        types.put(-4L, OpaqueType.create("none"));
        types.put(Long.MAX_VALUE, OptionalType.create(ListType.create(TypeParamType.create("U"))));
        Map<Long, CelReference> references = Map.of(
                1L, CelReference.newBuilder().setName("f").addOverloadIds("f_a", "f_b").build(),
                2L, CelReference.newBuilder().setName("e").setValue(CelConstant.ofValue("v")).build());
        return CelAbstractSyntaxTree.newCheckedAst(expr, source, references, types);
    }

    /** The AST with its protobuf message types named, as cel-java's protobuf form reads them back. */
    static CelAbstractSyntaxTree withStructReferences(CelAbstractSyntaxTree ast) {
        Map<Long, CelType> types = new LinkedHashMap<>();
        ast.getTypeMap().forEach((id, t) -> types.put(id, t.kind() == CelKind.STRUCT
                ? StructTypeReference.create(t.name()) : t));
        return CelAbstractSyntaxTree.newCheckedAst(ast.getExpr(), ast.getSource(), ast.getReferenceMap(), types);
    }

    static void collect(CelExpr e, List<CelExpr> out) {
        out.add(e);
        switch (e.getKind()) {
            case SELECT -> collect(e.select().operand(), out);
            case CALL -> {
                e.call().target().ifPresent(t -> collect(t, out));
                e.call().args().forEach(a -> collect(a, out));
            }
            case LIST -> e.list().elements().forEach(x -> collect(x, out));
            case STRUCT -> e.struct().entries().forEach(x -> collect(x.value(), out));
            case MAP -> e.map().entries().forEach(x -> {
                collect(x.key(), out);
                collect(x.value(), out);
            });
            case COMPREHENSION -> {
                CelExpr.CelComprehension c = e.comprehension();
                List.of(c.iterRange(), c.accuInit(), c.loopCondition(), c.loopStep(), c.result())
                        .forEach(x -> collect(x, out));
            }
            default -> {
                // a leaf
            }
        }
    }

    static void collect(CelType t, Set<CelType> out) {
        out.add(t);
        t.parameters().forEach(p -> collect(p, out));
        if (t instanceof NullableType n) {
            collect(n.targetType(), out);
        }
    }

    static Map<String, Object> activation() throws IOException {
        Map<String, Object> activation = new TreeMap<>();
        activation.put("object", PolicyEngineTest.MAPPER.readValue(POD, new TypeReference<Map<String, Object>>() {
        }));
        activation.put("request", Map.of("userInfo", Map.of("username", "system:admin")));
        activation.put("variables", Map.of());
        activation.put("egressguard", Map.of("hosts", List.of("a.example.com")));
        return activation;
    }

    /** The error of an evaluation. */
    record Failure(String message) {
    }

    /** The value of an expression, or its {@link Failure}. */
    static Object evaluate(Cel cel, CelAbstractSyntaxTree ast, Map<String, Object> activation) {
        try {
            return cel.createProgram(ast).eval(activation);
        } catch (CelEvaluationException e) {
            return new Failure(e.getMessage());
        }
    }

    @Test
    void whatCannotBeStoredExactlyIsRefused() throws Exception {
        CelAbstractSyntaxTree struct = EXTENDED.compile("cel.expr.Constant{int64_value: 1}").getAst();
        assertThatThrownBy(() -> AstCodec.encode(struct)).as("message types are equal only to themselves")
                .isInstanceOf(IllegalArgumentException.class);
        CelAbstractSyntaxTree base = compiler().check("1");
        assertThatThrownBy(() -> AstCodec.encode(replace(base, CelConstant.ofValue(Timestamp.getDefaultInstance()))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AstCodec.encode(replace(base, CelConstant.ofValue("\ud800"))))
                .as("not valid UTF-16").isInstanceOf(IllegalArgumentException.class);
        CelExpr deep = CelExpr.ofIdent(1, "x");
        for (int i = 0; i < AstCodec.MAX_DEPTH; i++) {
            deep = CelExpr.ofSelect(i + 2, deep, "f", false);
        }
        CelAbstractSyntaxTree deepest = CelAbstractSyntaxTree.newParsedAst(deep, CelSource.newBuilder("x").build());
        assertThat(roundTrip(deepest)).isEqualTo(deepest);
        CelAbstractSyntaxTree tooDeep = CelAbstractSyntaxTree.newParsedAst(CelExpr.ofSelect(0, deep, "f", false),
                CelSource.newBuilder("x").build());
        assertThatThrownBy(() -> AstCodec.encode(tooDeep)).isInstanceOf(IllegalArgumentException.class);
    }

    static CelAbstractSyntaxTree replace(CelAbstractSyntaxTree ast, CelConstant constant) {
        return CelAbstractSyntaxTree.newCheckedAst(CelExpr.ofConstant(ast.getExpr().id(), constant),
                ast.getSource(), ast.getReferenceMap(), ast.getTypeMap());
    }

    @Test
    void anExpressionThatCannotBeStoredIsLeftOutOfTheTable() throws Exception {
        PolicyCompiler compiler = compiler();
        byte[] fingerprint = PrecompiledExpressions.fingerprint(compiler.cel());
        String stored = "object.spec.hostNetwork == true";
        String refused = "cel.expr.Constant{int64_value: 1}";
        byte[] table = PrecompiledExpressions.write(fingerprint, Map.of(stored, compiler.check(stored),
                refused, EXTENDED.compile(refused).getAst()));
        PrecompiledExpressions read = PrecompiledExpressions.read(new ByteArrayInputStream(table),
                fingerprint);
        assertThat(read.size()).isEqualTo(1);
        assertThat(read.find(stored)).isEqualTo(compiler.check(stored));
        assertThat(read.find(refused)).isNull();
    }

    @Test
    void anotherTextIsRefused() throws Exception {
        String text = "object.spec.hostNetwork == true";
        byte[] bytes = AstCodec.encode(compiler().check(text));
        assertThatThrownBy(() -> AstCodec.decode(bytes, text + " ")).isInstanceOf(IOException.class);
    }

    /** A text and its stored AST. */
    record Sample(String text, byte[] bytes) {
    }

    /** Encodings of the hand-written expressions, to damage. */
    static List<Sample> samples() throws Exception {
        List<Sample> out = new ArrayList<>();
        PolicyCompiler compiler = compiler();
        for (String text : POLICY_EXPRESSIONS) {
            out.add(new Sample(text, AstCodec.encode(compiler.check(text))));
        }
        for (String text : EXTENDED_EXPRESSIONS) {
            out.add(new Sample(text, AstCodec.encode(EXTENDED.compile(text).getAst())));
        }
        CelAbstractSyntaxTree handBuilt = handBuilt();
        out.add(new Sample(handBuilt.getSource().getContent().toString(), AstCodec.encode(handBuilt)));
        return out;
    }

    @Test
    void damagedBytesFailWithIOException() throws Exception {
        List<Sample> samples = samples();
        Random random = new Random(20240601);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (Sample s : samples) {
                byte[] sample = s.bytes();
                String text = s.text();
                assertThat(AstCodec.decode(sample, text)).isNotNull();
                for (int length = 0; length < sample.length; length++) {
                    byte[] truncated = Arrays.copyOf(sample, length);
                    assertThatThrownBy(() -> AstCodec.decode(truncated, text)).isInstanceOf(IOException.class);
                }
                for (int i = 0; i < 200; i++) {
                    byte[] flipped = sample.clone();
                    int bit = random.nextInt(flipped.length * 8);
                    flipped[bit / 8] ^= (byte) (1 << bit % 8);
                    assertThatThrownBy(() -> AstCodec.decode(flipped, text)).isInstanceOf(IOException.class);
                }
            }
            for (int i = 0; i < 2000; i++) {
                byte[] garbage = new byte[random.nextInt(300)];
                random.nextBytes(garbage);
                assertThatThrownBy(() -> AstCodec.decode(garbage, "x")).isInstanceOf(IOException.class);
            }
        });
    }

    /**
     * Damage that the checksum does not see (it is recomputed): every read is still bounds-checked, so the result is
     * an {@link IOException} or some AST, never another exception, a hang or an exhausted heap.
     */
    @Test
    void damageUnderAValidChecksumNeverHangsNorThrowsUnchecked() throws Exception {
        List<Sample> samples = samples();
        Random random = new Random(7);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (Sample s : samples) {
                for (int i = 0; i < 1500; i++) {
                    byte[] damaged = damage(s.bytes(), random);
                    seal(damaged);
                    try {
                        AstCodec.decode(damaged, s.text());
                        outcomes[0]++;
                    } catch (IOException e) {
                        outcomes[1]++;
                    }
                }
            }
        });
        assertThat(outcomes[1]).as("rejected").isGreaterThan(outcomes[0]);
    }

    /** One to three random changes: a bit flipped, a byte replaced, inserted or removed, or a large varint. */
    static byte[] damage(byte[] sample, Random random) {
        byte[] out = sample.clone();
        for (int n = 1 + random.nextInt(3); n > 0; n--) {
            int at = AstCodec.HEADER + random.nextInt(out.length - AstCodec.HEADER);
            switch (random.nextInt(5)) {
                case 0 -> out[at] ^= (byte) (1 << random.nextInt(8));
                case 1 -> out[at] = (byte) random.nextInt(256);
                case 2 -> out = splice(out, at, 0, new byte[] {(byte) random.nextInt(256)});
                case 3 -> out = out.length > AstCodec.HEADER + 1 ? splice(out, at, 1, new byte[0]) : out;
                default -> out = splice(out, at, 1, new byte[] {-1, -1, -1, -1, 7});
            }
        }
        return out;
    }

    static byte[] splice(byte[] in, int at, int remove, byte[] insert) {
        byte[] out = new byte[in.length - remove + insert.length];
        System.arraycopy(in, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(in, at + remove, out, at + insert.length, in.length - at - remove);
        return out;
    }

    /** Puts a valid checksum on damaged bytes. */
    static void seal(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes, AstCodec.HEADER, bytes.length - AstCodec.HEADER);
        int value = (int) crc.getValue();
        for (int i = 0; i < 4; i++) {
            bytes[1 + i] = (byte) (value >>> (24 - 8 * i));
        }
    }

    @Test
    void nestingBeyondTheLimitFailsWithIOException() {
        // version, checksum, text of 1 code point, strings [""], no types, no references, description ""
        List<Integer> body = new ArrayList<>(List.of(1, 1, 0, 0, 0, 0));
        for (int i = 0; i < 100_000; i++) {
            body.addAll(List.of(3, 2, 0)); // select of field "" on the next node, id + 1
        }
        byte[] bytes = new byte[AstCodec.HEADER + body.size()];
        bytes[0] = 1;
        for (int i = 0; i < body.size(); i++) {
            bytes[AstCodec.HEADER + i] = body.get(i).byteValue();
        }
        seal(bytes);
        assertThatThrownBy(() -> AstCodec.decode(bytes, "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("nested");

        // a call claiming more arguments than the input holds
        byte[] call = {1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 4, 2, 0, (byte) 0xff, (byte) 0xff, 0x7f};
        seal(call);
        assertThatThrownBy(() -> AstCodec.decode(call, "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("exceeds");
    }
}
