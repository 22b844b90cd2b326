//===- GemmMicroKernels.h - the contract between the GEMM driver and its ISAs ===//
//
// Internal to Gemm*.cpp. The driver (Gemm.cpp) packs operands and walks the
// blocks; a micro-kernel family computes one MR x NR tile of C from packed
// panels. Each ISA lives in its own file, compiled with target attributes so the
// library stays baseline x86-64.
//
// Packed layouts (both zero-padded to the full panel width):
//   A panel: kc steps of MR floats, ap[k * MR + i] = op(A)(i0 + i, p0 + k)
//   B panel: kc steps of NR floats, bp[k * NR + j] = op(B)(p0 + k, j0 + j)
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace ds::rt::gemm_detail {

/// Computes rows x cols of one tile (rows is fixed per function, cols <= NR):
///   c[i * ldc + j] = alpha * sum_k ap[k*MR+i] * bp[k*NR+j]   (+ c[..] if accumulate)
/// The k loop runs in increasing order so every family sums the same way.
using MicroKernelFn = void (*)(int64_t kc, const float *ap, const float *bp, float *c,
                               int64_t ldc, int64_t cols, float alpha, bool accumulate);
/// The same tile with A read in place from a row-major A (row i at a + i * lda,
/// k contiguous): the same products in the same order, so the same bits, without
/// packing A (a block transpose per MR rows, ~8% of a small LM's GEMM time).
using MicroKernelRowsFn = void (*)(int64_t kc, const float *a, int64_t lda, const float *bp,
                                   float *c, int64_t ldc, int64_t cols, float alpha,
                                   bool accumulate);

/// Matrix-vector helpers for M == 1 or N == 1, where packing would cost more
/// than the products. Both sum over k in increasing order per vector lane and
/// then reduce the lanes in a fixed order, so results depend on n alone.
/// dot: sum_k x[k] * y[k].
using DotFn = float (*)(int64_t n, const float *x, const float *y);
/// accumulateRows: acc[j] += sum_k s[k] * x[k * ldx + j] for j < n (k < count).
using AccumulateRowsFn = void (*)(int64_t count, int64_t n, const float *s,
                                  const float *x, int64_t ldx, float *acc);

/// dots: out[i * ldo + j] = sum_k a[i * lda + k] * b[j * ldb + k] for i < rows,
/// j < cols: a GEMM whose A and op(B) = B^T both run along K, for few output
/// columns, where NR-wide packed panels would be mostly padding. Every output
/// sums its lanes over k in increasing order, then reduces the lanes in a fixed
/// order, so the bits depend on K alone (not on rows, cols or the split).
using DotsFn = void (*)(int64_t K, int64_t rows, int64_t cols, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *out, int64_t ldo);

/// Packs one B panel from a transposed B (op(B)(k, j) = src[j * ld + k]):
/// dst[k * nr + j] for k < kc, j < width, zero for width <= j < nr.
using PackTransposedFn = void (*)(const float *src, int64_t ld, int64_t width, int64_t kc,
                                  int nr, float *dst);

constexpr int kMaxMR = 16;

struct MicroKernelFamily {
  int mr = 0;
  int nr = 0;
  /// byRows[r] computes tiles with r valid rows, 1 <= r <= mr.
  MicroKernelFn byRows[kMaxMR + 1] = {};
  /// Optional: byRows with an unpacked row-major A; the driver packs A otherwise.
  MicroKernelRowsFn byRowsUnpacked[kMaxMR + 1] = {};
  DotFn dot = nullptr;
  AccumulateRowsFn accumulateRows = nullptr;
  /// Optional small-N path (see DotsFn); the packed GEMM otherwise.
  DotsFn dots = nullptr;
  /// Optional faster transposing pack; the driver's scalar loop otherwise.
  PackTransposedFn packTransposed = nullptr;
};

const MicroKernelFamily &portableMicroKernels();
const MicroKernelFamily &avx2MicroKernels();
const MicroKernelFamily &avx512MicroKernels();

/// AVX 8 x 8 block transposes (GemmAvx2.cpp); used by both AVX families.
void packTransposedAvx(const float *src, int64_t ld, int64_t width, int64_t kc, int nr,
                       float *dst);

} // namespace ds::rt::gemm_detail
