//===- QuantGemmOperands.h - operands shared by quant_matmul and quant_conv ===//
//
// Both INT8 kernels read the same contract (the one the quantize pass emits):
// float x quantized to u8 per tensor, statically (x_scale > 0, x_zero_point)
// or dynamically from the data as ONNX DynamicQuantizeLinear; int8 weights
// with a per-column or per-tensor float scale; optional float bias; and an
// `activation` of "none" or "relu". They also share the cache of packed
// weights kept in KernelContext::state.
//===----------------------------------------------------------------------===//
#pragma once

#include "QuantGemm.h"

#include "ds/runtime/Kernel.h"

#include <functional>
#include <vector>

namespace ds::rt::quant_ops {

/// u8 per-tensor quantization parameters of the activation.
struct ActivationQuant {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

/// Static when attrs has x_scale > 0 (x_zero_point in [0, 255], default 0);
/// dynamic (absent or 0): the range of x[0, n), widened to include 0, gives
/// scale = (max - min) / 255 (1/255 when max == min) and
/// zp = round(clamp(-min / scale, 0, 255)), bit for bit as DynamicQuantizeLinear.
ActivationQuant activationQuant(const AttrMap &attrs, const float *x, int64_t n,
                                ThreadPool &pool);

/// Checks w_scale (float, [count] or scalar/[1]) and returns whether it is per column.
bool checkWeightScale(const Tensor &wScale, int64_t count);
/// Checks an optional bias (float [count]); returns its data or null when absent.
const float *checkBias(const Tensor &bias, int64_t count);

/// w's bytes, keeping w's storage alive: the block QuantPackedB::view reads
/// when the weights were packed ahead of time (w_packed).
std::shared_ptr<const int8_t> heldBytes(const Tensor &w);

/// The packs for `w`, kept per node by NodeCache.h's rules (a constant's
/// storage, from its second call on); otherwise built with `pack` into `local`.
const std::vector<QuantPackedB> &
packedWeights(const KernelContext &ctx, const Tensor &w,
              const std::function<std::vector<QuantPackedB>()> &pack,
              std::vector<QuantPackedB> &local);

} // namespace ds::rt::quant_ops
