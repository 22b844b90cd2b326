//===- QuantGemmAvx2.cpp - exact AVX2 micro-kernels of the u8s8 GEMM -------===//
//
// CPUs without VNNI. vpmaddubsw would be the obvious instruction, but it adds
// two u8 * s8 products into a saturating int16, and 255 * 127 * 2 = 64770 does
// not fit: results would silently differ from the VNNI paths. Instead A and B
// are widened to int16 and multiplied with vpmaddwd, whose pair sums land in
// int32 exactly.
//
// Per group of 4 k, 16 bytes of B (4 columns x 4 k) widen to one ymm of int16;
// the row's 4 A values, widened, are broadcast to all four 64-bit lanes.
// vpmaddwd leaves two partial sums per column (k0k1 and k2k3), which are kept
// apart until the end of K and then folded with one hadd + permute.
// 2 rows x 16 columns per pass (8 accumulators), two passes per 32-column panel.
//===----------------------------------------------------------------------===//
#include "QuantGemm.h"
#include "QuantGemmKernels.h"

#include <immintrin.h>

#include <cstring>
#include <utility>

namespace ds::rt::quant_gemm_detail {
namespace {

constexpr int kMR = 2;

template <int Rows>
__attribute__((target("avx2"))) void microKernelAvx2(int64_t kGroups, const uint8_t *ap,
                                                     const int8_t *bp, int32_t *c,
                                                     int64_t ldc, bool accumulate) {
  for (int half = 0; half < 2; ++half) {
    __m256i acc[Rows][4];
#pragma GCC unroll 4
    for (int i = 0; i < Rows; ++i)
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q)
        acc[i][q] = _mm256_setzero_si256();
    const uint8_t *a = ap;
    const int8_t *b = bp + half * 64;
    for (int64_t g = 0; g < kGroups; ++g) {
      __m256i a16[Rows];
#pragma GCC unroll 4
      for (int i = 0; i < Rows; ++i) {
        int32_t quad;
        std::memcpy(&quad, a + i * 4, 4);
        a16[i] = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(quad)));
      }
#pragma GCC unroll 4
      for (int q = 0; q < 4; ++q) {
        const __m256i b16 = _mm256_cvtepi8_epi16(
            _mm_load_si128(reinterpret_cast<const __m128i *>(b + 16 * q)));
#pragma GCC unroll 4
        for (int i = 0; i < Rows; ++i)
          acc[i][q] = _mm256_add_epi32(acc[i][q], _mm256_madd_epi16(a16[i], b16));
      }
      a += kMR * 4;
      b += kQuantGemmNR * 4;
    }
#pragma GCC unroll 4
    for (int i = 0; i < Rows; ++i) {
      int32_t *row = c + i * ldc + half * 16;
#pragma GCC unroll 2
      for (int pair = 0; pair < 2; ++pair) {
        // hadd gives [q0c0 q0c1 q1c0 q1c1 | q0c2 q0c3 q1c2 q1c3]; reorder the
        // 64-bit halves to columns 0..7 of the pair.
        __m256i sums = _mm256_hadd_epi32(acc[i][2 * pair], acc[i][2 * pair + 1]);
        sums = _mm256_permute4x64_epi64(sums, 0xD8);
        auto *p = reinterpret_cast<__m256i *>(row + 8 * pair);
        if (accumulate)
          sums = _mm256_add_epi32(sums, _mm256_loadu_si256(p));
        _mm256_storeu_si256(p, sums);
      }
    }
  }
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  ((family.byRows[Rows + 1] = &microKernelAvx2<Rows + 1>), ...);
  return family;
}

} // namespace

const MicroKernelFamily &avx2MicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::quant_gemm_detail
