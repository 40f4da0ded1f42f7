package io.egressguard.policy;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.primitives.UnsignedLong;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelProtoAbstractSyntaxTree;
import dev.cel.common.CelSource;
import dev.cel.common.ast.CelConstant;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelReference;
import dev.cel.common.internal.CelCodePointArray;
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
import dev.cel.common.values.NullValue;
import dev.cel.expr.SourceInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * A compact binary form of a checked CEL AST, for the build's table of precompiled expressions ({@link
 * PrecompiledExpressions}). Reading it back is on the path to a server's readiness, and cel-java's own serialized
 * form ({@code CheckedExpr} protobufs, converted by {@code CelProtoAbstractSyntaxTree}) costs more there than
 * everything else of loading the built-in policies: protobuf parsing of the per-node type and reference maps, the
 * JIT compilation of that parser, and the conversion to cel-java's AST objects. This form is read in one pass that
 * builds those objects directly.
 *
 * <p>Layout: a version byte, a CRC32 of the rest, then the number of code points of the source text, a table of
 * distinct strings, a table of distinct types (each one's parameters precede it), a table of distinct references, the
 * source's description, the expression tree in preorder, the type map, the reference map, the source positions, the
 * macro calls and the source extensions. Numbers are varints; expression ids are deltas (zigzag) from the id read
 * before, positions from the position before. The source text itself is not stored: the caller passes it back, as it
 * is the key of the stored form, and so are its line offsets, which cel-java computes from it.
 *
 * <p>{@link #encode} refuses (with {@link IllegalArgumentException}) an AST that it cannot represent exactly, which it
 * finds out by decoding its result and comparing: types with identity equality such as protobuf message or enum
 * types, deprecated timestamp and duration constants, strings that are not valid UTF-16. {@link #decode} fails with
 * {@link IOException} on any corruption: lengths and indexes are bounds-checked before use and nesting is limited,
 * so that garbage neither hangs it nor makes it allocate more than the input's size suggests. Any change of this
 * layout must also change {@link PrecompiledExpressions#FORMAT}.
 */
final class AstCodec {

    private static final int VERSION = 1;
    /** Version byte and checksum. */
    static final int HEADER = 5;
    /**
     * Deepest node (the root is at 0) read or written: far deeper than policies go (the built-in ones reach 30), and
     * shallow enough for the recursive reader on a thread's default stack.
     */
    static final int MAX_DEPTH = 300;

    // expression kinds, in the low four bits of a node's tag
    private static final int NOT_SET = 0;
    private static final int CONSTANT = 1;
    private static final int IDENT = 2;
    private static final int SELECT = 3;
    private static final int CALL = 4;
    private static final int LIST = 5;
    private static final int STRUCT = 6;
    private static final int MAP = 7;
    private static final int COMPREHENSION = 8;
    /** Flag of a select node (test-only) or a call node (has a target), above the kind. */
    private static final int FLAG = 0x10;

    // constant kinds, above the kind in a constant node's tag and alone in a reference's value
    private static final int C_NOT_SET = 0;
    private static final int C_NULL = 1;
    private static final int C_FALSE = 2;
    private static final int C_TRUE = 3;
    private static final int C_INT = 4;
    private static final int C_UINT = 5;
    private static final int C_DOUBLE = 6;
    private static final int C_STRING = 7;
    private static final int C_BYTES = 8;

    /** Type tags below {@link #T_LIST_UNTYPED} are indexes into this list; the other tags follow. */
    private static final List<CelType> SIMPLE_TYPES = List.of(SimpleType.ERROR, SimpleType.DYN, SimpleType.ANY,
            SimpleType.BOOL, SimpleType.BYTES, SimpleType.DOUBLE, SimpleType.DURATION, SimpleType.INT,
            SimpleType.NULL_TYPE, SimpleType.STRING, SimpleType.TIMESTAMP, SimpleType.UINT);
    private static final int T_LIST_UNTYPED = 12;
    private static final int T_LIST = 13;
    private static final int T_MAP = 14;
    private static final int T_OPTIONAL = 15;
    private static final int T_OPAQUE = 16;
    private static final int T_TYPE = 17;
    private static final int T_TYPE_PARAM = 18;
    private static final int T_STRUCT_REFERENCE = 19;
    private static final int T_NULLABLE = 20;

    private static final CelSource.Extension.Component[] COMPONENTS = CelSource.Extension.Component.values();

    private AstCodec() {
    }

    /**
     * The stored form of an AST.
     *
     * @throws IllegalArgumentException if the AST has anything that would not be read back equal
     */
    static byte[] encode(CelAbstractSyntaxTree ast) {
        CelSource source = ast.getSource();
        String text = source.getContent().toString();
        Encoder e = new Encoder();
        Bytes body = e.body;
        body.varint(e.string(source.getDescription()));
        e.expr(ast.getExpr(), 0);
        body.varint(ast.getTypeMap().size());
        ast.getTypeMap().forEach((id, type) -> {
            e.id(id);
            body.varint(e.type(type));
        });
        body.varint(ast.getReferenceMap().size());
        ast.getReferenceMap().forEach((id, reference) -> {
            e.id(id);
            body.varint(e.reference(reference));
        });
        body.varint(source.getPositionsMap().size());
        long lastPosition = 0;
        for (Map.Entry<Long, Integer> position : source.getPositionsMap().entrySet()) {
            e.id(position.getKey());
            body.zigzag(position.getValue() - lastPosition);
            lastPosition = position.getValue();
        }
        body.varint(source.getMacroCalls().size());
        source.getMacroCalls().forEach((id, call) -> {
            e.id(id);
            e.expr(call, 0);
        });
        List<SourceInfo.Extension> extensions = extensions(source);
        body.varint(extensions.size());
        for (SourceInfo.Extension x : extensions) {
            body.varint(e.string(x.getId()));
            body.zigzag(x.getVersion().getMajor());
            body.zigzag(x.getVersion().getMinor());
            body.varint(x.getAffectedComponentsCount());
            for (SourceInfo.Extension.Component c : x.getAffectedComponentsList()) {
                body.varint(CelSource.Extension.Component.valueOf(c.name()).ordinal());
            }
        }

        Bytes out = new Bytes();
        out.bytes(new byte[HEADER], HEADER);
        out.varint(source.getContent().size());
        out.varint(e.strings.size());
        for (String s : e.strings.keySet()) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            out.varint(utf8.length);
            out.bytes(utf8, utf8.length);
        }
        out.varint(e.types.size());
        out.bytes(e.typeTable);
        out.varint(e.references.size());
        out.bytes(e.referenceTable);
        out.bytes(body);
        byte[] bytes = Arrays.copyOf(out.buffer, out.length);
        bytes[0] = VERSION;
        writeInt(bytes, 1, checksum(bytes));

        CelAbstractSyntaxTree back;
        try {
            back = decode(bytes, text);
        } catch (IOException x) {
            throw new IllegalArgumentException("not readable back: " + x.getMessage(), x);
        }
        if (!back.equals(ast)) {
            throw new IllegalArgumentException("not represented exactly (types with identity equality, "
                    + "strings that are not valid UTF-16 or the like)");
        }
        return bytes;
    }

    /** The source's extensions, whose fields cel-java makes public only in its protobuf form. */
    private static List<SourceInfo.Extension> extensions(CelSource source) {
        if (source.getExtensions().isEmpty()) {
            return List.of();
        }
        CelSource only = CelSource.newBuilder().addAllExtensions(source.getExtensions()).build();
        return CelProtoAbstractSyntaxTree.fromCelAst(CelAbstractSyntaxTree.newParsedAst(CelExpr.ofNotSet(0), only))
                .getSourceInfo().getExtensionsList();
    }

    /**
     * Reads an AST stored by {@link #encode}.
     *
     * @param text the source text of the stored AST
     * @throws IOException if the bytes are not an AST stored by this version, or not one of this text's length
     */
    static CelAbstractSyntaxTree decode(byte[] bytes, String text) throws IOException {
        if (bytes.length < HEADER || bytes[0] != VERSION) {
            throw new IOException("not a stored AST of version " + VERSION);
        }
        if (readInt(bytes, 1) != checksum(bytes)) {
            throw new IOException("checksum mismatch");
        }
        return new Reader(bytes).ast(text);
    }

    /** CRC32 of everything after the header. */
    static int checksum(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes, HEADER, bytes.length - HEADER);
        return (int) crc.getValue();
    }

    private static void writeInt(byte[] bytes, int at, int value) {
        for (int i = 0; i < 4; i++) {
            bytes[at + i] = (byte) (value >>> (24 - 8 * i));
        }
    }

    private static int readInt(byte[] bytes, int at) {
        int value = 0;
        for (int i = 0; i < 4; i++) {
            value = value << 8 | bytes[at + i] & 0xff;
        }
        return value;
    }

    /** A growing byte buffer with varints. */
    private static final class Bytes {
        byte[] buffer = new byte[128];
        int length;

        void byte1(int b) {
            if (length == buffer.length) {
                buffer = Arrays.copyOf(buffer, buffer.length * 2);
            }
            buffer[length++] = (byte) b;
        }

        void bytes(byte[] b, int count) {
            if (length + count > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + count));
            }
            System.arraycopy(b, 0, buffer, length, count);
            length += count;
        }

        void bytes(Bytes b) {
            bytes(b.buffer, b.length);
        }

        void varint(long value) {
            while ((value & ~0x7fL) != 0) {
                byte1((int) (value & 0x7f) | 0x80);
                value >>>= 7;
            }
            byte1((int) value);
        }

        void zigzag(long value) {
            varint(value << 1 ^ value >> 63);
        }
    }

    /** Writes the body of one AST, collecting its distinct strings, types and references in tables as it goes. */
    private static final class Encoder {
        final Bytes body = new Bytes();
        final Bytes typeTable = new Bytes();
        final Bytes referenceTable = new Bytes();
        final Map<String, Integer> strings = new LinkedHashMap<>();
        final Map<CelType, Integer> types = new HashMap<>();
        final Map<CelReference, Integer> references = new HashMap<>();
        long lastId;

        int string(String s) {
            return strings.computeIfAbsent(s, k -> strings.size());
        }

        void id(long id) {
            body.zigzag(id - lastId);
            lastId = id;
        }

        void expr(CelExpr e, int depth) {
            if (depth > MAX_DEPTH) {
                throw new IllegalArgumentException("expression nested deeper than " + MAX_DEPTH);
            }
            switch (e.getKind()) {
                case NOT_SET -> {
                    body.byte1(NOT_SET);
                    id(e.id());
                }
                case CONSTANT -> {
                    body.byte1(CONSTANT | constantKind(e.constant()) << 4);
                    id(e.id());
                    constantValue(body, e.constant());
                }
                case IDENT -> {
                    body.byte1(IDENT);
                    id(e.id());
                    body.varint(string(e.ident().name()));
                }
                case SELECT -> {
                    body.byte1(SELECT | (e.select().testOnly() ? FLAG : 0));
                    id(e.id());
                    body.varint(string(e.select().field()));
                    expr(e.select().operand(), depth + 1);
                }
                case CALL -> {
                    CelExpr.CelCall call = e.call();
                    body.byte1(CALL | (call.target().isPresent() ? FLAG : 0));
                    id(e.id());
                    body.varint(string(call.function()));
                    body.varint(call.args().size());
                    if (call.target().isPresent()) {
                        expr(call.target().get(), depth + 1);
                    }
                    call.args().forEach(a -> expr(a, depth + 1));
                }
                case LIST -> {
                    body.byte1(LIST);
                    id(e.id());
                    body.varint(e.list().elements().size());
                    body.varint(e.list().optionalIndices().size());
                    for (int i : e.list().optionalIndices()) {
                        if (i < 0) {
                            throw new IllegalArgumentException("negative optional index");
                        }
                        body.varint(i);
                    }
                    e.list().elements().forEach(x -> expr(x, depth + 1));
                }
                case STRUCT -> {
                    body.byte1(STRUCT);
                    id(e.id());
                    body.varint(string(e.struct().messageName()));
                    body.varint(e.struct().entries().size());
                    for (CelExpr.CelStruct.Entry entry : e.struct().entries()) {
                        id(entry.id());
                        body.byte1(entry.optionalEntry() ? 1 : 0);
                        body.varint(string(entry.fieldKey()));
                        expr(entry.value(), depth + 1);
                    }
                }
                case MAP -> {
                    body.byte1(MAP);
                    id(e.id());
                    body.varint(e.map().entries().size());
                    for (CelExpr.CelMap.Entry entry : e.map().entries()) {
                        id(entry.id());
                        body.byte1(entry.optionalEntry() ? 1 : 0);
                        expr(entry.key(), depth + 1);
                        expr(entry.value(), depth + 1);
                    }
                }
                case COMPREHENSION -> {
                    CelExpr.CelComprehension c = e.comprehension();
                    body.byte1(COMPREHENSION);
                    id(e.id());
                    body.varint(string(c.iterVar()));
                    body.varint(string(c.iterVar2()));
                    body.varint(string(c.accuVar()));
                    expr(c.iterRange(), depth + 1);
                    expr(c.accuInit(), depth + 1);
                    expr(c.loopCondition(), depth + 1);
                    expr(c.loopStep(), depth + 1);
                    expr(c.result(), depth + 1);
                }
            }
        }

        static int constantKind(CelConstant c) {
            return switch (c.getKind()) {
                case NOT_SET -> C_NOT_SET;
                case NULL_VALUE -> C_NULL;
                case BOOLEAN_VALUE -> c.booleanValue() ? C_TRUE : C_FALSE;
                case INT64_VALUE -> C_INT;
                case UINT64_VALUE -> C_UINT;
                case DOUBLE_VALUE -> C_DOUBLE;
                case STRING_VALUE -> C_STRING;
                case BYTES_VALUE -> C_BYTES;
                case TIMESTAMP_VALUE, DURATION_VALUE ->
                        throw new IllegalArgumentException("deprecated constant kind " + c.getKind());
            };
        }

        /** The value of a constant, which follows its kind; nothing for the kinds that say it all. */
        void constantValue(Bytes out, CelConstant c) {
            switch (c.getKind()) {
                case INT64_VALUE -> out.zigzag(c.int64Value());
                case UINT64_VALUE -> out.varint(c.uint64Value().longValue());
                case DOUBLE_VALUE -> {
                    long bits = Double.doubleToRawLongBits(c.doubleValue());
                    for (int i = 0; i < 8; i++) {
                        out.byte1((int) (bits >>> (56 - 8 * i)));
                    }
                }
                case STRING_VALUE -> out.varint(string(c.stringValue()));
                case BYTES_VALUE -> {
                    byte[] b = c.bytesValue().toByteArray();
                    out.varint(b.length);
                    out.bytes(b, b.length);
                }
                default -> {
                    // the kind is the value
                }
            }
        }

        /** Index of a type in the type table, adding it, after its parameters, when new. */
        int type(CelType t) {
            Integer known = types.get(t);
            if (known != null) {
                return known;
            }
            Bytes out = typeTable;
            int simple = SIMPLE_TYPES.indexOf(t);
            if (simple >= 0) {
                out.byte1(simple);
            } else if (t instanceof ListType list && !list.hasElemType()) {
                out.byte1(T_LIST_UNTYPED);
            } else if (t instanceof ListType list) {
                int elem = type(list.elemType());
                out.byte1(T_LIST);
                out.varint(elem);
            } else if (t instanceof MapType map) {
                int key = type(map.keyType());
                int value = type(map.valueType());
                out.byte1(T_MAP);
                out.varint(key);
                out.varint(value);
            } else if (t instanceof OptionalType optional) {
                int value = type(optional.parameters().get(0));
                out.byte1(T_OPTIONAL);
                out.varint(value);
            } else if (t instanceof OpaqueType opaque) {
                int[] parameters = opaque.parameters().stream().mapToInt(this::type).toArray();
                out.byte1(T_OPAQUE);
                out.varint(string(opaque.name()));
                out.varint(parameters.length);
                for (int p : parameters) {
                    out.varint(p);
                }
            } else if (t instanceof TypeType type) {
                int value = type(type.type());
                out.byte1(T_TYPE);
                out.varint(value);
            } else if (t instanceof TypeParamType param) {
                out.byte1(T_TYPE_PARAM);
                out.varint(string(param.name()));
            } else if (t instanceof StructTypeReference struct) {
                out.byte1(T_STRUCT_REFERENCE);
                out.varint(string(struct.name()));
            } else if (t instanceof NullableType nullable) {
                int target = type(nullable.targetType());
                out.byte1(T_NULLABLE);
                out.varint(target);
            } else {
                throw new IllegalArgumentException("type " + t + " (" + t.getClass().getName()
                        + ") has no stored form");
            }
            int index = types.size();
            types.put(t, index);
            return index;
        }

        /** Index of a reference in the reference table, adding it when new. */
        int reference(CelReference r) {
            Integer known = references.get(r);
            if (known != null) {
                return known;
            }
            Bytes out = referenceTable;
            out.varint(string(r.name()));
            out.varint((long) r.overloadIds().size() << 1 | (r.value().isPresent() ? 1 : 0));
            for (String overload : r.overloadIds()) {
                out.varint(string(overload));
            }
            if (r.value().isPresent()) {
                out.byte1(constantKind(r.value().get()));
                constantValue(out, r.value().get());
            }
            int index = references.size();
            references.put(r, index);
            return index;
        }
    }

    /** Reads one stored AST, checking every length, index and count against what is left of the input. */
    private static final class Reader {
        final byte[] in;
        int at = HEADER;
        long lastId;
        String[] strings;
        CelType[] types;
        CelReference[] references;

        Reader(byte[] in) {
            this.in = in;
        }

        CelAbstractSyntaxTree ast(String text) throws IOException {
            CelCodePointArray codePoints = CelCodePointArray.fromString(text);
            if (count(0) != codePoints.size()) {
                throw new IOException("stored for a text of another length");
            }
            strings = new String[count(1)];
            for (int i = 0; i < strings.length; i++) {
                int length = count(1);
                strings[i] = new String(in, at, length, StandardCharsets.UTF_8);
                at += length;
            }
            types = new CelType[count(1)];
            for (int i = 0; i < types.length; i++) {
                types[i] = type(i);
            }
            references = new CelReference[count(1)];
            for (int i = 0; i < references.length; i++) {
                references[i] = reference();
            }
            CelSource.Builder source = CelSource.newBuilder(codePoints).setDescription(string());
            CelExpr expr = expr(0);
            ImmutableMap<Long, CelType> typeMap;
            ImmutableMap<Long, CelReference> referenceMap;
            try {
                int count = count(2);
                ImmutableMap.Builder<Long, CelType> typeBuilder = ImmutableMap.builderWithExpectedSize(count);
                for (int i = 0; i < count; i++) {
                    typeBuilder.put(id(), types[index(types.length)]);
                }
                typeMap = typeBuilder.buildOrThrow();
                count = count(2);
                ImmutableMap.Builder<Long, CelReference> referenceBuilder =
                        ImmutableMap.builderWithExpectedSize(count);
                for (int i = 0; i < count; i++) {
                    referenceBuilder.put(id(), references[index(references.length)]);
                }
                referenceMap = referenceBuilder.buildOrThrow();
            } catch (IllegalArgumentException e) {
                throw new IOException("an id twice in a map", e);
            }
            int positions = count(2);
            long position = 0;
            for (int i = 0; i < positions; i++) {
                long id = id();
                position += zigzag();
                if (position != (int) position) {
                    throw new IOException("position out of range");
                }
                source.addPositions(id, (int) position);
            }
            int macroCalls = count(2);
            for (int i = 0; i < macroCalls; i++) {
                long id = id();
                source.addMacroCalls(id, expr(0));
            }
            int extensions = count(4);
            List<CelSource.Extension> list = new ArrayList<>(extensions);
            for (int i = 0; i < extensions; i++) {
                String id = string();
                CelSource.Extension.Version version = CelSource.Extension.Version.of(zigzag(), zigzag());
                int components = count(1);
                List<CelSource.Extension.Component> affected = new ArrayList<>(components);
                for (int j = 0; j < components; j++) {
                    affected.add(COMPONENTS[index(COMPONENTS.length)]);
                }
                list.add(CelSource.Extension.create(id, version, affected));
            }
            source.addAllExtensions(list);
            if (at != in.length) {
                throw new IOException("trailing bytes");
            }
            CelSource built = source.build();
            if (built.getPositionsMap().size() != positions || built.getMacroCalls().size() != macroCalls
                    || built.getExtensions().size() != extensions) {
                throw new IOException("an id twice in the source information");
            }
            return CelAbstractSyntaxTree.newCheckedAst(expr, built, referenceMap, typeMap);
        }

        int u8() throws IOException {
            if (at >= in.length) {
                throw new IOException("truncated");
            }
            return in[at++] & 0xff;
        }

        long varint() throws IOException {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = u8();
                value |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    if (shift == 63 && b > 1) {
                        break;
                    }
                    return value;
                }
            }
            throw new IOException("malformed varint");
        }

        long zigzag() throws IOException {
            long v = varint();
            return v >>> 1 ^ -(v & 1);
        }

        long id() throws IOException {
            lastId += zigzag();
            return lastId;
        }

        /**
         * A count of items that take at least {@code bytesEach} bytes each, so that no count exceeds what the input
         * can hold; with 0, any non-negative int.
         */
        int count(int bytesEach) throws IOException {
            long n = varint();
            long limit = bytesEach == 0 ? Integer.MAX_VALUE : (in.length - at) / bytesEach;
            if (n < 0 || n > limit) {
                throw new IOException("count " + n + " exceeds the input");
            }
            return (int) n;
        }

        int index(int size) throws IOException {
            long i = varint();
            if (i < 0 || i >= size) {
                throw new IOException("index " + i + " out of range " + size);
            }
            return (int) i;
        }

        String string() throws IOException {
            return strings[index(strings.length)];
        }

        /** Type {@code i} of the table: parameters refer to earlier ones only. */
        CelType type(int i) throws IOException {
            int tag = u8();
            if (tag < T_LIST_UNTYPED) {
                return SIMPLE_TYPES.get(tag);
            }
            return switch (tag) {
                case T_LIST_UNTYPED -> ListType.create();
                case T_LIST -> ListType.create(types[index(i)]);
                case T_MAP -> {
                    CelType key = types[index(i)];
                    yield MapType.create(key, types[index(i)]);
                }
                case T_OPTIONAL -> OptionalType.create(types[index(i)]);
                case T_OPAQUE -> {
                    String name = string();
                    int count = count(1);
                    ImmutableList.Builder<CelType> parameters = ImmutableList.builderWithExpectedSize(count);
                    for (int p = 0; p < count; p++) {
                        parameters.add(types[index(i)]);
                    }
                    yield OpaqueType.create(name, parameters.build());
                }
                case T_TYPE -> TypeType.create(types[index(i)]);
                case T_TYPE_PARAM -> TypeParamType.create(string());
                case T_STRUCT_REFERENCE -> StructTypeReference.create(string());
                case T_NULLABLE -> NullableType.create(types[index(i)]);
                default -> throw new IOException("unknown type tag " + tag);
            };
        }

        CelReference reference() throws IOException {
            CelReference.Builder r = CelReference.newBuilder().setName(string());
            long shape = varint();
            if (shape < 0 || shape >>> 1 > in.length - at) {
                throw new IOException("count exceeds the input");
            }
            int overloads = (int) (shape >>> 1);
            for (int i = 0; i < overloads; i++) {
                r.addOverloadIds(string());
            }
            if ((shape & 1) != 0) {
                if (overloads > 0) {
                    throw new IOException("a reference with both a value and overloads");
                }
                r.setValue(constant(u8()));
            }
            return r.build();
        }

        CelConstant constant(int kind) throws IOException {
            return switch (kind) {
                case C_NOT_SET -> CelConstant.ofNotSet();
                case C_NULL -> CelConstant.ofValue(NullValue.NULL_VALUE);
                case C_FALSE -> CelConstant.ofValue(false);
                case C_TRUE -> CelConstant.ofValue(true);
                case C_INT -> CelConstant.ofValue(zigzag());
                case C_UINT -> CelConstant.ofValue(UnsignedLong.fromLongBits(varint()));
                case C_DOUBLE -> {
                    long bits = 0;
                    for (int i = 0; i < 8; i++) {
                        bits = bits << 8 | u8();
                    }
                    yield CelConstant.ofValue(Double.longBitsToDouble(bits));
                }
                case C_STRING -> CelConstant.ofValue(string());
                case C_BYTES -> {
                    int length = count(1);
                    byte[] b = Arrays.copyOfRange(in, at, at + length);
                    at += length;
                    yield CelConstant.ofValue(CelByteString.of(b));
                }
                default -> throw new IOException("unknown constant kind " + kind);
            };
        }

        CelExpr expr(int depth) throws IOException {
            if (depth > MAX_DEPTH) {
                throw new IOException("expression nested deeper than " + MAX_DEPTH);
            }
            int tag = u8();
            long id = id();
            int kind = tag & 0xf;
            if (kind != CONSTANT && (tag & ~(kind == SELECT || kind == CALL ? FLAG | 0xf : 0xf)) != 0) {
                throw new IOException("unknown flags in tag " + tag);
            }
            return switch (kind) {
                case NOT_SET -> CelExpr.ofNotSet(id);
                case CONSTANT -> CelExpr.ofConstant(id, constant(tag >>> 4));
                case IDENT -> CelExpr.ofIdent(id, string());
                case SELECT -> {
                    String field = string();
                    yield CelExpr.ofSelect(id, expr(depth + 1), field, (tag & FLAG) != 0);
                }
                case CALL -> {
                    String function = string();
                    int count = count(2);
                    Optional<CelExpr> target = (tag & FLAG) != 0 ? Optional.of(expr(depth + 1)) : Optional.empty();
                    yield CelExpr.ofCall(id, target, function, exprs(count, depth + 1));
                }
                case LIST -> {
                    int count = count(2);
                    int optional = count(1);
                    ImmutableList.Builder<Integer> indices = ImmutableList.builderWithExpectedSize(presize(optional));
                    for (int i = 0; i < optional; i++) {
                        indices.add(count(0));
                    }
                    yield CelExpr.ofList(id, exprs(count, depth + 1), indices.build());
                }
                case STRUCT -> {
                    String message = string();
                    int count = count(5);
                    ImmutableList.Builder<CelExpr.CelStruct.Entry> entries = ImmutableList.builderWithExpectedSize(
                            presize(count));
                    for (int i = 0; i < count; i++) {
                        long entryId = id();
                        boolean optional = flag();
                        String field = string();
                        entries.add(CelExpr.ofStructEntry(entryId, field, expr(depth + 1), optional));
                    }
                    yield CelExpr.ofStruct(id, message, entries.build());
                }
                case MAP -> {
                    int count = count(6);
                    ImmutableList.Builder<CelExpr.CelMap.Entry> entries = ImmutableList.builderWithExpectedSize(
                            presize(count));
                    for (int i = 0; i < count; i++) {
                        long entryId = id();
                        boolean optional = flag();
                        CelExpr key = expr(depth + 1);
                        entries.add(CelExpr.ofMapEntry(entryId, key, expr(depth + 1), optional));
                    }
                    yield CelExpr.ofMap(id, entries.build());
                }
                case COMPREHENSION -> {
                    String iterVar = string();
                    String iterVar2 = string();
                    String accuVar = string();
                    CelExpr range = expr(depth + 1);
                    CelExpr init = expr(depth + 1);
                    CelExpr condition = expr(depth + 1);
                    CelExpr step = expr(depth + 1);
                    yield CelExpr.ofComprehension(id, iterVar, iterVar2, range, accuVar, init, condition, step,
                            expr(depth + 1));
                }
                default -> throw new IOException("unknown expression kind " + kind);
            };
        }

        ImmutableList<CelExpr> exprs(int count, int depth) throws IOException {
            ImmutableList.Builder<CelExpr> list = ImmutableList.builderWithExpectedSize(presize(count));
            for (int i = 0; i < count; i++) {
                list.add(expr(depth));
            }
            return list.build();
        }

        /**
         * Room to reserve for a list of a nested node: a count is only bounded by the rest of the input, which the
         * nodes nested inside would claim again at each level.
         */
        static int presize(int count) {
            return Math.min(count, 16);
        }

        boolean flag() throws IOException {
            int b = u8();
            if (b > 1) {
                throw new IOException("not a flag: " + b);
            }
            return b == 1;
        }
    }
}
