//===- Gemm.h - the library's single-precision matrix multiply ------------===//
//
// gemmF32 is the FP32 GEMM behind the matmul and gemm kernels, and the entry
// point generated code calls directly for MatMul/Gemm nodes. It is a packed,
// cache-blocked GEMM with AVX-512, AVX2+FMA and portable micro-kernels picked at
// run time from the CPU's features (the library itself is built for baseline
// x86-64). Results are bit-identical for any thread count: K is always blocked
// the same way and every output element is summed by one thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"
#include "ds/runtime/ThreadPool.h"

#include <cstdint>

namespace ds::rt {

/// A broadcast addend: element (i, j) of the M x N output gets
/// data[i * rowStride + j * colStride]. Strides of 0 broadcast: a per-column
/// bias vector is {v, 0, 1}, a per-row one {v, 1, 0}, a scalar {v, 0, 0}, a full
/// M x N matrix {v, N, 1}. data == nullptr means no bias.
struct GemmBias {
  const float *data = nullptr;
  int64_t rowStride = 0;
  int64_t colStride = 0;
};

/// Row-major C[M x N] = alpha * op(A) * op(B) + beta * C + bias.
/// op(A) is M x K: A is stored M x K (row stride lda >= K), or K x M when transA
/// (lda >= M). op(B) is K x N: B stored K x N (ldb >= N), or N x K when transB
/// (ldb >= K). ldc >= N. beta == 0 means C is write-only (it may hold garbage,
/// even NaN). C must not alias A, B or the bias.
/// pool == nullptr runs on the calling thread only: use that from inside a
/// parallelFor body (the pool is not reentrant), e.g. for batched products.
void gemmF32(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
             float *C, int64_t ldc, const GemmBias &bias, ThreadPool *pool);

inline void gemmF32(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc,
                    const GemmBias &bias, ThreadPool &pool) {
  gemmF32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, &pool);
}

/// The micro-kernel families. gemmF32 uses gemmBestIsa(); tests and benchmarks
/// call gemmF32WithIsa to exercise each one the CPU supports.
enum class GemmIsa { Portable, Avx2Fma, Avx512 };

/// The fastest family this CPU (and OS) supports.
GemmIsa gemmBestIsa();
/// Whether the CPU can run `isa`.
bool gemmIsaSupported(GemmIsa isa);
const char *gemmIsaName(GemmIsa isa);

/// gemmF32 with a chosen micro-kernel family; throws rt::Error if unsupported.
void gemmF32WithIsa(GemmIsa isa, bool transA, bool transB, int64_t M, int64_t N,
                    int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc, const GemmBias &bias,
                    ThreadPool *pool);

/// op(B) packed once in the layout gemmF32 builds on every call, for products
/// that share one B (constant weights): gemmF32Prepacked then skips packing,
/// and computes exactly the bits gemmF32 would. Keeps a pointer to B itself
/// (the M == 1 path streams B unpacked), so B must outlive the pack.
struct GemmPackedB {
  GemmIsa isa = GemmIsa::Portable;
  bool transB = false;
  int64_t K = 0, N = 0;
  const float *B = nullptr;
  int64_t ldb = 1;
  Tensor storage; // the packed panels (absent when K or N is 0)
};

/// Packs op(B) (K x N; B stored as for gemmF32) for the micro-kernels of `isa`.
GemmPackedB gemmPackB(GemmIsa isa, bool transB, int64_t K, int64_t N, const float *B,
                      int64_t ldb, ThreadPool *pool);
inline GemmPackedB gemmPackB(bool transB, int64_t K, int64_t N, const float *B,
                             int64_t ldb, ThreadPool *pool) {
  return gemmPackB(gemmBestIsa(), transB, K, N, B, ldb, pool);
}

/// gemmF32 with op(B) from `packed` (its K, N, transB and ISA).
void gemmF32Prepacked(bool transA, int64_t M, float alpha, const float *A, int64_t lda,
                      const GemmPackedB &packed, float beta, float *C, int64_t ldc,
                      const GemmBias &bias, ThreadPool *pool);

} // namespace ds::rt
