//===- Passes.td - ds-optimize's graph passes (optimize, fuse) -------------===//
#ifndef DS_PASSES_TD
#define DS_PASSES_TD

include "mlir/Pass/PassBase.td"

def InferShapesPass : Pass<"ds-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "give every value its rank and the dims ONNX semantics fix, whatever the opset";
  let description = [{
    Runs the dialect's shape rules (dialects/ds/ShapeInference.h) over the
    function in order and refines each result type: an unranked result takes
    the inferred rank and dims, a `?` dim the inferred size where it is a
    constant. Small integer tensors are followed as values (Shape, Gather,
    Concat, Unsqueeze, arithmetic), and named input dims (`ds.dim_names`)
    as symbols, so `Reshape(x, Concat(Shape(x)[0:2], [-1, 16]))` gets
    `[?, ?, 4, 16]` from `x : [?, ?, 64]`. Never contradicts a known type.
    The importer runs it on every model (without folding); the optimize
    phase runs it with `fold-values`, which replaces ops whose small integer
    results are all known (shape arithmetic over static dims) by constants.
  }];
  let options = [
    Option<"foldValues", "fold-values", "bool", "false",
           "replace ops whose integer results are known by ds.constant">,
  ];
  let dependentDialects = ["ds::DsDialect"];
}

def FoldBatchNormPass : Pass<"ds-fold-batchnorm", "mlir::func::FuncOp"> {
  let summary = "fold inference BatchNormalization into the preceding Conv";
  let description = [{
    `conv(x, W, B)` followed by `batch_normalization(scale, bias, mean, var)`
    becomes `conv(x, W', B')` with `W'[m] = W[m] * s[m]`,
    `B'[m] = (B[m] - mean[m]) * s[m] + bias[m]`, `s = scale / sqrt(var + eps)`.
    Declines when the conv weights or any statistic is not a constant, when the
    conv result has other users, or when the BatchNormalization is in training
    mode (more than one result).
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FoldConstantsPass : Pass<"ds-fold-constants", "mlir::func::FuncOp"> {
  let summary = "evaluate ops whose operands are all constants with the kernel library";
  let description = [{
    Runs the op's own kernel (the one the executor and artifacts use, so the
    folded value is exactly what run time would compute) and replaces the op by
    ds.constant results (Shape and Size fold whenever their operand's type is
    static, whatever computes it): DequantizeLinear of int8 weights, shape arithmetic on
    constant shapes, Transpose/Reshape of weights. Declines when a result would
    exceed `max-bytes`, when the kernel fails, or when a result feeds the
    function's return with a type the folded value does not have.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", "int64_t(256) << 20",
           "largest folded result, in bytes">,
  ];
  let dependentDialects = ["ds::DsDialect"];
}

def FuseNormsPass : Pass<"ds-fuse-norms", "mlir::func::FuncOp"> {
  let summary = "replace decomposed RMSNorm chains by ds.rms_norm";
  let description = [{
    Matches `x * (or /) sqrt(mean(x^2, axes = [-1], keepdims) + eps)` with
    x^2 as Pow(x, 2) or Mul(x, x), the inverse as Div(x, s) or
    Mul(x, Reciprocal(s)), followed by an optional Mul with a constant scale of
    the last dimension's size. Declines when the reduction is not over the last
    axis alone, epsilon or the exponent is not a scalar constant, or an
    intermediate has other users.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FuseAttentionPass : Pass<"ds-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "replace masked scaled-dot-product attention chains by ds.attention";
  let description = [{
    Matches `matmul(softmax(where(mask, matmul(q, kT) / c, fill), axis = -1), v)`
    with c and fill scalar float constants and mask a bool tensor of rank <= 2
    (e.g. the [Lq, Lk] causal mask). Declines when an intermediate has other
    users, the softmax is not over the last axis, the where's branches are the
    other way round, or a product operand is a vector.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FuseRotaryPass : Pass<"ds-fuse-rotary", "mlir::func::FuncOp"> {
  let summary = "replace rotate-half rotary embedding chains by ds.rotary";
  let description = [{
    Matches `x * cos + concat(-slice(x, D/2, end), slice(x, 0, D/2)) * sin` along
    the last axis (either operand order of the Muls and the Add), with x a
    static float tensor of even last size D and cos/sin float constants `[..., D]`
    that broadcast to x. Declines when an intermediate has other users, a slice
    is not exactly a half (step 1, last axis), or cos/sin are not constants.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FuseSwiGluPass : Pass<"ds-fuse-swiglu", "mlir::func::FuncOp"> {
  let summary = "replace Sigmoid/Mul/Mul SwiGLU gating by ds.swiglu";
  let description = [{
    Matches `(g * sigmoid(g)) * up` (either operand order of both Muls) with g
    and up static float tensors of one type. Declines when the sigmoid or the
    silu product has other users, or when up would broadcast.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FuseConvActivationPass : Pass<"ds-fuse-conv-activation", "mlir::func::FuncOp"> {
  let summary = "fold a float Conv's sole Relu user into the conv (activation = \"relu\")";
  let description = [{
    Matches `relu(conv(...))` where the relu is the conv's only user and both
    are float32 (or float64) of one type; sets `activation = "relu"` on the conv and drops the
    relu. Declines when the conv has other users or already has an activation.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

#endif // DS_PASSES_TD
