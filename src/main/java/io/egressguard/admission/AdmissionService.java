package io.egressguard.admission;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.cel.common.values.NullValue;
import io.egressguard.Settings;
import io.egressguard.cel.JsonBytes;
import io.egressguard.policy.AdmissionAttributes;
import io.egressguard.policy.Decision;
import io.egressguard.policy.Evaluation;
import io.egressguard.policy.PolicyEngine;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * The webhook's one code path: decode an AdmissionReview (parsed once), evaluate it with the {@link PolicyEngine},
 * and encode the answer in the apiVersion it came in. Everything that can go wrong with the input becomes a 400 with
 * a JSON error body; anything that goes wrong inside becomes a refusal in enforce mode, never an allow.
 */
@ApplicationScoped
public class AdmissionService {

    private static final Logger LOG = Logger.getLogger(AdmissionService.class);

    static final Set<String> API_VERSIONS = Set.of("admission.k8s.io/v1", "admission.k8s.io/v1beta1");
    static final Set<String> OPERATIONS = Set.of("CREATE", "UPDATE", "DELETE", "CONNECT");
    static final int MAX_DEPTH = 200;
    /** The request's fields that hold whole objects (RawExtensions), which the envelope's typed model leaves out. */
    static final List<String> RAW_FIELDS = List.of("object", "oldObject", "options");
    /** Egress Guard's own declarations are judged wherever they live: they are written by platform admins. */
    static final String DECLARATION_GROUP = "egressguard.io";

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .addMixIn(AdmissionRequest.class, EnvelopeOnly.class)
            .build();

    /**
     * The envelope of a request, as the typed model reads it: without the raw objects ({@link #RAW_FIELDS}), which are
     * read as CEL values and never needed typed. Left in, their deserializer (fabric8's, for any KubernetesResource)
     * is built with the request's and registers every model class fabric8 knows, loading and instantiating about a
     * thousand classes: 0.4 s of CPU before the first review is answered. They are still written when a request is.
     */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(value = {"object", "oldObject", "options"},
            allowGetters = true)
    abstract static class EnvelopeOnly {
    }

    /**
     * The Jackson-based validation reader ({@link #parseForValidationWithJackson}, which {@link #parseForValidation}
     * falls back to): the same limits, with duplicate keys detected by the reader itself (the objects' in
     * {@link io.egressguard.cel.CelJson#read}, the envelope's in {@link #parseForValidationWithJackson} and in the
     * trees), which costs less than the parser's detection on every object.
     */
    static final ObjectMapper STREAM_MAPPER = JsonMapper.builder()
            .disable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    /** The validation path's reader's limits: the same as the mappers'. */
    static final JsonBytes.Limits LIMITS = new JsonBytes.Limits(MAX_DEPTH, 4 * 1024 * 1024, 100,
            StreamReadConstraints.DEFAULT_MAX_NAME_LEN);

