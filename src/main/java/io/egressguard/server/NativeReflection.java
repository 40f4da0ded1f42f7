package io.egressguard.server;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * Classes a native image must keep reflective access to. cel-java reaches protobuf's well-known types and its own
 * generated {@code dev.cel.expr} messages through protobuf's reflective accessors; the fabric8 admission and status
 * models are serialised by Jackson. (The Quarkus Kubernetes client extension registers most fabric8 models itself;
 * the admission ones are listed to be explicit.)
 */
@RegisterForReflection(targets = {
    io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview.class,
    io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest.class,
    io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse.class,
    io.fabric8.kubernetes.api.model.Status.class,
    io.fabric8.kubernetes.api.model.StatusDetails.class,
    io.fabric8.kubernetes.api.model.StatusCause.class,
    io.fabric8.kubernetes.api.model.GroupVersionKind.class,
    io.fabric8.kubernetes.api.model.GroupVersionResource.class,
    io.fabric8.kubernetes.api.model.authentication.UserInfo.class,
    com.google.protobuf.Any.class,
    com.google.protobuf.BoolValue.class,
    com.google.protobuf.BytesValue.class,
    com.google.protobuf.DoubleValue.class,
    com.google.protobuf.Duration.class,
    com.google.protobuf.Empty.class,
    com.google.protobuf.FloatValue.class,
    com.google.protobuf.Int32Value.class,
    com.google.protobuf.Int64Value.class,
    com.google.protobuf.ListValue.class,
    com.google.protobuf.NullValue.class,
    com.google.protobuf.StringValue.class,
    com.google.protobuf.Struct.class,
    com.google.protobuf.Timestamp.class,
    com.google.protobuf.UInt32Value.class,
    com.google.protobuf.UInt64Value.class,
    com.google.protobuf.Value.class,
    dev.cel.expr.CheckedExpr.class,
    dev.cel.expr.ParsedExpr.class,
    dev.cel.expr.Expr.class,
    dev.cel.expr.Constant.class,
    dev.cel.expr.Type.class,
    dev.cel.expr.Decl.class,
    dev.cel.expr.Reference.class,
    dev.cel.expr.SourceInfo.class
}, registerFullHierarchy = true)
final class NativeReflection {

    private NativeReflection() {
    }
}
