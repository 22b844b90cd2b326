//===- GemmAvx512.cpp - AVX-512 micro-kernels of the FP32 GEMM ------------===//
//
// 12 x 32 tiles: 24 zmm accumulators, two zmm of B per k step and one broadcast
// of A per row (folded into the FMA as an embedded broadcast). A comes from
// packed panels or, for a row-major A, straight from its rows. Only intrinsics
// are used under the target attribute, so nothing compiled for AVX-512 can leak
// into baseline code through a shared inline function.
//===----------------------------------------------------------------------===//
#include "GemmMicroKernels.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

namespace ds::rt::gemm_detail {
namespace {

constexpr int kMR = 12;
constexpr int kNR = 32;

/// One 12 x 32 tile: A from packed panels (ap[k * kMR + i]) or, Unpacked, in
/// place from a row-major A (ap[i * lda + k]); the FMAs are the same either way.
template <int Rows, bool Unpacked>
__attribute__((target("avx512f"), always_inline)) inline void
tileAvx512(int64_t kc, const float *ap, int64_t lda, const float *bp, float *c, int64_t ldc,
           int64_t cols, float alpha, bool accumulate) {
  __m512 acc0[Rows], acc1[Rows];
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(bp);
    __m512 b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      __m512 a = _mm512_set1_ps(Unpacked ? ap[i * lda] : ap[i]);
      acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
    }
    ap += Unpacked ? 1 : kMR;
    bp += kNR;
  }

  __mmask16 mask0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  __mmask16 mask1 = cols >= 32   ? __mmask16(0xFFFF)
                    : cols <= 16 ? __mmask16(0)
                                 : __mmask16((1u << (cols - 16)) - 1);
  __m512 alphaV = _mm512_set1_ps(alpha);
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    float *row = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(acc0[i], alphaV);
    __m512 r1 = _mm512_mul_ps(acc1[i], alphaV);
    if (accumulate) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(mask0, row));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(mask1, row + 16));
    }
    _mm512_mask_storeu_ps(row, mask0, r0);
    _mm512_mask_storeu_ps(row + 16, mask1, r1);
  }
}

template <int Rows>
__attribute__((target("avx512f"))) void microKernelAvx512(int64_t kc, const float *ap,
                                                          const float *bp, float *c,
                                                          int64_t ldc, int64_t cols,
                                                          float alpha, bool accumulate) {
  tileAvx512<Rows, false>(kc, ap, kMR, bp, c, ldc, cols, alpha, accumulate);
}

template <int Rows>
__attribute__((target("avx512f"))) void microKernelAvx512Rows(int64_t kc, const float *a,
                                                              int64_t lda, const float *bp,
                                                              float *c, int64_t ldc,
                                                              int64_t cols, float alpha,
                                                              bool accumulate) {
  tileAvx512<Rows, true>(kc, a, lda, bp, c, ldc, cols, alpha, accumulate);
}

__attribute__((target("avx512f"))) inline __mmask16 tailMask(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
}

__attribute__((target("avx512f"))) float dotAvx512(int64_t n, const float *x,
                                                   const float *y) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), acc3);
  }
  for (; i < n; i += 16) {
    __mmask16 m = tailMask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i),
                           acc0);
  }
  acc0 = _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3));
  // Lanes summed pairwise in a fixed order (GCC 12's reduce/extract intrinsics
  // trip -Wuninitialized inside its own headers).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, acc0);
  for (int width = 8; width >= 1; width /= 2)
    for (int i = 0; i < width; ++i)
      lanes[i] += lanes[i + width];
  return lanes[0];
}

__attribute__((target("avx512f"))) void accumulateRowsAvx512(int64_t count, int64_t n,
                                                             const float *s,
                                                             const float *x, int64_t ldx,
                                                             float *acc) {
  int64_t k = 0;
  // Four rows per pass over acc: a quarter of the acc traffic, same k order.
  for (; k + 4 <= count; k += 4) {
    const float *x0 = x + k * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
    __m512 s0 = _mm512_set1_ps(s[k]), s1 = _mm512_set1_ps(s[k + 1]);
    __m512 s2 = _mm512_set1_ps(s[k + 2]), s3 = _mm512_set1_ps(s[k + 3]);
    for (int64_t j = 0; j < n; j += 16) {
      __mmask16 m = tailMask(n - j);
      __m512 a = _mm512_maskz_loadu_ps(m, acc + j);
      a = _mm512_fmadd_ps(s0, _mm512_maskz_loadu_ps(m, x0 + j), a);
      a = _mm512_fmadd_ps(s1, _mm512_maskz_loadu_ps(m, x1 + j), a);
      a = _mm512_fmadd_ps(s2, _mm512_maskz_loadu_ps(m, x2 + j), a);
      a = _mm512_fmadd_ps(s3, _mm512_maskz_loadu_ps(m, x3 + j), a);
      _mm512_mask_storeu_ps(acc + j, m, a);
    }
  }
  for (; k < count; ++k) {
    const float *x0 = x + k * ldx;
    __m512 s0 = _mm512_set1_ps(s[k]);
    for (int64_t j = 0; j < n; j += 16) {
      __mmask16 m = tailMask(n - j);
      __m512 a = _mm512_maskz_loadu_ps(m, acc + j);
      a = _mm512_fmadd_ps(s0, _mm512_maskz_loadu_ps(m, x0 + j), a);
      _mm512_mask_storeu_ps(acc + j, m, a);
    }
  }
}

