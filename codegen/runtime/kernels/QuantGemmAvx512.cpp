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

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  ((family.byRows[Rows + 1] = &microKernelAvx512Vnni<Rows + 1>), ...);
  return family;
}

} // namespace

const MicroKernelFamily &avx512VnniMicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::quant_gemm_detail
