//===- WeightQuant.h - per-channel symmetric INT8 weights -----------------===//
//
// Weights are quantized per output channel, symmetric (DESIGN §5): for each
// index c along `axis`, scale[c] = max|w[..c..]| / 127 (1.0 for an all-zero
// channel, raised to FLT_MIN when tiny, as QuantParams.h), and
// q = clamp(round_half_even(w / scale[c]), -127, 127), the division done in
// float32 as ONNX QuantizeLinear does. Pure numerics; used by the quantizer
// passes and tests (the INT8 kernels read `values` and `scales` as they are).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <vector>

namespace ds::calib {

struct PerChannelInt8 {
  rt::Tensor values;         // int8, the weight's shape
  std::vector<float> scales; // one per index along `axis`
  int64_t axis = 0;          // normalized (non-negative)
};

/// `weights`: float32, rank >= 1; `axis` in [-rank, rank). Throws rt::Error
/// naming the channel when a weight is NaN/Inf.
PerChannelInt8 quantizePerChannelInt8(const rt::Tensor &weights, int64_t axis);

} // namespace ds::calib
