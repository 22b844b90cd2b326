//===- QuantGemmAvx512.cpp - AVX512-VNNI micro-kernels of the u8s8 GEMM ---===//
//
// 12 x 32 tiles: 24 zmm int32 accumulators; per group of 4 k, two zmm of B
// and one broadcast of 4 A bytes per row, each pair fed to vpdpbusd (u8 x s8,
// four products summed into each int32 lane, wrapping, no saturation).
//===----------------------------------------------------------------------===//
#include "QuantGemm.h"
#include "QuantGemmKernels.h"

#include <immintrin.h>

#include <cstring>
#include <utility>

namespace ds::rt::quant_gemm_detail {
namespace {

constexpr int kMR = 12;

template <int Rows>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
microKernelAvx512Vnni(int64_t kGroups, const uint8_t *ap, const int8_t *bp, int32_t *c,
                      int64_t ldc, bool accumulate) {
  __m512i acc0[Rows], acc1[Rows];
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    acc0[i] = _mm512_setzero_si512();
    acc1[i] = _mm512_setzero_si512();
  }
  for (int64_t g = 0; g < kGroups; ++g) {
    const __m512i b0 = _mm512_load_si512(bp);
    const __m512i b1 = _mm512_load_si512(bp + 64);
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      int32_t quad;
      std::memcpy(&quad, ap + i * 4, 4);
      const __m512i a = _mm512_set1_epi32(quad);
      acc0[i] = _mm512_dpbusd_epi32(acc0[i], a, b0);
      acc1[i] = _mm512_dpbusd_epi32(acc1[i], a, b1);
    }
    ap += kMR * 4;
    bp += kQuantGemmNR * 4;
  }
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    int32_t *row = c + i * ldc;
    __m512i r0 = acc0[i], r1 = acc1[i];
    if (accumulate) {
      r0 = _mm512_add_epi32(r0, _mm512_loadu_si512(row));
      r1 = _mm512_add_epi32(r1, _mm512_loadu_si512(row + 16));
    }
    _mm512_storeu_si512(row, r0);
    _mm512_storeu_si512(row + 16, r1);
  }
}

/// min/max (and the conversion below) through the masked forms: the plain ones
/// read an "undefined" vector that GCC 12 flags with -Wmaybe-uninitialized
/// inside its own headers.
__attribute__((target("avx512f"))) inline __m512 clampPs(__m512 v, __m512 lo, __m512 hi) {
  v = _mm512_mask_max_ps(v, __mmask16(0xFFFF), v, lo);
  return _mm512_mask_min_ps(v, __mmask16(0xFFFF), v, hi);
}

/// movement::quantizeValue<uint8_t>, 16 lanes at a time: every step is the
/// same IEEE single-precision operation, so the bits are the scalar ones.
__attribute__((target("avx512f,avx512bw"))) void quantizeRowAvx512(const float *x, int64_t n,
                                                                   float scale, float zp,
                                                                   uint8_t *dst) {
  const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zp);
  const __m512 magic = _mm512_set1_ps(12582912.0f), limit = _mm512_set1_ps(4194304.0f);
  const __m512 negLimit = _mm512_set1_ps(-4194304.0f);
  const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    __m512 q = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s);
    // NaN -> 0, then clamp to +-2^22 (max/min return the second operand on NaN).
    q = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(q, q, _CMP_ORD_Q), q);
    q = clampPs(q, negLimit, limit);
    __m512 v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(q, magic), magic), z);
    v = clampPs(v, lo, hi);
    _mm512_mask_cvtepi32_storeu_epi8(
        dst + i, m, _mm512_maskz_cvttps_epi32(__mmask16(0xFFFF), v));
  }
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  ((family.byRows[Rows + 1] = &microKernelAvx512Vnni<Rows + 1>), ...);
  family.quantizeRow = &quantizeRowAvx512;
  return family;
}

} // namespace

const MicroKernelFamily &avx512VnniMicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::quant_gemm_detail
