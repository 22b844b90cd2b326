//===- Gemm.cpp - the blocked, packed FP32 GEMM driver --------------------===//
//
// Goto/BLIS-style blocking. The output is cut into tiles (rows x up to kMaxTileCols
// columns); a tile is one unit of parallel work. Inside a tile, K is walked in
// blocks of kKC: the tile's kKC x cols slice of op(B) is packed once (it stays in
// L2), then for each MR-row panel of op(A) a kKC x MR packed panel (in L1) is
// multiplied against every NR-column panel of B by the micro-kernel.
//
// Determinism: the K blocking does not depend on the tiling, and each output
// element is produced by one micro-kernel call per K block, in K order, so the
// bits do not depend on the tile split or thread count.
//===----------------------------------------------------------------------===//
#include "Gemm.h"
#include "GemmMicroKernels.h"
#include "Scratch.h"

#include "ds/runtime/Tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace ds::rt {
namespace gemm_detail {
namespace {

// Portable micro-kernel: plain C++ the compiler vectorizes for the baseline ISA.
constexpr int kPortableMR = 4;
constexpr int kPortableNR = 8;

template <int Rows>
void microKernelPortable(int64_t kc, const float *ap, const float *bp, float *c,
                         int64_t ldc, int64_t cols, float alpha, bool accumulate) {
  float acc[Rows][kPortableNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < Rows; ++i) {
      float a = ap[i];
      for (int j = 0; j < kPortableNR; ++j)
        acc[i][j] += a * bp[j];
    }
    ap += kPortableMR;
    bp += kPortableNR;
  }
  for (int i = 0; i < Rows; ++i) {
    float *row = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j)
      row[j] = accumulate ? acc[i][j] * alpha + row[j] : acc[i][j] * alpha;
  }
}

float dotPortable(int64_t n, const float *x, const float *y) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    sum += x[i] * y[i];
  return sum;
}

void accumulateRowsPortable(int64_t count, int64_t n, const float *s, const float *x,
                            int64_t ldx, float *acc) {
  for (int64_t k = 0; k < count; ++k) {
    const float *row = x + k * ldx;
    for (int64_t j = 0; j < n; ++j)
      acc[j] += s[k] * row[j];
  }
}

template <int... Rows>
MicroKernelFamily makePortableFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kPortableMR;
  family.nr = kPortableNR;
  ((family.byRows[Rows + 1] = &microKernelPortable<Rows + 1>), ...);
  family.dot = &dotPortable;
  family.accumulateRows = &accumulateRowsPortable;
  return family;
}

} // namespace

const MicroKernelFamily &portableMicroKernels() {
  static const MicroKernelFamily family =
      makePortableFamily(std::make_integer_sequence<int, kPortableMR>{});
  return family;
}

} // namespace gemm_detail

