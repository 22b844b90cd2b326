//===- Int8Scheme.h - INT8 quantization parameters (DESIGN §5) -------------===//
//
// The numerics of the host INT8 scheme, shared by the quantize pass and its
// tests: activations uint8 asymmetric per tensor (x86 VNNI multiplies u8 by
// s8), weights int8 symmetric per output channel in [-127, 127] (so the AVX2
// path's pairwise products never saturate).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>

namespace ds::quant {

struct ActivationParams {
  float scale = 1.0f;
  int64_t zeroPoint = 0;
};

/// uint8 asymmetric parameters covering [min, max] widened to include 0 (so 0.0
/// is exact, as padding and ReLU need). A zero-width range (an all-zero tensor)
/// gets scale 1 and zero point 0: never a zero or non-finite scale. Throws
/// rt::Error when min or max is not finite or min > max.
ActivationParams uint8Asymmetric(float min, float max);

struct QuantizedWeights {
  rt::Tensor values; // int8, same shape as the float weights
  rt::Tensor scales; // float32 [channels]
};

/// Symmetric per-channel int8 along `axis`: scale[c] = max|w[c]| / 127
/// (1 for an all-zero channel), q = clamp(round_half_even(w / scale), -127, 127).
/// Throws rt::Error on a non-finite weight.
QuantizedWeights quantizeSymmetricPerChannel(const rt::Tensor &weights, int64_t axis);

/// The float value q * scale stands for (what the kernels multiply with).
inline float dequantized(int8_t q, float scale) { return static_cast<float>(q) * scale; }

} // namespace ds::quant
