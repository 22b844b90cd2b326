//===- VectorExp.h - exp(x) for x <= 0, scalar and AVX-512 ----------------===//
//
// Softmax and attention exponentiate max-shifted scores (all <= 0): range
// reduction by ln 2, a degree-6 polynomial and the exponent bits, about 1e-7
// relative error. The scalar form is for the baseline x86-64 build (no FMA,
// so nothing contracts); callers use the AVX-512 form only under their own
// AVX-512 target attribute, whose target must include avx512f to inline it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ds::rt::vexp {

/// exp(x) for x <= 0 (softmax only exponentiates x - max), float: range
/// reduction by ln 2 and a degree-6 polynomial, about 2 ulp, written branch-free
/// so the loops around it vectorize. Below -87 it returns exp(-87) ~ 1.6e-38
/// instead of 0 (irrelevant next to the row's largest term, which is 1); NaN
/// stays NaN.
inline float expNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; // round(x / ln2)
  float r = x - n * 0.693145752f;                                  // ln2, high part
  r = r - n * 1.42860677e-6f;                                      // ln2, low part
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23; // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

__attribute__((target("avx512f"))) inline __m512 expNonPositiveAvx512(__m512 x) {
  // max(c, x) returns x when x is NaN, so NaN propagates.
  x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
  // round(x / ln2) with the 1.5 * 2^23 trick (vrndscaleps is slow on some CPUs).
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), magic), magic);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  // 2^n from the exponent bits; n >= -126 after the clamp, so it is normal.
  __m512i bits = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

} // namespace ds::rt::vexp