namespace {
using gemm_detail::MicroKernelFamily;

// K block: a 12 x 256 packed A panel is 12 KB (L1); a 256 x 512 B slice 512 KB (L2).
constexpr int64_t kKC = 256;
constexpr int64_t kMaxTileCols = 512;
// Below this many flops, handing work to other threads costs more than it
// saves. The pool's workers spin briefly between jobs, so a hand-off costs a
// few microseconds (a futex wake-up took tens): 2 MFLOP is ~20 us of work.
constexpr double kMinParallelFlops = 2.0e6;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

struct Problem {
  bool transA, transB;
  int64_t M, N, K;
  float alpha;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float beta;
  float *C;
  int64_t ldc;
  GemmBias bias;
};

/// Packs op(B)[p0 : p0+kc, n0 : n0+cols] into NR-wide panels, zero-padded.
void packB(const Problem &p, const MicroKernelFamily &family, int64_t p0, int64_t kc,
           int64_t n0, int64_t cols, float *dst) {
  const int nr = family.nr;
  for (int64_t j0 = 0; j0 < cols; j0 += nr, dst += nr * kc) {
    int64_t width = std::min<int64_t>(nr, cols - j0);
    if (!p.transB && width == nr && (nr == 8 || nr == 16 || nr == 32)) {
      // Full panels: fixed-size copies the compiler inlines (a libc memcpy
      // call per 32-float row cost as much as the copy).
      const float *src = p.B + p0 * p.ldb + n0 + j0;
      float *d = dst;
      if (nr == 32)
        for (int64_t k = 0; k < kc; ++k, src += p.ldb, d += 32)
          std::memcpy(d, src, sizeof(float) * 32);
      else if (nr == 16)
        for (int64_t k = 0; k < kc; ++k, src += p.ldb, d += 16)
          std::memcpy(d, src, sizeof(float) * 16);
      else
        for (int64_t k = 0; k < kc; ++k, src += p.ldb, d += 8)
          std::memcpy(d, src, sizeof(float) * 8);
    } else if (!p.transB) {
      const float *src = p.B + p0 * p.ldb + n0 + j0;
      for (int64_t k = 0; k < kc; ++k, src += p.ldb) {
        float *d = dst + k * nr;
        std::memcpy(d, src, sizeof(float) * width);
        for (int64_t j = width; j < nr; ++j)
          d[j] = 0.0f;
      }
    } else if (family.packTransposed) {
      family.packTransposed(p.B + (n0 + j0) * p.ldb + p0, p.ldb, width, kc, nr, dst);
    } else {
      // op(B)(k, n) = B[n * ldb + k]: each column of the panel is a contiguous
      // run of B. Transpose in small blocks so reads and writes both stay local.
      constexpr int64_t kBlock = 8;
      for (int64_t kb = 0; kb < kc; kb += kBlock) {
        int64_t kEnd = std::min(kc, kb + kBlock);
        for (int64_t j = 0; j < width; ++j) {
          const float *src = p.B + (n0 + j0 + j) * p.ldb + p0;
          for (int64_t k = kb; k < kEnd; ++k)
            dst[k * nr + j] = src[k];
        }
        for (int64_t k = kb; k < kEnd; ++k)
          for (int64_t j = width; j < nr; ++j)
            dst[k * nr + j] = 0.0f;
      }
    }
  }
}

/// Packs op(A)[i0 : i0+rows, p0 : p0+kc] as kc steps of MR floats. Rows past
/// `rows` are left unset: the micro-kernel for `rows` never reads them.
void packA(const Problem &p, const MicroKernelFamily &family, int64_t i0, int64_t rows,
           int64_t p0, int64_t kc, float *dst) {
  const int mr = family.mr;
  if (!p.transA && family.packTransposed) {
    // Row-major A to k-major panels is the same block transpose as packing a
    // transposed B (it also zero-fills rows past `rows`, which is harmless);
    // the scalar loop below costs about as much as the products when N is small.
    family.packTransposed(p.A + i0 * p.lda + p0, p.lda, rows, kc, mr, dst);
    return;
  }
  if (p.transA) {
    const float *src = p.A + p0 * p.lda + i0;
    for (int64_t k = 0; k < kc; ++k, src += p.lda)
      std::memcpy(dst + k * mr, src, sizeof(float) * rows);
  } else {
    for (int64_t i = 0; i < rows; ++i) {
      const float *src = p.A + (i0 + i) * p.lda + p0;
      for (int64_t k = 0; k < kc; ++k)
        dst[k * mr + i] = src[k];
    }
  }
}

/// Before the first K block: C = beta * C + bias on one tile, so the
/// micro-kernel then only has to accumulate.
void prefillTile(const Problem &p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    float *row = p.C + (i0 + i) * p.ldc + j0;
    if (p.beta == 0.0f)
      std::fill(row, row + cols, 0.0f);
    else if (p.beta != 1.0f)
      for (int64_t j = 0; j < cols; ++j)
        row[j] *= p.beta;
    if (p.bias.data) {
      const float *b = p.bias.data + (i0 + i) * p.bias.rowStride + j0 * p.bias.colStride;
      if (p.bias.colStride == 1)
        for (int64_t j = 0; j < cols; ++j)
          row[j] += b[j];
      else
        for (int64_t j = 0; j < cols; ++j)
          row[j] += b[j * p.bias.colStride];
    }
  }
}

