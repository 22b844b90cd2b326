//===- Passes.td - quantization passes -------------------------------------===//
#ifndef DS_QUANTIZERS_PASSES_TD
#define DS_QUANTIZERS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantInt8Pass : Pass<"ds-quant-int8", "mlir::func::FuncOp"> {
  let summary = "rewrite MatMul/Gemm/Conv with constant weights into INT8 compute";
  let description = [{
    Weights become symmetric per-output-channel int8 constants (round half to
    even, [-127, 127]) cast to MLIR's `!quant.uniform<i8<-127:127>:f32:axis,
    {scales}>` (`quant.scast`); activations are quantized per tensor to uint8
    (`quant.qcast` to `!quant.uniform<u8:f32, scale:zero_point>`) with the
    range calibration left on the op as `ds.act_range = array<f32: min, max>`
    (mode=static), or per call (mode=dynamic, as ONNX Runtime's dynamic
    quantization; mode=dynamic-per-token gives MatMul/Gemm one range per row of
    the activation, `x_granularity = "row"`). MatMul + Add of a constant bias and a following Relu
    fold into the quantized op.

    With smoothquant-alpha > 0 (SmoothQuant, Xiao et al. 2023), a MatMul/Gemm
    whose calibration left per-channel ranges (ds.act_channel_min/max) moves
    activation outliers into the weights: s_k = max|X_k|^a / max|W_k|^(1-a),
    W' = diag(s) W and a ds.mul by 1/s before the quantized op, whose range is
    recomputed from the per-channel ranges divided by s.

    With weight-rounding=gptq, MatMul/Gemm weights whose op carries the
    calibration Hessian (ds.act_hessian = X^T X / rows, [K, K]) are rounded by
    GPTQ with the same per-channel scales (see Gptq.h).

    An op stays FP32, and is tagged `ds.fp32_reason = "..."` for the report, when
    its node name matches a `keep-fp32` glob, when static mode has no range for
    it, when its weights are not a float constant, or when its attributes are
    outside what the INT8 kernels do (Gemm with transA, 1-D or 3-D Conv).
  }];
  let options = [
    Option<"mode", "mode", "std::string", "\"static\"",
           "static (calibrated activation ranges), dynamic (per-call ranges) or "
           "dynamic-per-token (MatMul/Gemm: one range per activation row)">,
    ListOption<"keepFp32", "keep-fp32", "std::string",
               "node-name glob patterns to keep in FP32">,
    ListOption<"autoFp32", "auto-fp32", "std::string",
               "exact node names to keep in FP32 because their INT8 error was too high">,
    Option<"autoFp32Reason", "auto-fp32-reason", "std::string", "\"\"",
           "why the auto-fp32 layers stay FP32 (the report's reason text)">,
    Option<"weightRounding", "weight-rounding", "std::string", "\"rtn\"",
           "rtn (round to nearest) or gptq (MatMul/Gemm with a ds.act_hessian)">,
    Option<"smoothquantAlpha", "smoothquant-alpha", "double", "0.0",
           "SmoothQuant migration strength in (0, 1]; 0 = off (static MatMul/Gemm with "
           "per-channel calibration ranges only)">,
  ];
  let dependentDialects = ["ds::DsDialect", "mlir::quant::QuantDialect"];
}

def LowerQuantTypesPass : Pass<"ds-lower-quant-types", "mlir::func::FuncOp"> {
  let summary = "move INT8 parameters out of MLIR quant types into the kernels' operands";
  let description = [{
    ds-quant-int8 writes ds.quant_matmul / ds.quant_conv over MLIR quant types:
    weights `quant.scast` from int8 to `!quant.uniform<i8<-127:127>:f32:axis,
    {scales}>`, a static activation `quant.qcast` to `!quant.uniform<u8:f32,
    scale:zero_point>`. The kernels read the storage form: the int8 constant,
    a float `w_scale` constant ([channels], or [1] for a per-tensor type)
    inserted beside it, and `x_scale` / `x_zero_point` attributes on a float
    `x`. Representation only: no number changes. Ops already in storage form
    are left alone; the casts left without users are erased.
  }];
  let dependentDialects = ["ds::DsDialect", "mlir::quant::QuantDialect"];
}

def PackInt8WeightsPass : Pass<"ds-pack-int8-weights", "mlir::func::FuncOp"> {
  let summary = "pack the INT8 ops' constant weights into the INT8 GEMM's panel layout";
  let description = [{
    After ds-lower-quant-types: each ds.quant_matmul whose weights are a
    constant int8 [K, N] reads instead a 1-D int8 constant holding them in the
    GEMM's panel layout followed by their int32 column sums (QuantPackedB in
    codegen/runtime/kernels/QuantGemm.h; the same layout for every ISA), and
    gets `w_packed = array<i64: K, N>`. The executor and the artifact then read
    the block in place instead of packing a copy on their first run. The
    numbers do not change. A ds.quant_conv gets its kernel's per-group
    packing (K in (ky, kx, c) order where the group runs channels-last) and
    `w_packed = array<i64: M, C/group, kh, kw>` when its input's C, H, W are
    static and no direct kernel fits it (depthwise, or K <= 32 on a geometry
    the shifted direct kernel takes; decided on the shape, not this CPU). Ops
    whose weights are computed at run time or would grow by more than 1/8
    (panels are 32 columns wide: a classifier's N = 10 would triple) keep
    packing at run time.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

def FoldQdqPass : Pass<"ds-fold-qdq", "mlir::func::FuncOp"> {
  let summary = "take a QDQ model's activation scales and drop its QuantizeLinear/DequantizeLinear pairs";
  let description = [{
    A model that already carries Q/DQ (ONNX Runtime's quantize_static, NNCF,
    ModelOpt) states how each activation is quantized. For every
    `dequantize_linear(quantize_linear(x, s, zp), s, zp)` with scalar constant
    parameters, a MatMul/Gemm/Conv reading the result gets
    `ds.act_qparams = array<f32: s, zp>` (uint8 zero point; an int8 zero point
    z becomes z + 128, the same grid), which ds-quant-int8 uses as-is, and the
    pair is removed: the integer kernels quantize their input themselves, and
    other ops run in FP32. Weights are expected to be folded to float
    constants first (ds-fold-constants), so ds-quant-int8 re-derives them:
    symmetric per-channel int8 weights round-trip exactly.
  }];
  let dependentDialects = ["ds::DsDialect"];
}

#endif // DS_QUANTIZERS_PASSES_TD
