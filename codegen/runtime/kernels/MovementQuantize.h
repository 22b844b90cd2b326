//===- MovementQuantize.h - float -> integer rounding for the quantize kernels ===//
//
// QuantizeLinear and DynamicQuantizeLinear both compute
//   y = saturate(round_half_to_even(x / scale) + zero_point).
// The rounding uses the 1.5 * 2^23 trick instead of std::rint: it is exact
// round-half-to-even under the default FP environment for |v| <= 2^22 (we clamp
// first; anything larger saturates anyway) and, unlike a libm call on baseline
// x86-64, it vectorizes. NaN quantizes to the zero point (ONNX leaves it undefined).
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace ds::rt::movement {

/// Quantizes n values x[i] / scale[i * scaleStep] with zero point zp[i * zpStep]
/// (steps are 0 for a shared parameter, 1 for one per element) into [lo, hi].
template <typename Q, typename X>
inline void quantizeRun(const X *x, const float *scale, int64_t scaleStep, const Q *zp,
                        int64_t zpStep, Q *y, int64_t n) {
  constexpr float kMagic = 12582912.0f; // 1.5 * 2^23
  constexpr float kLimit = 4194304.0f;  // 2^22
  const float lo = static_cast<float>(std::numeric_limits<Q>::min());
  const float hi = static_cast<float>(std::numeric_limits<Q>::max());
  for (int64_t i = 0; i < n; ++i) {
    float q = static_cast<float>(static_cast<float>(x[i]) / scale[i * scaleStep]);
    q = q == q ? q : 0.0f;
    q = q < -kLimit ? -kLimit : (q > kLimit ? kLimit : q);
    float r = (q + kMagic) - kMagic; // kernels build without -ffast-math: not folded
    float v = r + static_cast<float>(zp ? zp[i * zpStep] : Q(0));
    v = v < lo ? lo : (v > hi ? hi : v);
    y[i] = static_cast<Q>(v);
  }
}

} // namespace ds::rt::movement