/// One output tile. `prepackedB`, when given, holds all of op(B) packed (K block
/// p0 at prepackedB + p0 * roundUp(N, NR)); otherwise the tile packs its own slice.
void runTile(const Problem &p, const MicroKernelFamily &family, int64_t m0, int64_t m1,
             int64_t n0, int64_t n1, const float *prepackedB) {
  static thread_local Scratch<float> aScratch, bScratch;
  const int mr = family.mr, nr = family.nr;
  const int64_t cols = n1 - n0;
  float *bSlice =
      prepackedB ? nullptr : bScratch.get(static_cast<size_t>(kKC * roundUp(cols, nr)));
  float *aPacked = aScratch.get(static_cast<size_t>(kKC * mr));
  const bool prefill = p.bias.data || (p.beta != 0.0f && p.beta != 1.0f);

  for (int64_t p0 = 0; p0 < p.K; p0 += kKC) {
    int64_t kc = std::min(kKC, p.K - p0);
    const float *bPacked;
    if (prepackedB) {
      bPacked = prepackedB + p0 * roundUp(p.N, nr) + n0 * kc;
    } else {
      packB(p, family, p0, kc, n0, cols, bSlice);
      bPacked = bSlice;
    }
    for (int64_t i0 = m0; i0 < m1; i0 += mr) {
      int64_t rows = std::min<int64_t>(mr, m1 - i0);
      // A row-major A is read in place where the family can; else packed.
      gemm_detail::MicroKernelRowsFn inPlace =
          p.transA ? nullptr : family.byRowsUnpacked[rows];
      if (!inPlace)
        packA(p, family, i0, rows, p0, kc, aPacked);
      gemm_detail::MicroKernelFn kernel = family.byRows[rows];
      const float *aRows = inPlace ? p.A + i0 * p.lda + p0 : nullptr;
      for (int64_t j0 = n0; j0 < n1; j0 += nr) {
        int64_t width = std::min<int64_t>(nr, n1 - j0);
        bool accumulate = p0 > 0 || p.beta == 1.0f;
        if (p0 == 0 && prefill) {
          prefillTile(p, i0, rows, j0, width);
          accumulate = true;
        }
        float *c = p.C + i0 * p.ldc + j0;
        const float *b = bPacked + (j0 - n0) * kc;
        if (inPlace)
          inPlace(kc, aRows, p.lda, b, c, p.ldc, width, p.alpha, accumulate);
        else
          kernel(kc, aPacked, b, c, p.ldc, width, p.alpha, accumulate);
      }
    }
  }
}

/// C(i, j) = alpha * product + beta * C(i, j) + bias(i, j), for the paths that
/// compute whole products before storing them.
inline void storeOutput(const Problem &p, int64_t i, int64_t j, float product) {
  float *c = p.C + i * p.ldc + j;
  float pre = p.beta == 0.0f ? 0.0f : p.beta * *c;
  if (p.bias.data)
    pre += p.bias.data[i * p.bias.rowStride + j * p.bias.colStride];
  *c = p.alpha * product + pre;
}