    static {
        for (ObjectMapper m : List.of(MAPPER, STREAM_MAPPER)) {
            m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(LIMITS.maxDepth())
                    .maxStringLength(LIMITS.maxStringLength())
                    .maxNumberLength(LIMITS.maxNumberLength())
                    .maxNameLength(LIMITS.maxNameLength())
                    .build());
        }
    }

    /** An HTTP answer: status code and JSON body. */
    public record Reply(int status, String body) {
    }

    /** A request that is not a usable AdmissionReview. */
    static final class BadReview extends Exception {
        BadReview(String message) {
            super(message, null, false, false);
        }
    }

    private final PolicyEngine engine;
    private final Settings settings;
    private final Set<String> platformNamespaces;
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Counter[]> decisionCounters = new ConcurrentHashMap<>();
    private final Counter[] reviewCounters = new Counter[2 * Mode.values().length * 2];
    private final Timer evaluationTimer;

    private final ClusterView cluster;

    @Inject
    public AdmissionService(PolicyEngine engine, MeterRegistry registry, ClusterView cluster) {
        this.engine = engine;
        this.cluster = cluster;
        this.settings = engine.settings();
        this.platformNamespaces = settings.platformNamespaces();
        this.registry = registry;
        this.evaluationTimer = Timer.builder("egressguard.evaluation")
                .description("Time to evaluate all matching policies for one admission request")
                .publishPercentileHistogram()
                .register(registry);
    }

    /** {@code POST /validate[/mode]}. */
    public Reply validate(byte[] body, Mode mode) {
        return handle(body, mode, false);
    }

    /** {@code POST /mutate[/mode]}. */
    public Reply mutate(byte[] body, Mode mode) {
        return handle(body, mode, true);
    }

    private Reply handle(byte[] body, Mode mode, boolean mutate) {
        JsonNode root;
        String apiVersion;
        AdmissionRequest envelope;
        JsonNode request;
        Objects objects = null;
        try {
            if (mutate) {
                root = parse(body);
            } else {
                objects = new Objects();
                root = parseForValidation(body, objects);
            }
            apiVersion = root.path("apiVersion").asText();
            request = root.get("request");
            envelope = checkEnvelope(root, request);
        } catch (BadReview e) {
            count("egressguard.admission.bad.requests", "endpoint", mutate ? "mutate" : "validate");
            return error(400, "BadRequest", e.getMessage());
        }
        AdmissionResponse response;
        try {
            response = mutate ? mutateRequest(envelope, request, mode) : validateRequest(request, objects, mode);
        } catch (RuntimeException e) {
            LOG.errorf(e, "internal error while handling admission request %s", envelope.getUid());
            response = new AdmissionResponse();
            if (mode == Mode.ENFORCE && !mutate) {
                response.setAllowed(false);
                response.setStatus(status(500, "InternalError", "egress-guard: internal error while evaluating "
                        + "the request; it is refused because the webhook fails closed in enforce mode"));
            } else {
                response.setAllowed(true);
                response.setWarnings(List.of("egress-guard: internal error while evaluating the request"));
            }
        }
        response.setUid(envelope.getUid());
        AdmissionReview review = new AdmissionReview();
        review.setApiVersion(apiVersion);
        review.setKind("AdmissionReview");
        review.setResponse(response);
        reviewCounter(mutate, mode, Boolean.TRUE.equals(response.getAllowed())).increment();
        try {
            return new Reply(200, MAPPER.writeValueAsString(review));
        } catch (JsonProcessingException e) {
            LOG.error("cannot encode an AdmissionReview response", e);
            return error(500, "InternalError", "cannot encode the response");
        }
    }

    static JsonNode parse(byte[] body) throws BadReview {
        if (body == null || body.length == 0) {
            throw new BadReview("empty body: expected an AdmissionReview (admission.k8s.io/v1)");
        }
        try {
            return MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw new BadReview("unreadable body: " + e.getMessage());
        }
    }

    /** The objects of a request, read as CEL values; absent ones are null. */
    static final class Objects {
        Object object;
        Object oldObject;
        /**
         * The {@code request} variable (the request without its objects) when the reader had it as CEL values
         * already ({@link JsonBytes}), else null and built from the envelope's tree.
         */
        Map<String, Object> request;

        /** Keeps {@code request.object} or {@code request.oldObject} as read: an object (a map) or null. */
        void set(String field, Object value) throws BadReview {
            if (!(value instanceof Map) && value != NullValue.NULL_VALUE) {
                throw new BadReview("request." + field + " must be an object or null");
            }
            if (value instanceof Map) {
                if (field.equals("object")) {
                    object = value;
                } else {
                    oldObject = value;
                }
            }
        }
    }

    /**
     * Reads a review for validation: {@code request.object} and {@code request.oldObject} straight into CEL values
     * (into {@code objects}), which is what the policies evaluate, and the rest, the envelope, as a tree. The whole
     * body is read by {@link JsonBytes}; a body that the Jackson path reads differently is read by
     * {@link #parseForValidationWithJackson}: one whose top level is not an object (the envelope checks report it,
     * as the Jackson path reads it) or that is not plain UTF-8 (Jackson detects UTF-16 and UTF-32 and skips a byte
     * order mark), and one with an integer too large for a {@code long}, which the envelope's tree keeps exactly.
     */
    static JsonNode parseForValidation(byte[] body, Objects objects) throws BadReview {
        // Jackson reads a body as UTF-16 or UTF-32 when one of its first two bytes is 0, and skips a byte order
        // mark, which is not JSON whitespace
        if (body == null || body.length == 0 || body[0] == 0 || body.length > 1 && body[1] == 0
                || !JsonBytes.startsWithObject(body)) {
            return parseForValidationWithJackson(body, objects);
        }
        JsonBytes.Result read;
        try {
            read = JsonBytes.read(body, LIMITS);
        } catch (JsonBytes.Malformed e) {
            throw new BadReview("malformed JSON: " + e.getMessage());
        }
        if (read.bigInteger()) {
            return parseForValidationWithJackson(body, objects);
        }
        ObjectNode root = MAPPER.createObjectNode();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) read.value()).entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("request") && e.getValue() instanceof Map<?, ?> fields) {
                ObjectNode request = root.putObject("request");
                Map<String, Object> requestValue = new LinkedHashMap<>();
                for (Map.Entry<?, ?> f : fields.entrySet()) {
                    String field = (String) f.getKey();
                    Object value = f.getValue();
                    if (field.equals("object") || field.equals("oldObject")) {
                        objects.set(field, value);
                    } else {
                        request.set(field, tree(value));
                        requestValue.put(field, value);
                    }
                }
                objects.request = requestValue;
            } else {
                root.set(name, tree(e.getValue()));
            }
        }
        return root;
    }

    /** A CEL value as the tree Jackson reads from the same JSON (integers that fit in an int are IntNodes). */
    private static JsonNode tree(Object value) {
        if (value instanceof String s) {
            return TextNode.valueOf(s);
        } else if (value instanceof Map<?, ?> map) {
            ObjectNode node = MAPPER.createObjectNode();
            map.forEach((k, v) -> node.set((String) k, tree(v)));
            return node;
        } else if (value instanceof List<?> list) {
            ArrayNode node = MAPPER.createArrayNode();
            list.forEach(v -> node.add(tree(v)));
            return node;
        } else if (value instanceof Long l) {
            return l == l.intValue() ? IntNode.valueOf(l.intValue()) : LongNode.valueOf(l);
        } else if (value instanceof Double d) {
            return DoubleNode.valueOf(d);
        } else if (value instanceof Boolean b) {
            return BooleanNode.valueOf(b);
        }
        return NullNode.getInstance();
    }

    /**
     * The Jackson-based reading of {@link #parseForValidation}: the envelope as a tree, the objects with
     * {@link io.egressguard.cel.CelJson#read}. A body whose top level is not an object is read as a whole, for the
     * envelope checks to report.
     */
    static JsonNode parseForValidationWithJackson(byte[] body, Objects objects) throws BadReview {
        if (body == null || body.length == 0) {
            return parse(body);
        }
        try (com.fasterxml.jackson.core.JsonParser p = STREAM_MAPPER.createParser(body)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return parse(body);
            }
            ObjectNode root = MAPPER.createObjectNode();
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (root.has(name)) {
                    throw io.egressguard.cel.CelJson.duplicate(p, name);
                }
                if (name.equals("request") && p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                    ObjectNode request = root.putObject("request");
                    boolean object = false;
                    boolean oldObject = false;
                    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        p.nextToken();
                        if (field.equals("object") || field.equals("oldObject")) {
                            if (field.equals("object") ? object : oldObject) {
                                throw io.egressguard.cel.CelJson.duplicate(p, field);
                            }
                            if (field.equals("object")) {
                                object = true;
                            } else {
                                oldObject = true;
                            }
                            objects.set(field, io.egressguard.cel.CelJson.read(p));
                        } else {
                            if (request.has(field)) {
                                throw io.egressguard.cel.CelJson.duplicate(p, field);
                            }
                            request.set(field, treeAt(p));
                        }
                    }
                } else {
                    if (!name.equals("request")) {
                        p.nextToken();
                    }
                    root.set(name, treeAt(p));
                }
            }
            return root;
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (IOException e) {
            throw new BadReview("unreadable body: " + e.getMessage());
        }
    }

    private static JsonNode treeAt(com.fasterxml.jackson.core.JsonParser p) throws IOException {
        JsonNode node = STREAM_MAPPER.readTree(p);
        return node == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : node;
    }

    private static BadReview malformed(JsonProcessingException e) {
        return new BadReview("malformed JSON: " + e.getOriginalMessage()
                + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr()));
    }

    static AdmissionRequest checkEnvelope(JsonNode root, JsonNode request) throws BadReview {
        if (root == null || !root.isObject()) {
            throw new BadReview("expected a JSON object of kind AdmissionReview");
        }
        if (!"AdmissionReview".equals(root.path("kind").asText())) {
            throw new BadReview("expected kind AdmissionReview, found \"" + root.path("kind").asText() + "\"");
        }
        String apiVersion = root.path("apiVersion").asText();
        if (!API_VERSIONS.contains(apiVersion)) {
            throw new BadReview("unsupported apiVersion \"" + apiVersion
                    + "\": expected admission.k8s.io/v1 or admission.k8s.io/v1beta1");
        }
        if (request == null || !request.isObject()) {
            throw new BadReview("AdmissionReview has no request");
        }
        if (!request.path("uid").isTextual() || request.path("uid").asText().isEmpty()) {
            throw new BadReview("request.uid is missing");
        }
        if (!OPERATIONS.contains(request.path("operation").asText())) {
            throw new BadReview("request.operation must be one of CREATE, UPDATE, DELETE, CONNECT");
        }
        JsonNode resource = request.path("resource");
        if (!resource.isObject() || !resource.path("resource").isTextual()) {
            throw new BadReview("request.resource is missing");
        }
        for (String field : RAW_FIELDS) {
            JsonNode o = request.get(field);
            if (o != null && !o.isNull() && !o.isObject()) {
                throw new BadReview("request." + field + " must be an object or null");
            }
        }
        AdmissionRequest plain = plainRequest(request);
        if (plain != null) {
            return plain;
        }
        // the envelope without the raw objects (EnvelopeOnly); left out of the tree too, so that the typed read does
        // not walk them only to skip them
        ObjectNode copy = MAPPER.createObjectNode();
        request.properties().forEach(e -> {
            if (!RAW_FIELDS.contains(e.getKey())) {
                copy.set(e.getKey(), e.getValue());
            }
        });
        try {
            return MAPPER.treeToValue(copy, AdmissionRequest.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new BadReview("request is not an AdmissionRequest: " + e.getMessage().split("\n")[0]);
        }
    }

    /**
     * The typed envelope of a request whose fields are all of the shapes the API server sends (strings, a boolean,
     * group/version/kind and group/version/resource objects of strings, user info of strings, lists of strings and a
     * map of such lists), built with the model's setters as Jackson's bean deserializer builds it, at a fraction of
     * its cost; null for anything else (an unknown field, a null, a number, another type), which the caller reads
     * with Jackson. {@code EnvelopeTypingTest} holds the two to the same result.
     */
    static AdmissionRequest plainRequest(JsonNode request) {
        AdmissionRequest typed = new AdmissionRequest();
        for (Map.Entry<String, JsonNode> e : request.properties()) {
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "object", "oldObject", "options" -> {
                    // RAW_FIELDS: not in the typed model (EnvelopeOnly)
                }
                case "uid", "name", "namespace", "operation", "subResource", "requestSubResource" -> {
                    if (!v.isTextual()) {
                        return null;
                    }
                    String text = v.textValue();
                    switch (e.getKey()) {
                        case "uid" -> typed.setUid(text);
                        case "name" -> typed.setName(text);
                        case "namespace" -> typed.setNamespace(text);
                        case "operation" -> typed.setOperation(text);
                        case "subResource" -> typed.setSubResource(text);
                        default -> typed.setRequestSubResource(text);
                    }
                }
                case "dryRun" -> {
                    if (!v.isBoolean()) {
                        return null;
                    }
                    typed.setDryRun(v.booleanValue());
                }
                case "kind", "requestKind" -> {
                    String[] gvk = plainGroupVersion(v, "kind");
                    if (gvk == null) {
                        return null;
                    }
                    io.fabric8.kubernetes.api.model.GroupVersionKind kind =
                            new io.fabric8.kubernetes.api.model.GroupVersionKind(gvk[0], gvk[2], gvk[1]);
                    if (e.getKey().equals("kind")) {
                        typed.setKind(kind);
                    } else {
                        typed.setRequestKind(kind);
                    }
                }
                case "resource", "requestResource" -> {
                    String[] gvr = plainGroupVersion(v, "resource");
                    if (gvr == null) {
                        return null;
                    }
                    io.fabric8.kubernetes.api.model.GroupVersionResource resource =
                            new io.fabric8.kubernetes.api.model.GroupVersionResource(gvr[0], gvr[2], gvr[1]);
                    if (e.getKey().equals("resource")) {
                        typed.setResource(resource);
                    } else {
                        typed.setRequestResource(resource);
                    }
                }
                case "userInfo" -> {
                    io.fabric8.kubernetes.api.model.authentication.UserInfo user = plainUserInfo(v);
                    if (user == null) {
                        return null;
                    }
                    typed.setUserInfo(user);
                }
                default -> {
                    return null;
                }
            }
        }
        return typed;
    }

    /**
     * The members of a group/version/{@code third} object of strings (absent ones null), in that order; null when it
     * is not such an object.
     */
    private static String[] plainGroupVersion(JsonNode v, String third) {
        if (!v.isObject()) {
            return null;
        }
        String[] out = new String[3];
        for (Map.Entry<String, JsonNode> f : v.properties()) {
            if (!f.getValue().isTextual()) {
                return null;
            }
            String key = f.getKey();
            int i = key.equals("group") ? 0 : key.equals("version") ? 1 : key.equals(third) ? 2 : -1;
            if (i < 0) {
                return null;
            }
            out[i] = f.getValue().textValue();
        }
        return out;
    }

    private static io.fabric8.kubernetes.api.model.authentication.UserInfo plainUserInfo(JsonNode v) {
        if (!v.isObject()) {
            return null;
        }
        io.fabric8.kubernetes.api.model.authentication.UserInfo user =
                new io.fabric8.kubernetes.api.model.authentication.UserInfo();
        for (Map.Entry<String, JsonNode> f : v.properties()) {
            JsonNode value = f.getValue();
            switch (f.getKey()) {
                case "username", "uid" -> {
                    if (!value.isTextual()) {
                        return null;
                    }
                    if (f.getKey().equals("username")) {
                        user.setUsername(value.textValue());
                    } else {
                        user.setUid(value.textValue());
                    }
                }
                case "groups" -> {
                    List<String> groups = plainStrings(value);
                    if (groups == null) {
                        return null;
                    }
                    user.setGroups(groups);
                }
                case "extra" -> {
                    if (!value.isObject()) {
                        return null;
                    }
                    Map<String, List<String>> extra = new LinkedHashMap<>();
                    for (Map.Entry<String, JsonNode> x : value.properties()) {
                        List<String> values = plainStrings(x.getValue());
                        if (values == null) {
                            return null;
                        }
                        extra.put(x.getKey(), values);
                    }
                    user.setExtra(extra);
                }
                default -> {
                    return null;
                }
            }
        }
        return user;
    }

    private static List<String> plainStrings(JsonNode value) {
        if (!value.isArray()) {
            return null;
        }
        List<String> out = new ArrayList<>(value.size());
        for (JsonNode item : value) {
            if (!item.isTextual()) {
                return null;
            }
            out.add(item.textValue());
        }
        return out;
    }

    private AdmissionResponse validateRequest(JsonNode request, Objects objects, Mode mode) {
        AdmissionResponse response = new AdmissionResponse();
        response.setAllowed(true);
        String namespace = request.path("namespace").asText("");
        boolean declaration = DECLARATION_GROUP.equals(request.path("resource").path("group").asText());
        if (!declaration && platformNamespaces.contains(namespace)
                || onlyFinalizing(request.path("operation").asText(), objects.object, objects.oldObject)) {
            return response;
        }
        if (mode == Mode.ENFORCE && cluster.active() && isPodCreate(request)) {
            Optional<String> notYet = cluster.podsNotYetAllowed(namespace);
            if (notYet.isPresent()) {
                response.setAllowed(false);
                response.setStatus(status(503, "ServiceUnavailable", "[egress-guard] " + notYet.get()));
                count("egressguard.admission.gated");
                return response;
            }
        }
        Object namespaceObject = namespace.isEmpty() ? null : cluster.namespace(namespace).orElse(null);
        long start = System.nanoTime();
        Evaluation eval = engine.evaluate(objects.request != null
                ? AdmissionAttributes.ofRequest(request, objects.request, objects.object, objects.oldObject,
                        namespaceObject)
                : AdmissionAttributes.ofRequest(request, objects.object, objects.oldObject, namespaceObject),
                p -> true,
                cluster.declaredHosts());
        evaluationTimer.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
        for (Decision d : eval.decisions()) {
            decisionCounter(d).increment();
        }
        Map<String, String> audit = new TreeMap<>(eval.auditAnnotations());
        List<Decision> violations = eval.violations();
        List<String> warnings = new ArrayList<>();
        for (Decision d : violations) {
            if (d.outcome() == Decision.Outcome.WARN || mode == Mode.WARN) {
                warnings.add(d.line());
            }
        }
        if (mode == Mode.AUDIT) {
            Map<String, List<String>> byPolicy = new LinkedHashMap<>();
            for (Decision d : violations) {
                byPolicy.computeIfAbsent(d.policyId(), k -> new ArrayList<>()).add(d.line());
            }
            byPolicy.forEach((id, lines) -> audit.put(id, String.join("\n", lines)));
        }
        List<Decision> refusals = eval.refusals();
        if (mode == Mode.ENFORCE && !refusals.isEmpty()) {
            boolean onlyErrors = refusals.stream().allMatch(d -> d.outcome() == Decision.Outcome.ERROR);
            String reason = onlyErrors ? "InternalError" : refusals.stream()
                    .filter(d -> d.outcome() == Decision.Outcome.DENY).map(Decision::reason).findFirst()
                    .orElse("Forbidden");
            int code = onlyErrors ? 500 : codeFor(reason);
            response.setAllowed(false);
            response.setStatus(status(code, reason, refusals.stream().map(Decision::line)
                    .collect(Collectors.joining("\n"))));
        }
        if (!warnings.isEmpty()) {
            response.setWarnings(warnings);
        }
        if (!audit.isEmpty()) {
            response.setAuditAnnotations(audit);
        }
        return response;
    }

    private AdmissionResponse mutateRequest(AdmissionRequest envelope, JsonNode request, Mode mode) {
        AdmissionResponse response = new AdmissionResponse();
        response.setAllowed(true);
        String namespace = request.path("namespace").asText("");
        JsonNode object = request.get("object");
        if (object == null || !object.isObject()) {
            return response;
        }
        boolean namespaceReview = "namespaces".equals(request.path("resource").path("resource").asText());
        if (!namespaceReview && platformNamespaces.contains(namespace)) {
            return response;
        }
        ObjectNode mutated = ((ObjectNode) object).deepCopy();
        JsonNode resource = request.path("resource");
        String group = resource.path("group").asText("");
        String plural = resource.path("resource").asText("");
        String subResource = request.path("subResource").asText("");
        List<String> changes = Mutations.apply(group, plural, subResource, envelope.getOperation(), mutated);
        List<String> removed = mode == Mode.ENFORCE && !namespaceReview && remediates(namespace)
                ? Mutations.remediate(group, plural, subResource, envelope.getOperation(), mutated) : List.of();
        if (changes.isEmpty() && removed.isEmpty()) {
            return response;
        }
        if (mode != Mode.ENFORCE) {
            response.setWarnings(changes.stream().map(c -> "[egress-guard] " + c + " (not applied: the namespace "
                    + "is in " + mode.label() + " mode)").toList());
            return response;
        }
        if (!removed.isEmpty()) {
            response.setWarnings(removed.stream().map(r -> "[egress-guard] " + r).toList());
            count("egressguard.admission.remediations");
        }
        ArrayNode patch = JsonPatch.diff(object, mutated);
        try {
            response.setPatchType("JSONPatch");
            response.setPatch(Base64.getEncoder().encodeToString(MAPPER.writeValueAsBytes(patch)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a JSON patch", e);
        }
        return response;
    }

    /**
     * An UPDATE of an object that is being deleted and that changes nothing but its finalizers (and the bookkeeping
     * fields the API server maintains): judging it could only keep the object from going away.
     */
    static boolean onlyFinalizing(String operation, Object object, Object old) {
        if (!"UPDATE".equals(operation) || !(object instanceof Map<?, ?> o) || !(old instanceof Map<?, ?> before)
                || !(o.get("metadata") instanceof Map<?, ?> meta) || meta.get("deletionTimestamp") == null
                || meta.get("deletionTimestamp") == dev.cel.common.values.NullValue.NULL_VALUE) {
            return false;
        }
        return withoutBookkeeping(o).equals(withoutBookkeeping(before));
    }

    private static Map<Object, Object> withoutBookkeeping(Map<?, ?> o) {
        Map<Object, Object> copy = new java.util.HashMap<>(o);
        copy.remove("status");
        if (copy.get("metadata") instanceof Map<?, ?> meta) {
            Map<Object, Object> m = new java.util.HashMap<>(meta);
            for (String f : List.of("finalizers", "resourceVersion", "managedFields", "generation",
                    "deletionTimestamp", "deletionGracePeriodSeconds")) {
                m.remove(f);
            }
            copy.put("metadata", m);
        }
        return copy;
    }

    /**
     * Whether a namespace has opted in to remediate mode. Only the cluster view knows a namespace's labels, so
     * without cluster access remediation is off and redirection holes are refused by the validating webhook instead.
     */
    private boolean remediates(String namespace) {
        if (namespace.isEmpty() || !cluster.active()) {
            return false;
        }
        Map<String, String> labels = cluster.namespaceLabels(namespace);
        return "enforce".equals(labels.get(Settings.MODE_LABEL))
                && "true".equals(labels.get(Mutations.REMEDIATE_LABEL));
    }

    private static boolean isPodCreate(JsonNode request) {
        JsonNode resource = request.path("resource");
        return "CREATE".equals(request.path("operation").asText()) && resource.path("group").asText("").isEmpty()
                && "pods".equals(resource.path("resource").asText())
                && request.path("subResource").asText("").isEmpty();
    }

    static int codeFor(String reason) {
        return switch (reason) {
            case "Unauthorized" -> 401;
            case "Invalid" -> 422;
            case "RequestEntityTooLarge" -> 413;
            default -> 403;
        };
    }

    static Status status(int code, String reason, String message) {
        return new StatusBuilder().withApiVersion("v1").withKind("Status").withStatus("Failure").withCode(code)
                .withReason(reason).withMessage(message).build();
    }

    /** A transport-level error: a JSON body with code, reason and message. */
    public static Reply error(int code, String reason, String message) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("kind", "Status");
        body.put("apiVersion", "v1");
        body.put("status", "Failure");
        body.put("code", code);
        body.put("reason", reason);
        body.put("message", message);
        return new Reply(code, body.toString());
    }

    /** {@code egressguard.policy.decisions} for a decision's policy and outcome, looked up without building a key. */
    private Counter decisionCounter(Decision d) {
        Counter[] byOutcome = decisionCounters.get(d.policyId());
        if (byOutcome == null) {
            byOutcome = decisionCounters.computeIfAbsent(d.policyId(),
                    id -> new Counter[Decision.Outcome.values().length]);
        }
        int i = d.outcome().ordinal();
        Counter c = byOutcome[i];
        if (c == null) {
            c = counters.computeIfAbsent("egressguard.policy.decisions|" + d.policyId() + "|" + d.outcome().name(),
                    k -> Counter.builder("egressguard.policy.decisions").tags("policy", d.policyId(), "outcome",
                            d.outcome().name()).register(registry));
            byOutcome[i] = c; // racy but idempotent: the registry returns the same counter
        }
        return c;
    }

    /** {@code egressguard.admission.reviews} by endpoint, mode and answer, made once each. */
    private Counter reviewCounter(boolean mutate, Mode mode, boolean allowed) {
        int i = ((mutate ? 1 : 0) * Mode.values().length + mode.ordinal()) * 2 + (allowed ? 1 : 0);
        Counter c = reviewCounters[i];
        if (c == null) {
            c = Counter.builder("egressguard.admission.reviews").tags("endpoint", mutate ? "mutate" : "validate",
                    "mode", mode.label(), "allowed", String.valueOf(allowed)).register(registry);
            reviewCounters[i] = c;
        }
        return c;
    }

    private void count(String name, String... tags) {
        String key = name + String.join("|", tags);
        counters.computeIfAbsent(key, k -> Counter.builder(name).tags(tags).register(registry)).increment();
    }

    /** Exposed for the warm-up: the same decode, evaluate and encode path as a real request. */
    Reply handleForWarmup(byte[] body, boolean mutate) {
        return handle(body, Mode.ENFORCE, mutate);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