/// The sum of v's lanes as a tree in registers (halves, quarters, pairs):
/// a store and 15 scalar reloads per output cost more than a block's FMAs.
/// The masked permute forms keep GCC 12 from warning inside its own headers.
__attribute__((target("avx512f"))) inline float sumLanes(__m512 v) {
  const __m512i halves = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m512i quarters = _mm512_setr_epi32(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  const __m512i pairs = _mm512_setr_epi32(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  const __m512i neighbours = _mm512_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  v = _mm512_add_ps(v, _mm512_mask_permutexvar_ps(v, 0xFFFF, halves, v));
  v = _mm512_add_ps(v, _mm512_mask_permutexvar_ps(v, 0xFFFF, quarters, v));
  v = _mm512_add_ps(v, _mm512_mask_permutexvar_ps(v, 0xFFFF, pairs, v));
  v = _mm512_add_ps(v, _mm512_mask_permutexvar_ps(v, 0xFFFF, neighbours, v));
  return _mm512_cvtss_f32(v);
}

/// One block of dots (DotsFn): RI rows of a against CJ rows of b, one zmm
/// accumulator per output (RI * CJ <= 24), each summing 16 lanes over k.
template <int RI, int CJ>
__attribute__((target("avx512f"))) void dotBlock(int64_t K, const float *a, int64_t lda,
                                                 const float *b, int64_t ldb, float *out,
                                                 int64_t ldo) {
  __m512 acc[RI][CJ];
#pragma GCC unroll 8
  for (int i = 0; i < RI; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < CJ; ++j)
      acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = tailMask(K - k);
    __m512 av[RI];
#pragma GCC unroll 8
    for (int i = 0; i < RI; ++i)
      av[i] = _mm512_maskz_loadu_ps(m, a + i * lda + k);
#pragma GCC unroll 8
    for (int j = 0; j < CJ; ++j) {
      const __m512 bv = _mm512_maskz_loadu_ps(m, b + j * ldb + k);
#pragma GCC unroll 8
      for (int i = 0; i < RI; ++i)
        acc[i][j] = _mm512_fmadd_ps(av[i], bv, acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < RI; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < CJ; ++j)
      out[i * ldo + j] = sumLanes(acc[i][j]);
}

using DotBlockFn = void (*)(int64_t, const float *, int64_t, const float *, int64_t, float *,
                            int64_t);
constexpr int kDotRows = 3, kDotCols = 8;

template <int RI, int... CJ> constexpr std::array<DotBlockFn, kDotCols> dotRow(std::integer_sequence<int, CJ...>) {
  return {&dotBlock<RI, CJ + 1>...};
}
constexpr std::array<std::array<DotBlockFn, kDotCols>, kDotRows> kDotBlocks{
    dotRow<1>(std::make_integer_sequence<int, kDotCols>{}),
    dotRow<2>(std::make_integer_sequence<int, kDotCols>{}),
    dotRow<3>(std::make_integer_sequence<int, kDotCols>{})};

void dotsAvx512(int64_t K, int64_t rows, int64_t cols, const float *a, int64_t lda,
                const float *b, int64_t ldb, float *out, int64_t ldo) {
  for (int64_t i = 0; i < rows; i += kDotRows) {
    const int64_t ri = std::min<int64_t>(kDotRows, rows - i);
    for (int64_t j = 0; j < cols; j += kDotCols) {
      const int64_t cj = std::min<int64_t>(kDotCols, cols - j);
      kDotBlocks[ri - 1][cj - 1](K, a + i * lda, lda, b + j * ldb, ldb, out + i * ldo + j, ldo);
    }
  }
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  family.nr = kNR;
  ((family.byRows[Rows + 1] = &microKernelAvx512<Rows + 1>), ...);
  ((family.byRowsUnpacked[Rows + 1] = &microKernelAvx512Rows<Rows + 1>), ...);
  family.dot = &dotAvx512;
  family.accumulateRows = &accumulateRowsAvx512;
  family.dots = &dotsAvx512;
  family.packTransposed = &packTransposedAvx;
  return family;
}

} // namespace

const MicroKernelFamily &avx512MicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::gemm_detail