/// M == 1 or N == 1: a matrix-vector product. Packing would cost more than the
/// products, so the matrix is streamed once in its own layout: rows of the
/// matrix that run along K become dot products, rows that run along the output
/// are accumulated with accumulateRows.
void runMatVec(const Problem &p, const MicroKernelFamily &family, ThreadPool *pool) {
  const bool rowVector = p.M == 1;
  const int64_t outCount = rowVector ? p.N : p.M;
  // The vector operand, op(A) row 0 or op(B) column 0.
  const float *vec = rowVector ? p.A : p.B;
  int64_t vecStride = rowVector ? (p.transA ? p.lda : 1) : (p.transB ? 1 : p.ldb);
  std::vector<float> vecCopy;
  if (vecStride != 1 && p.K > 1) {
    vecCopy.resize(p.K);
    for (int64_t k = 0; k < p.K; ++k)
      vecCopy[k] = vec[k * vecStride];
    vec = vecCopy.data();
  }
  // The matrix operand: element (k, o) is mat[k * kStride + o * oStride].
  const float *mat = rowVector ? p.B : p.A;
  bool matRowsAlongK = rowVector ? p.transB : !p.transA; // contiguous in k
  int64_t ld = rowVector ? p.ldb : p.lda;

  auto work = [&](int64_t o0, int64_t o1) {
    static thread_local Scratch<float> accScratch;
    float *acc = accScratch.get(static_cast<size_t>(o1 - o0));
    if (matRowsAlongK) {
      for (int64_t o = o0; o < o1; ++o)
        acc[o - o0] = family.dot(p.K, mat + o * ld, vec);
    } else {
      std::fill(acc, acc + (o1 - o0), 0.0f);
      family.accumulateRows(p.K, o1 - o0, vec, mat + o0, ld, acc);
    }
    for (int64_t o = o0; o < o1; ++o)
      storeOutput(p, rowVector ? 0 : o, rowVector ? o : 0, acc[o - o0]);
  };
  const double flops = 2.0 * double(p.K) * double(outCount);
  if (pool && pool->numThreads() > 1 && flops >= kMinParallelFlops)
    pool->parallelFor(outCount, 64, work);
  else
    work(0, outCount);
}

/// At most this many output columns, a GEMM with a transposed B (rows along K,
/// as Gemm nodes with transB store their weights) takes the family's dots path:
/// a 32-wide panel of the packed GEMM would then be at least half padding.
constexpr int64_t kDotsMaxColumns = 16;

/// C = alpha * A * B^T + beta * C + bias through family.dots: rows of C in
/// parallel chunks, each computed into scratch and then stored with beta and the bias.
void runDots(const Problem &p, const MicroKernelFamily &family, ThreadPool *pool) {
  auto work = [&](int64_t r0, int64_t r1) {
    static thread_local Scratch<float> accScratch;
    float *acc = accScratch.get(static_cast<size_t>((r1 - r0) * p.N));
    family.dots(p.K, r1 - r0, p.N, p.A + r0 * p.lda, p.lda, p.B, p.ldb, acc, p.N);
    for (int64_t i = r0; i < r1; ++i)
      for (int64_t j = 0; j < p.N; ++j)
        storeOutput(p, i, j, acc[(i - r0) * p.N + j]);
  };
  // Dots reach about a quarter of the packed GEMM's flop rate (short rows of
  // outputs, a lane reduction each), so the same ~20 us of work is fewer flops.
  const double flops = 2.0 * double(p.M) * double(p.N) * double(p.K);
  if (pool && pool->numThreads() > 1 && flops >= kMinParallelFlops / 4)
    pool->parallelFor(p.M, 12, work);
  else
    work(0, p.M);
}

const MicroKernelFamily &familyFor(GemmIsa isa) {
  switch (isa) {
  case GemmIsa::Avx512:
    return gemm_detail::avx512MicroKernels();
  case GemmIsa::Avx2Fma:
    return gemm_detail::avx2MicroKernels();
  case GemmIsa::Portable:
    break;
  }
  return gemm_detail::portableMicroKernels();
}

} // namespace

bool gemmIsaSupported(GemmIsa isa) {
  switch (isa) {
  case GemmIsa::Avx512:
    return __builtin_cpu_supports("avx512f");
  case GemmIsa::Avx2Fma:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case GemmIsa::Portable:
    return true;
  }
  return false;
}

