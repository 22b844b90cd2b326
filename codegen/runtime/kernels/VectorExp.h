//===- VectorExp.h - exp(x) for x <= 0, 16 floats at a time (AVX-512) ------===//
//
// Softmax and attention exponentiate max-shifted scores (all <= 0): range
// reduction by ln 2, a degree-6 polynomial and the exponent bits, about 1e-7
// relative error. Callers compile it only under their own AVX-512 target
// attribute (the library is baseline x86-64); a caller whose target is a
// superset of avx512f can inline it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <immintrin.h>

namespace ds::rt::vexp {

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
