//===- GemmAvx2.cpp - AVX2+FMA micro-kernels of the FP32 GEMM -------------===//
//
// 6 x 16 tiles: 12 ymm accumulators, two ymm of B per k step and one broadcast
// of A per row; the classic shape for 16 vector registers. Only intrinsics are
// used under the target attribute (see GemmAvx512.cpp for why).
//===----------------------------------------------------------------------===//
#include "GemmMicroKernels.h"

#include <immintrin.h>
#include <utility>

namespace ds::rt::gemm_detail {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;

template <int Rows>
__attribute__((target("avx2,fma"))) void microKernelAvx2(int64_t kc, const float *ap,
                                                         const float *bp, float *c,
                                                         int64_t ldc, int64_t cols,
                                                         float alpha, bool accumulate) {
  __m256 acc0[Rows], acc1[Rows];
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    acc0[i] = _mm256_setzero_ps();
    acc1[i] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(bp);
    __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 16
    for (int i = 0; i < Rows; ++i) {
      __m256 a = _mm256_broadcast_ss(ap + i);
      acc0[i] = _mm256_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(a, b1, acc1[i]);
    }
    ap += kMR;
    bp += kNR;
  }

  __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int32_t c32 = static_cast<int32_t>(cols);
  __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(c32), lane);
  __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(c32 - 8), lane);
  __m256 alphaV = _mm256_set1_ps(alpha);
#pragma GCC unroll 16
  for (int i = 0; i < Rows; ++i) {
    float *row = c + i * ldc;
    __m256 r0 = _mm256_mul_ps(acc0[i], alphaV);
    __m256 r1 = _mm256_mul_ps(acc1[i], alphaV);
    if (cols == kNR) {
      if (accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(row));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    } else {
      if (accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_maskload_ps(row, mask0));
        r1 = _mm256_add_ps(r1, _mm256_maskload_ps(row + 8, mask1));
      }
      _mm256_maskstore_ps(row, mask0, r0);
      _mm256_maskstore_ps(row + 8, mask1, r1);
    }
  }
}

__attribute__((target("avx2,fma"))) inline __m256i tailMask(int64_t n) {
  int32_t n32 = n >= 8 ? 8 : static_cast<int32_t>(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

__attribute__((target("avx2,fma"))) float dotAvx2(int64_t n, const float *x,
                                                  const float *y) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), acc3);
  }
  for (; i < n; i += 8) {
    __m256i m = tailMask(n - i);
    acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m), acc0);
  }
  acc0 = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

__attribute__((target("avx2,fma"))) void accumulateRowsAvx2(int64_t count, int64_t n,
                                                            const float *s, const float *x,
                                                            int64_t ldx, float *acc) {
  int64_t k = 0;
  // Four rows per pass over acc: a quarter of the acc traffic, same k order.
  for (; k + 4 <= count; k += 4) {
    const float *x0 = x + k * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
    __m256 s0 = _mm256_set1_ps(s[k]), s1 = _mm256_set1_ps(s[k + 1]);
    __m256 s2 = _mm256_set1_ps(s[k + 2]), s3 = _mm256_set1_ps(s[k + 3]);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      __m256 a = _mm256_loadu_ps(acc + j);
      a = _mm256_fmadd_ps(s0, _mm256_loadu_ps(x0 + j), a);
      a = _mm256_fmadd_ps(s1, _mm256_loadu_ps(x1 + j), a);
      a = _mm256_fmadd_ps(s2, _mm256_loadu_ps(x2 + j), a);
      a = _mm256_fmadd_ps(s3, _mm256_loadu_ps(x3 + j), a);
      _mm256_storeu_ps(acc + j, a);
    }
    if (j < n) {
      __m256i m = tailMask(n - j);
      __m256 a = _mm256_maskload_ps(acc + j, m);
      a = _mm256_fmadd_ps(s0, _mm256_maskload_ps(x0 + j, m), a);
      a = _mm256_fmadd_ps(s1, _mm256_maskload_ps(x1 + j, m), a);
      a = _mm256_fmadd_ps(s2, _mm256_maskload_ps(x2 + j, m), a);
      a = _mm256_fmadd_ps(s3, _mm256_maskload_ps(x3 + j, m), a);
      _mm256_maskstore_ps(acc + j, m, a);
    }
  }
  for (; k < count; ++k) {
    const float *x0 = x + k * ldx;
    __m256 s0 = _mm256_set1_ps(s[k]);
    for (int64_t j = 0; j < n; j += 8) {
      __m256i m = tailMask(n - j);
      __m256 a = _mm256_maskload_ps(acc + j, m);
      a = _mm256_fmadd_ps(s0, _mm256_maskload_ps(x0 + j, m), a);
      _mm256_maskstore_ps(acc + j, m, a);
    }
  }
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  family.nr = kNR;
  ((family.byRows[Rows + 1] = &microKernelAvx2<Rows + 1>), ...);
  family.dot = &dotAvx2;
  family.accumulateRows = &accumulateRowsAvx2;
  return family;
}

} // namespace

const MicroKernelFamily &avx2MicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::gemm_detail