GemmIsa gemmBestIsa() {
  static const GemmIsa best = [] {
    for (GemmIsa isa : {GemmIsa::Avx512, GemmIsa::Avx2Fma})
      if (gemmIsaSupported(isa))
        return isa;
    return GemmIsa::Portable;
  }();
  return best;
}

const char *gemmIsaName(GemmIsa isa) {
  switch (isa) {
  case GemmIsa::Avx512:
    return "avx512";
  case GemmIsa::Avx2Fma:
    return "avx2+fma";
  case GemmIsa::Portable:
    break;
  }
  return "portable";
}

namespace {

void checkGemmArgs(GemmIsa isa, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                   int64_t lda, int64_t ldb, int64_t ldc) {
  DS_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative dimension");
  DS_CHECK(ldc >= std::max<int64_t>(N, 1), "gemm: ldc is smaller than N");
  DS_CHECK(lda >= std::max<int64_t>(transA ? M : K, 1), "gemm: lda is too small");
  DS_CHECK(ldb >= std::max<int64_t>(transB ? K : N, 1), "gemm: ldb is too small");
  DS_CHECK(gemmIsaSupported(isa),
           std::string("gemm: this CPU does not support ") + gemmIsaName(isa));
}

/// Packs all of op(B) in the shared layout runTile reads (K block p0 at
/// dst + p0 * roundUp(N, NR), panel j0 inside it at + j0 * kc).
void packAllB(const Problem &p, const MicroKernelFamily &family, ThreadPool *pool,
              bool parallel, float *dst) {
  const int64_t nr = family.nr, paddedN = roundUp(p.N, nr);
  auto packPanels = [&](int64_t begin, int64_t end) {
    for (int64_t panel = begin; panel < end; ++panel) {
      int64_t j0 = panel * nr, width = std::min(nr, p.N - j0);
      for (int64_t p0 = 0; p0 < p.K; p0 += kKC) {
        int64_t kc = std::min(kKC, p.K - p0);
        packB(p, family, p0, kc, j0, width, dst + p0 * paddedN + j0 * kc);
      }
    }
  };
  if (parallel)
    pool->parallelFor(paddedN / nr, 1, packPanels);
  else
    packPanels(0, paddedN / nr);
}

/// The driver behind gemmF32WithIsa and gemmF32Prepacked. `packedB`, when
/// given, is all of op(B) packed by packAllB for this family.
void runGemm(const MicroKernelFamily &family, const Problem &p, ThreadPool *pool,
             const float *packedB) {
  if (p.M == 0 || p.N == 0)
    return;
  if (p.K == 0) {
    // No products: only the beta * C + bias part remains.
    prefillTile(p, 0, p.M, 0, p.N);
    return;
  }
  const int64_t M = p.M, N = p.N, K = p.K;
  if (M == 1 || N == 1) {
    runMatVec(p, family, pool);
    return;
  }
  if (!p.transA && p.transB && N <= kDotsMaxColumns && family.dots) {
    runDots(p, family, pool);
    return;
  }
  const int64_t mr = family.mr, nr = family.nr;
  int64_t tileRows = roundUp(M, mr);
  int64_t tileCols = std::min(roundUp(N, nr), kMaxTileCols);
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int64_t threads = pool ? pool->numThreads() : 1;
  const bool parallel = threads > 1 && flops >= kMinParallelFlops;
  if (parallel) {
    // Split the larger side until every thread has a few tiles to balance with;
    // square-ish tiles keep the per-tile packing overhead lowest.
    const int64_t wanted = threads * (flops >= 5.0e7 ? 4 : 2);
    const int64_t minRows = 4 * mr, minCols = 2 * nr;
    while (ceilDiv(M, tileRows) * ceilDiv(N, tileCols) < wanted) {
      bool canSplitRows = tileRows >= 2 * minRows;
      bool canSplitCols = tileCols >= 2 * minCols;
      if (canSplitRows && (tileRows >= tileCols || !canSplitCols))
        tileRows = roundUp(ceilDiv(tileRows, 2), mr);
      else if (canSplitCols)
        tileCols = roundUp(ceilDiv(tileCols, 2), nr);
      else
        break;
    }
  }
  const int64_t rowTiles = ceilDiv(M, tileRows), colTiles = ceilDiv(N, tileCols);
  const int64_t tiles = rowTiles * colTiles;
  if (tiles == 1) {
    runTile(p, family, 0, M, 0, N, packedB);
    return;
  }
  // With several row tiles, each would pack the same B slices: pack op(B) once,
  // in parallel, and share it.
  if (!packedB && rowTiles > 1) {
    static thread_local Scratch<float> sharedB;
    float *packed = sharedB.get(static_cast<size_t>(roundUp(N, nr) * K));
    packAllB(p, family, pool, parallel, packed);
    packedB = packed;
  }
  auto work = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t m0 = (t % rowTiles) * tileRows, n0 = (t / rowTiles) * tileCols;
      runTile(p, family, m0, std::min(M, m0 + tileRows), n0, std::min(N, n0 + tileCols),
              packedB);
    }
  };
  if (!parallel)
    work(0, tiles);
  else
    pool->parallelFor(tiles, 1, work);
}

} // namespace

