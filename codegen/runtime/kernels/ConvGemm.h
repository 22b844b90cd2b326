//===- ConvGemm.h - the matrix product under im2col convolution ------------===//
//
// Conv, ConvInteger and ConvTranspose reduce to C = A * B on row-major blocks
// with leading dimensions. All of them call convGemm. float goes to the
// library's packed, ISA-dispatched GEMM (Gemm.h's gemmF32); double and int32
// (ConvInteger) use the register-blocked loop below: 4 rows of A times a
// 64-wide strip of B, accumulated in a small local tile. Single-threaded:
// callers parallelize over independent output blocks (the pool is not
// reentrant, so gemmF32 gets no pool).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Gemm.h"

#include <algorithm>
#include <cstdint>

namespace ds::rt::conv {

/// C[m, n] = sum_k A[m, k] * B[k, n] for m < M, n < N (C is overwritten).
template <typename T>
void convGemm(int64_t M, int64_t N, int64_t K, const T *A, int64_t lda, const T *B,
              int64_t ldb, T *C, int64_t ldc) {
  constexpr int64_t kRows = 4, kCols = 64;
  for (int64_t n0 = 0; n0 < N; n0 += kCols) {
    const int64_t nb = std::min(kCols, N - n0);
    int64_t m0 = 0;
    for (; m0 + kRows <= M; m0 += kRows) {
      T acc[kRows][kCols] = {};
      const T *a0 = A + m0 * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
      for (int64_t k = 0; k < K; ++k) {
        const T *b = B + k * ldb + n0;
        const T v0 = a0[k], v1 = a1[k], v2 = a2[k], v3 = a3[k];
        if (nb == kCols) {
          for (int64_t j = 0; j < kCols; ++j) {
            acc[0][j] += v0 * b[j];
            acc[1][j] += v1 * b[j];
            acc[2][j] += v2 * b[j];
            acc[3][j] += v3 * b[j];
          }
        } else {
          for (int64_t j = 0; j < nb; ++j) {
            acc[0][j] += v0 * b[j];
            acc[1][j] += v1 * b[j];
            acc[2][j] += v2 * b[j];
            acc[3][j] += v3 * b[j];
          }
        }
      }
      for (int64_t r = 0; r < kRows; ++r)
        std::copy(acc[r], acc[r] + nb, C + (m0 + r) * ldc + n0);
    }
    for (; m0 < M; ++m0) {
      T acc[kCols] = {};
      const T *a = A + m0 * lda;
      for (int64_t k = 0; k < K; ++k) {
        const T *b = B + k * ldb + n0;
        const T v = a[k];
        for (int64_t j = 0; j < nb; ++j)
          acc[j] += v * b[j];
      }
      std::copy(acc, acc + nb, C + m0 * ldc + n0);
    }
  }
}

/// float: the shared tuned GEMM, on the calling thread.
template <>
inline void convGemm<float>(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            const float *B, int64_t ldb, float *C, int64_t ldc) {
  gemmF32(false, false, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, GemmBias{}, nullptr);
}

} // namespace ds::rt::conv
