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

#include "MovementCommon.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include <cstdint>
#include <limits>

namespace ds::rt::movement {

/// One value: saturate(round_half_to_even(x / scale) + zp) into Q's range.
template <typename Q>
#if defined(__GNUC__) && !defined(__clang__)
// Comparisons may raise FP exceptions under the default -ftrapping-math, which
// stops GCC from turning the clamps into vector min/max; we never inspect FP flags.
__attribute__((optimize("no-trapping-math"), always_inline))
#endif
inline Q quantizeValue(float x, float scale, float zp) {
  constexpr float kMagic = 12582912.0f; // 1.5 * 2^23
  constexpr float kLimit = 4194304.0f;  // 2^22
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  float q = x / scale;
  q = q == q ? q : 0.0f;
  q = q < -kLimit ? -kLimit : (q > kLimit ? kLimit : q);
  float v = ((q + kMagic) - kMagic) + zp; // built without -ffast-math: not folded
  v = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<Q>(v);
}

/// Quantizes n values x[i] / scale[i * step] with zero point zp[i * step] (zp may
/// be null: 0). step is 0 for shared parameters (hoisted, so the loop vectorizes)
/// or 1 for one parameter per element (blocked quantization).
template <typename Q, typename X>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-trapping-math")))
#endif
inline void quantizeRun(const X *x, const float *scale, int64_t step, const Q *zp, Q *y,
                        int64_t n) {
  if (step == 0) {
    const float s = scale[0], z = zp ? static_cast<float>(zp[0]) : 0.0f;
    for (int64_t i = 0; i < n; ++i)
      y[i] = quantizeValue<Q>(static_cast<float>(x[i]), s, z);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    y[i] = quantizeValue<Q>(static_cast<float>(x[i]), scale[i],
                            zp ? static_cast<float>(zp[i]) : 0.0f);
}

/// Folds x[0, n) into [lo, hi] (which start as the caller's running range); NaN is
/// skipped. The ternaries are exactly x86 min/max, so vectorizing keeps the result.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-trapping-math")))
#endif
inline void extendRange(const float *x, int64_t n, float &lo, float &hi) {
  float l = lo, h = hi;
  for (int64_t i = 0; i < n; ++i) {
    l = x[i] < l ? x[i] : l;
    h = x[i] > h ? x[i] : h;
  }
  lo = l;
  hi = h;
}

/// DynamicQuantizeLinear's uint8 parameters for x[0, n): the range widened
/// to include 0 (NaN skipped), scale = (max == min ? 1 : max - min) / 255,
/// zero point = rint(clamp(-min / scale, 0, 255)). Per-chunk extrema combine
/// in chunk order, so any thread count gives the same bits. Shared by
/// dynamic_quantize_linear and the INT8 compute kernels' dynamic mode.
struct DynamicUint8Params {
  float scale;
  uint8_t zeroPoint;
};
template <typename Pool>
DynamicUint8Params dynamicUint8Params(Pool &pool, const float *x, int64_t n) {
  constexpr int64_t kChunk = 64 * 1024;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> lows(static_cast<size_t>(chunks), 0.0f), highs(lows);
  parallelRange(pool, chunks, n, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      float lo = 0.0f, hi = 0.0f;
      const int64_t first = c * kChunk;
      extendRange(x + first, std::min(n, first + kChunk) - first, lo, hi);
      lows[static_cast<size_t>(c)] = lo;
      highs[static_cast<size_t>(c)] = hi;
    }
  });
  float minX = 0.0f, maxX = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    minX = std::min(minX, lows[static_cast<size_t>(c)]);
    maxX = std::max(maxX, highs[static_cast<size_t>(c)]);
  }
  const float scale = (maxX == minX ? 1.0f : maxX - minX) / 255.0f;
  DS_CHECK(std::isfinite(scale) && scale > 0, "the input has a non-finite range; dynamic "
                                              "quantization needs finite values");
  return {scale, static_cast<uint8_t>(std::nearbyint(std::clamp(0.0f - minX / scale, 0.0f, 255.0f)))};
}

} // namespace ds::rt::movement