void gemmF32WithIsa(GemmIsa isa, bool transA, bool transB, int64_t M, int64_t N,
                    int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                    int64_t ldb, float beta, float *C, int64_t ldc, const GemmBias &bias,
                    ThreadPool *pool) {
  checkGemmArgs(isa, transA, transB, M, N, K, lda, ldb, ldc);
  Problem p{transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias};
  runGemm(familyFor(isa), p, pool, nullptr);
}

GemmPackedB gemmPackB(GemmIsa isa, bool transB, int64_t K, int64_t N, const float *B,
                      int64_t ldb, ThreadPool *pool) {
  checkGemmArgs(isa, false, transB, 1, N, K, std::max<int64_t>(K, 1), ldb,
                std::max<int64_t>(N, 1));
  GemmPackedB packed;
  packed.isa = isa;
  packed.transB = transB;
  packed.K = K;
  packed.N = N;
  packed.B = B;
  packed.ldb = ldb;
  const MicroKernelFamily &family = familyFor(isa);
  const int64_t size = roundUp(N, family.nr) * K;
  if (size == 0)
    return packed;
  packed.storage = Tensor(DType::F32, {size});
  Problem p{false, transB, 1, N, K, 1.0f, nullptr, 1, B, ldb, 0.0f, nullptr, 1, GemmBias{}};
  const bool parallel = pool && pool->numThreads() > 1 && double(size) >= 1.0e5;
  packAllB(p, family, pool, parallel, packed.storage.mutableData<float>());
  return packed;
}

void gemmF32Prepacked(bool transA, int64_t M, float alpha, const float *A, int64_t lda,
                      const GemmPackedB &packed, float beta, float *C, int64_t ldc,
                      const GemmBias &bias, ThreadPool *pool) {
  checkGemmArgs(packed.isa, transA, packed.transB, M, packed.N, packed.K, lda, packed.ldb,
                ldc);
  Problem p{transA, packed.transB, M,      packed.N, packed.K, alpha, A, lda,
            packed.B, packed.ldb,   beta,   C,        ldc,      bias};
  const float *data = packed.storage.isAbsent() ? nullptr : packed.storage.data<float>();
  runGemm(familyFor(packed.isa), p, pool, data);
}

void gemmF32(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
             float *C, int64_t ldc, const GemmBias &bias, ThreadPool *pool) {
  gemmF32WithIsa(gemmBestIsa(), transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C,
                 ldc, bias, pool);
}

} // namespace ds::rt
