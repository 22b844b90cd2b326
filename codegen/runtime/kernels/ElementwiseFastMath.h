//===- ElementwiseFastMath.h - vectorizable float32 exp, sigmoid, tanh ----===//
//
// glibc's expf/tanhf are scalar calls, so a loop over them cannot vectorize and
// Sigmoid/Tanh run at ~10-20 ns per element. These are branch-free float32
// versions (Cephes polynomials, Cody-Waite range reduction) that GCC/Clang
// vectorize inside the elementwise loops. Accuracy, checked exhaustively over
// the relevant ranges by tests/unit/elementwise_test.cpp: within a few ulp
// (< 5e-7 relative) for normal results; exp's subnormal results are rounded
// twice (still < 1 subnormal ulp off). NaN propagates, +-inf map to inf/0, 1/-1.
// Used by the float32 paths only; double keeps <cmath>.
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

namespace ds::rt::elementwise {

/// 2^n for an integral float n in [-126, 127], by building the exponent bits.
inline float exp2Integral(float n) {
  return std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}

inline float fastExp(float x) {
  // Beyond these bounds exp is 0 (after rounding) or inf; clamping keeps the
  // exponent arithmetic below in range and lets the result round to 0 or inf.
  // std::min/max keep a NaN x (it is their first operand).
  x = std::min(std::max(x, -104.0f), 89.0f);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (SSE2 has no round instruction).
  const float kRound = 12582912.0f;
  float n = (x * 1.44269504088896341f + kRound) - kRound;
  // r = x - n ln2 in two steps so n * kLn2Hi is exact.
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors so n in [-150, 128] neither overflows the exponent field
  // early nor loses subnormal results. std::max(-151, NaN) is -151, so a NaN x
  // never reaches the float -> int conversion (p is NaN and carries it).
  float m = std::max(-151.0f, n);
  float half = (m * 0.5f + kRound) - kRound; // round(m / 2), in [-76, 64]
  return p * exp2Integral(half) * exp2Integral(m - half);
}

inline float fastSigmoid(float x) { return 1.0f / (1.0f + fastExp(-x)); }

inline float fastTanh(float x) {
  float a = std::min(x < 0.0f ? -x : x, 20.0f); // tanh(20) is 1 in float
  // Small |x|: odd polynomial (no cancellation); otherwise 1 - 2 / (e^2a + 1).
  float z = x * x;
  float small = -5.70498872745e-3f;
  small = small * z + 2.06390887954e-2f;
  small = small * z - 5.37397155531e-2f;
  small = small * z + 1.33314422036e-1f;
  small = small * z - 3.33332819422e-1f;
  small = small * z * x + x;
  float big = 1.0f - 2.0f / (fastExp(2.0f * a) + 1.0f);
  big = x < 0.0f ? -big : big;
  // NaN: both comparisons false, `big` carries the NaN from fastExp.
  return a < 0.625f ? small : big;
}

} // namespace ds::rt::elementwise
