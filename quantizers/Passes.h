//===- Passes.h - quantization passes (DESIGN §2 phase 6) ------------------===//
#pragma once

#include "dialects/ds/DsDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace ds::quant {

#define GEN_PASS_DECL
#include "quantizers/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quantizers/Passes.h.inc"

/// The attribute calibration leaves on an op: the range of its activation input.
inline constexpr const char *kActRangeAttr = "ds.act_range";
/// Per-channel (last axis) min / max of a MatMul/Gemm activation, for SmoothQuant.
inline constexpr const char *kActChannelMinAttr = "ds.act_channel_min";
inline constexpr const char *kActChannelMaxAttr = "ds.act_channel_max";
/// X^T X / rows of a MatMul/Gemm activation ([K, K] float, dense_resource), for GPTQ.
inline constexpr const char *kActHessianAttr = "ds.act_hessian";
/// On a quantized op: the node name of the last FP32 op it replaced (the one
/// whose result it now computes, after folding a bias Add or a Relu).
inline constexpr const char *kReplacesAttr = "ds.replaces";
/// A QDQ model's own activation parameters, array<f32: scale, zero_point>
/// (uint8); preferred over a calibration range.
inline constexpr const char *kActQParamsAttr = "ds.act_qparams";
/// On a ds.quant_matmul / ds.quant_conv: its weights operand is packed ahead of
/// time (ds-pack-int8-weights) for the logical weights' shape, array<i64: K, N>
/// / array<i64: M, C/group, kh, kw>; the kernels read the same name.
inline constexpr const char *kWeightsPackedAttr = "w_packed";
/// Why an op stayed FP32 (read by the report).
inline constexpr const char *kFp32ReasonAttr = "ds.fp32_reason";

/// True for ops ds-quant-int8 may turn into INT8 compute: the ones whose input 0
/// calibration observes.
bool isQuantCandidate(mlir::Operation *op);

} // namespace ds::quant
