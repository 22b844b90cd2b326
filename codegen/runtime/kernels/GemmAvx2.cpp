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

/// Transposes the 8 x 8 block at src (row stride ld) into dst (row stride nr).
__attribute__((target("avx2,fma"))) inline void transpose8x8(const float *src, int64_t ld,
                                                             float *dst, int64_t nr) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * ld), r1 = _mm256_loadu_ps(src + 1 * ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * nr, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + 1 * nr, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * nr, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * nr, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * nr, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * nr, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * nr, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * nr, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/// Transposes the 4 x 8 block at src (row stride ld): 8 rows of 4 at dst.
__attribute__((target("avx2,fma"))) inline void transpose4x8(const float *src, int64_t ld,
                                                             float *dst, int64_t nr) {
  __m128 a0 = _mm_loadu_ps(src + 0 * ld), a1 = _mm_loadu_ps(src + 1 * ld);
  __m128 a2 = _mm_loadu_ps(src + 2 * ld), a3 = _mm_loadu_ps(src + 3 * ld);
  __m128 b0 = _mm_loadu_ps(src + 0 * ld + 4), b1 = _mm_loadu_ps(src + 1 * ld + 4);
  __m128 b2 = _mm_loadu_ps(src + 2 * ld + 4), b3 = _mm_loadu_ps(src + 3 * ld + 4);
  _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
  _MM_TRANSPOSE4_PS(b0, b1, b2, b3);
  _mm_storeu_ps(dst + 0 * nr, a0);
  _mm_storeu_ps(dst + 1 * nr, a1);
  _mm_storeu_ps(dst + 2 * nr, a2);
  _mm_storeu_ps(dst + 3 * nr, a3);
  _mm_storeu_ps(dst + 4 * nr, b0);
  _mm_storeu_ps(dst + 5 * nr, b1);
  _mm_storeu_ps(dst + 6 * nr, b2);
  _mm_storeu_ps(dst + 7 * nr, b3);
}

template <int... Rows>
MicroKernelFamily makeFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kMR;
  family.nr = kNR;
  ((family.byRows[Rows + 1] = &microKernelAvx2<Rows + 1>), ...);
  family.dot = &dotAvx2;
  family.accumulateRows = &accumulateRowsAvx2;
  family.packTransposed = &packTransposedAvx;
  return family;
}

} // namespace

__attribute__((target("avx2,fma"))) void packTransposedAvx(const float *src, int64_t ld,
                                                            int64_t width, int64_t kc, int nr,
                                                            float *dst) {
  const int64_t fullK = kc / 8 * 8;
  const int64_t j8 = width / 8 * 8, fullJ = width - j8 >= 4 ? j8 + 4 : j8;
  for (int64_t k = 0; k < fullK; k += 8) {
    for (int64_t j = 0; j < j8; j += 8)
      transpose8x8(src + j * ld + k, ld, dst + k * nr + j, nr);
    if (fullJ > j8)
      transpose4x8(src + j8 * ld + k, ld, dst + k * nr + j8, nr);
  }
  // Ragged edges and the zero padding, element by element.
  for (int64_t k = 0; k < kc; ++k) {
    float *d = dst + k * nr;
    int64_t jStart = k < fullK ? fullJ : 0;
    for (int64_t j = jStart; j < width; ++j)
      d[j] = src[j * ld + k];
    for (int64_t j = width; j < nr; ++j)
      d[j] = 0.0f;
  }
}

const MicroKernelFamily &avx2MicroKernels() {
  static const MicroKernelFamily family = makeFamily(std::make_integer_sequence<int, kMR>{});
  return family;
}

} // namespace ds::rt::gemm_detail
