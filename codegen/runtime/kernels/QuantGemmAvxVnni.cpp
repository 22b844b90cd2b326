//===- QuantGemmAvxVnni.cpp - AVX-VNNI (VEX, 256-bit) micro-kernels --------===//
//
// For CPUs with VNNI but without AVX-512 (Alder Lake and later client cores)
// or where 256-bit code runs better. 3 x 32 tiles: 12 ymm accumulators; B is
// read straight from L1 as vpdpbusd's memory operand to stay within 16 ymm.
//===----------------------------------------------------------------------===//
#include "QuantGemm.h"
#include "QuantGemmKernels.h"

#include <immintrin.h>

#include <cstring>
#include <utility>

namespace ds::rt::quant_gemm_detail {
namespace {

constexpr int kMR = 3;

template <int Rows>
__attribute__((target("avx2,avxvnni"))) void
microKernelAvxVnni(int64_t kGroups, const uint8_t *ap, const int8_t *bp, int32_t *c,
                   int64_t ldc, bool accumulate) {
  __m256i acc[Rows][4];
#pragma GCC unroll 4
  for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v)
      acc[i][v] = _mm256_setzero_si256();
  for (int64_t g = 0; g < kGroups; ++g) {
#pragma GCC unroll 4
    for (int i = 0; i < Rows; ++i) {
      int32_t quad;
      std::memcpy(&quad, ap + i * 4, 4);
      const __m256i a = _mm256_set1_epi32(quad);
#pragma GCC unroll 4
      for (int v = 0; v < 4; ++v)
        acc[i][v] = _mm256_dpbusd_avx_epi32(
            acc[i][v], a, _mm256_load_si256(reinterpret_cast<const __m256i *>(bp + 32 * v)));
    }
    ap += kMR * 4;
    bp += kQuantGemmNR * 4;
  }
#pragma GCC unroll 4
  for (int i = 0; i < Rows; ++i) {
    int32_t *row = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      auto *p = reinterpret_cast<__m256i *>(row + 8 * v);
      __m256i r = acc[i][v];
      if (accumulate)
        r = _mm256_add_epi32(r, _mm256_loadu_si256(p));
      _mm256_storeu_si256(p, r);
    }
  }
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  ((family.byRows[Rows + 1] = &microKernelAvxVnni<Rows + 1>), ...);
  return family;
}

} // namespace

const MicroKernelFamily &avxVnniMicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::quant_gemm_detail
