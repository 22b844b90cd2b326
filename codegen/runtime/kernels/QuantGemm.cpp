//===- QuantGemm.cpp - the u8 x s8 GEMM driver, B packing and epilogue ----===//
//
// A is packed once per call into MR-row panels (quantizing float A on the way),
// in parallel (inside the tiles when they are whole row bands); then the output is cut into tiles (a few MR panels x up to 8 B
// panels), one unit of parallel work each. Inside a tile K is walked in blocks
// so the tile's slice of packed B stays in L2 while the A panel sits in L1;
// the int32 tile lives in per-thread scratch and gets the epilogue once K is
// done. Integer sums are exact, so neither the K blocking nor the tiling can
// change a bit; the float epilogue is one function, per element.
//===----------------------------------------------------------------------===//
#include "QuantGemm.h"
#include "QuantGemmKernels.h"
#include "Scratch.h"

#include "MovementQuantize.h"

#include "ds/runtime/Tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <utility>

namespace ds::rt {
namespace quant_gemm_detail {
namespace {

constexpr int kPortableMR = 4;

template <int Rows>
void microKernelPortable(int64_t kGroups, const uint8_t *ap, const int8_t *bp, int32_t *c,
                         int64_t ldc, bool accumulate) {
  int32_t acc[Rows][kQuantGemmNR] = {};
  for (int64_t g = 0; g < kGroups; ++g) {
    for (int i = 0; i < Rows; ++i)
      for (int j = 0; j < kQuantGemmNR; ++j)
        for (int t = 0; t < 4; ++t)
          acc[i][j] += int32_t(ap[i * 4 + t]) * int32_t(bp[j * 4 + t]);
    ap += kPortableMR * 4;
    bp += kQuantGemmNR * 4;
  }
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < kQuantGemmNR; ++j)
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

template <int... Rows>
MicroKernelFamily makePortableFamily(std::integer_sequence<int, Rows...>) {
  MicroKernelFamily family;
  family.mr = kPortableMR;
  ((family.byRows[Rows + 1] = &microKernelPortable<Rows + 1>), ...);
  return family;
}

} // namespace

const MicroKernelFamily &portableMicroKernels() {
  static const MicroKernelFamily family =
      makePortableFamily(std::make_integer_sequence<int, kPortableMR>{});
  return family;
}

} // namespace quant_gemm_detail

namespace {
void checkPackable(int64_t K, int64_t N) {
  DS_CHECK(K >= 0 && N >= 0, "quant gemm: negative dimension");
  DS_CHECK(K <= kQuantGemmMaxK,
           "quant gemm: K = " + std::to_string(K) + " exceeds " +
               std::to_string(kQuantGemmMaxK) +
               ", the deepest sum of u8 * s8 products that cannot overflow int32");
}
} // namespace

void packQuantBInto(bool transposed, int64_t K, int64_t N, const int8_t *src, int64_t ld,
                    int8_t *dst) {
  checkPackable(K, N);
  DS_CHECK(ld >= std::max<int64_t>(transposed ? K : N, 1), "quant gemm: ldb is too small");
  const int64_t kp = (K + 3) / 4 * 4, panels = (N + kQuantGemmNR - 1) / kQuantGemmNR;
  std::memset(dst, 0, static_cast<size_t>(quantPackedBBytes(K, N)));
  int32_t *sums = reinterpret_cast<int32_t *>(dst + panels * kp * kQuantGemmNR);
  for (int64_t n = 0; n < N; ++n) {
    int8_t *col = dst + (n / kQuantGemmNR) * kp * kQuantGemmNR + (n % kQuantGemmNR) * 4;
    int32_t sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      int8_t v = transposed ? src[n * ld + k] : src[k * ld + n];
      col[(k / 4) * kQuantGemmNR * 4 + k % 4] = v;
      sum += v;
    }
    sums[n] = sum;
  }
}

std::shared_ptr<int8_t> newPackedBlock(int64_t bytes) {
  const auto size = static_cast<size_t>(std::max<int64_t>(1, bytes));
  return std::shared_ptr<int8_t>(static_cast<int8_t *>(::operator new[](size, std::align_val_t{64})),
                                 [](int8_t *p) { ::operator delete[](p, std::align_val_t{64}); });
}

QuantPackedB packQuantB(bool transposed, int64_t K, int64_t N, const int8_t *src,
                        int64_t ld) {
  checkPackable(K, N);
  std::shared_ptr<int8_t> block = newPackedBlock(quantPackedBBytes(K, N));
  packQuantBInto(transposed, K, N, src, ld, block.get());
  QuantPackedB b;
  b.K_ = K;
  b.N_ = N;
  b.data_ = std::move(block);
  return b;
}

QuantPackedB QuantPackedB::view(int64_t K, int64_t N, std::shared_ptr<const int8_t> bytes) {
  checkPackable(K, N);
  DS_CHECK(reinterpret_cast<uintptr_t>(bytes.get()) % 64 == 0,
           "quant gemm: packed weights must be 64-byte aligned");
  QuantPackedB b;
  b.K_ = K;
  b.N_ = N;
  b.data_ = std::move(bytes);
  return b;
}

namespace {
using quant_gemm_detail::MicroKernelFamily;

// K block: a 12 x 1024 A panel is 12 KB (L1), a 1024 x 256 B slice 256 KB (L2).
constexpr int64_t kKCGroups = 256;
constexpr int64_t kMaxTilePanels = 8; // B panels per tile: 256 columns
// Widest B (in panels: 512 columns) for which tiles are whole row bands.
constexpr int64_t kMaxRowBandPanels = 16;
// Below this many multiply-adds, waking the pool costs more than it saves. At 4e6
// the 128 x 128 x 128 projections of an LM prefill ran on one thread while the
// other spun: 0.5e6 took the sample LM INT8 at 2 threads from 1.7-1.9 to 1.5 ms.
constexpr double kMinParallelMacs = 0.5e6;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Packs rows [i0, i0 + rows) of A, all of K, into one MR panel.
void packAPanel(const QuantGemmA &a, const MicroKernelFamily &family, int64_t K, int64_t i0,
                int64_t rows, uint8_t *rowBuffer, uint8_t *dst) {
  const int64_t mr = family.mr;
  const int64_t fullGroups = K / 4, tail = K % 4;
  const auto zp = static_cast<uint8_t>(a.zeroPoint);
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t *row = a.u8 ? a.u8 + (i0 + i) * a.ld : rowBuffer;
    if (a.f32 && family.quantizeRow)
      family.quantizeRow(a.f32 + (i0 + i) * a.ld, K, a.scale, float(a.zeroPoint), rowBuffer);
    else if (a.f32)
      movement::quantizeRun<uint8_t, float>(a.f32 + (i0 + i) * a.ld, &a.scale, 0, &zp,
                                            rowBuffer, K);
    uint8_t *d = dst + i * 4;
    for (int64_t g = 0; g < fullGroups; ++g)
      std::memcpy(d + g * mr * 4, row + g * 4, 4);
    if (tail) {
      uint8_t last[4] = {0, 0, 0, 0};
      std::memcpy(last, row + fullGroups * 4, static_cast<size_t>(tail));
      std::memcpy(d + fullGroups * mr * 4, last, 4);
    }
  }
}

/// Per-call epilogue constants: the zero-point correction and combined scale per column.
struct EpilogueTables {
  std::vector<int32_t> correction; // zpA * colSum[n] (mod 2^32; the difference fits)
  std::vector<float> scale;        // scaleA * scaleB[n]
};

EpilogueTables makeEpilogueTables(const QuantEpilogue &e, const QuantPackedB &b) {
  EpilogueTables t;
  const auto n = static_cast<size_t>(b.N());
  t.correction.resize(n);
  t.scale.resize(n);
  for (size_t j = 0; j < n; ++j) {
    t.correction[j] = static_cast<int32_t>(static_cast<uint32_t>(e.zeroPointA) *
                                           static_cast<uint32_t>(b.colSums()[j]));
    t.scale[j] = e.scaleA * e.scaleB[e.scaleBPerColumn ? j : 0];
  }
  return t;
}

/// acc - zpA * colSum[n], wrapping: the true difference always fits int32.
inline int32_t centered(int32_t acc, int32_t correction) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) - static_cast<uint32_t>(correction));
}

// Conv outputs are column-major (out[j * colStride + i]): the epilogue reads
// the int32 tile down its columns, which only vectorizes with gathers, so this
// loop is also cloned for AVX-512. fp-contract=off keeps every clone's bits
// identical to quantOutputValue's.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define DS_EPILOGUE_CLONES __attribute__((target_clones("avx512f", "default")))
#else
#define DS_EPILOGUE_CLONES
#endif

DS_EPILOGUE_CLONES __attribute__((optimize("fp-contract=off", "no-trapping-math"))) void
epilogueColumns(const int32_t *acc, int64_t ldAcc, int64_t rows, int64_t cols,
                const int32_t *corr, const float *scale, const float *bias, bool relu,
                float *base, int64_t colStride) {
  for (int64_t j = 0; j < cols; ++j) {
    float *o = base + j * colStride;
    const int32_t c = corr[j];
    const float s = scale[j], b = bias[j];
    if (relu)
      for (int64_t i = 0; i < rows; ++i)
        o[i] = quantOutputValue(centered(acc[i * ldAcc + j], c), s, b, true);
    else
      for (int64_t i = 0; i < rows; ++i)
        o[i] = quantOutputValue(centered(acc[i * ldAcc + j], c), s, b, false);
  }
}

// Row-major outputs (matmul): contiguous along the tile's rows, so the
// baseline build vectorizes this 4 lanes wide; the AVX-512 clone does 16 (the
// epilogue was ~7% of the INT8 LM). Same operations, so the same bits.
DS_EPILOGUE_CLONES __attribute__((optimize("fp-contract=off", "no-trapping-math"))) void
epilogueRows(const int32_t *acc, int64_t ldAcc, int64_t rows, int64_t cols,
             const int32_t *corr, const float *scale, const float *bias, bool relu,
             float *base, int64_t rowStride) {
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t *a = acc + i * ldAcc;
    float *o = base + i * rowStride;
    if (relu)
      for (int64_t j = 0; j < cols; ++j)
        o[j] = quantOutputValue(centered(a[j], corr[j]), scale[j], bias[j], true);
    else
      for (int64_t j = 0; j < cols; ++j)
        o[j] = quantOutputValue(centered(a[j], corr[j]), scale[j], bias[j], false);
  }
}

/// Converts a rows x cols int32 tile (row stride ldAcc) at output (m0, n0).
__attribute__((optimize("fp-contract=off", "no-trapping-math"))) void
applyEpilogue(const int32_t *acc, int64_t ldAcc, int64_t rows, int64_t cols, int64_t m0,
              int64_t n0, const QuantEpilogue &e, const EpilogueTables &t,
              const QuantGemmOut<float> &out) {
  const int32_t *corr = t.correction.data() + n0;
  const float *scale = t.scale.data() + n0;
  static thread_local Scratch<float> zeros;
  const float *bias = e.bias ? e.bias + n0 : nullptr;
  if (!bias) {
    float *z = zeros.get(static_cast<size_t>(cols));
    std::fill(z, z + cols, 0.0f);
    bias = z;
  }
  float *base = out.data + m0 * out.rowStride + n0 * out.colStride;
  if (out.colStride == 1) {
    epilogueRows(acc, ldAcc, rows, cols, corr, scale, bias, e.relu, base, out.rowStride);
    return;
  }
  if (out.rowStride == 1) {
    epilogueColumns(acc, ldAcc, rows, cols, corr, scale, bias, e.relu, base, out.colStride);
    return;
  }
  // Column-major-ish output (conv): walk down columns so writes stay contiguous.
  for (int64_t j = 0; j < cols; ++j) {
    float *o = base + j * out.colStride;
    for (int64_t i = 0; i < rows; ++i)
      o[i * out.rowStride] =
          quantOutputValue(centered(acc[i * ldAcc + j], corr[j]), scale[j], bias[j], e.relu);
  }
}

const MicroKernelFamily &familyFor(QuantGemmIsa isa) {
  switch (isa) {
  case QuantGemmIsa::Avx512Vnni:
    return quant_gemm_detail::avx512VnniMicroKernels();
  case QuantGemmIsa::AvxVnni:
    return quant_gemm_detail::avxVnniMicroKernels();
  case QuantGemmIsa::Avx2:
    return quant_gemm_detail::avx2MicroKernels();
  case QuantGemmIsa::Portable:
    break;
  }
  return quant_gemm_detail::portableMicroKernels();
}

/// The shared driver; `finish` turns one finished int32 tile into output.
template <typename Finish>
void runGemm(QuantGemmIsa isa, int64_t M, const QuantGemmA &a, const QuantPackedB &b,
             ThreadPool *pool, Finish &&finish) {
  DS_CHECK(M >= 0, "quant gemm: negative dimension");
  DS_CHECK(b.K() == 0 || int(a.u8 != nullptr) + int(a.f32 != nullptr) +
                                  int(a.packed != nullptr) == 1,
           "quant gemm: A needs exactly one source");
  DS_CHECK(a.packed || a.ld >= std::max<int64_t>(b.K(), 1),
           "quant gemm: lda is smaller than K");
  if (a.f32)
    DS_CHECK(a.zeroPoint >= 0 && a.zeroPoint <= 255 && a.scale > 0.0f &&
                 a.scale < std::numeric_limits<float>::infinity(),
             "quant gemm: A's quantization needs a zero point in [0, 255] and a finite "
             "scale > 0");
  DS_CHECK(quantGemmIsaSupported(isa),
           std::string("quant gemm: this CPU does not support ") + quantGemmIsaName(isa));
  const int64_t N = b.N(), K = b.K();
  if (M == 0 || N == 0)
    return;
  const MicroKernelFamily &family = familyFor(isa);
  const int64_t mr = family.mr, kp = b.paddedK(), kGroups = kp / 4;
  const int64_t aPanels = ceilDiv(M, mr), bPanels = b.numPanels();
  const int64_t threads = pool ? pool->numThreads() : 1;
  const double macs = double(M) * double(N) * double(std::max<int64_t>(K, 1));
  const bool parallel = threads > 1 && macs >= kMinParallelMacs;

  // Pack all of A once (each row tile of every column tile reuses it).
  DS_CHECK(!a.packed || a.packedRows == mr,
           "quant gemm: A was packed for " + std::to_string(a.packedRows) +
               "-row panels, this family uses " + std::to_string(mr));
  static thread_local Scratch<uint8_t> aScratch;
  const uint8_t *packedA =
      a.packed ? a.packed : aScratch.get(static_cast<size_t>(aPanels * mr * kp));
  auto packPanels = [&](int64_t begin, int64_t end) {
    static thread_local Scratch<uint8_t> rowScratch;
    uint8_t *rowBuffer = rowScratch.get(static_cast<size_t>(std::max<int64_t>(K, 1)));
    for (int64_t p = begin; p < end; ++p)
      packAPanel(a, family, K, p * mr, std::min(mr, M - p * mr), rowBuffer,
                 const_cast<uint8_t *>(packedA) + p * mr * kp);
  };
  // When all of B fits one tile's width, tiles are row bands that pack their
  // own A panels: one fork/join per call instead of two (the products of an
  // LM's layers take tens of microseconds, about what a fork/join costs).
  const bool packInTiles = !a.packed && parallel && bPanels <= kMaxRowBandPanels;
  if (a.packed || packInTiles)
    ; // the caller's layout already, or packed tile by tile below
  else if (parallel)
    pool->parallelFor(aPanels, 1, packPanels);
  else
    packPanels(0, aPanels);

  // Tiles: split rows then columns until every thread has a few to balance with.
  int64_t tileAPanels = std::max<int64_t>(1, std::min<int64_t>(aPanels, 96 / mr));
  int64_t tileBPanels = std::min(bPanels, kMaxTilePanels);
  if (packInTiles) {
    tileBPanels = bPanels;
    tileAPanels = std::max<int64_t>(1, ceilDiv(aPanels, threads * 4));
  } else if (parallel) {
    const int64_t wanted = threads * 4;
    while (ceilDiv(aPanels, tileAPanels) * ceilDiv(bPanels, tileBPanels) < wanted) {
      if (tileAPanels >= 2 && (tileAPanels * mr >= tileBPanels * kQuantGemmNR || tileBPanels < 2))
        tileAPanels = ceilDiv(tileAPanels, 2);
      else if (tileBPanels >= 2)
        tileBPanels = ceilDiv(tileBPanels, 2);
      else
        break;
    }
  }
  const int64_t rowTiles = ceilDiv(aPanels, tileAPanels);
  const int64_t tiles = rowTiles * ceilDiv(bPanels, tileBPanels);
  auto work = [&](int64_t begin, int64_t end) {
    static thread_local Scratch<int32_t> cScratch;
    const int64_t ldc = tileBPanels * kQuantGemmNR;
    int32_t *c = cScratch.get(static_cast<size_t>(tileAPanels * mr * ldc));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t ap0 = (t % rowTiles) * tileAPanels, bp0 = (t / rowTiles) * tileBPanels;
      const int64_t ap1 = std::min(aPanels, ap0 + tileAPanels);
      const int64_t bp1 = std::min(bPanels, bp0 + tileBPanels);
      if (packInTiles)
        packPanels(ap0, ap1);
      for (int64_t g0 = 0; g0 < kGroups; g0 += kKCGroups) {
        const int64_t gc = std::min(kKCGroups, kGroups - g0);
        for (int64_t ap = ap0; ap < ap1; ++ap) {
          const int64_t rows = std::min(mr, M - ap * mr);
          const uint8_t *aPanel = packedA + ap * mr * kp + g0 * mr * 4;
          quant_gemm_detail::MicroKernelFn kernel = family.byRows[rows];
          int32_t *cRow = c + (ap - ap0) * mr * ldc;
          for (int64_t bp = bp0; bp < bp1; ++bp)
            kernel(gc, aPanel, b.panel(bp) + g0 * kQuantGemmNR * 4,
                   cRow + (bp - bp0) * kQuantGemmNR, ldc, g0 > 0);
        }
      }
      if (kGroups == 0)
        for (int64_t i = 0; i < (ap1 - ap0) * mr; ++i)
          std::fill(c + i * ldc, c + i * ldc + ldc, 0);
      const int64_t m0 = ap0 * mr, n0 = bp0 * kQuantGemmNR;
      finish(c, ldc, std::min(M, ap1 * mr) - m0, std::min(N, bp1 * kQuantGemmNR) - n0, m0,
             n0);
    }
  };
  if (parallel && tiles > 1)
    pool->parallelFor(tiles, 1, work);
  else
    work(0, tiles);
}

} // namespace

bool quantGemmIsaSupported(QuantGemmIsa isa) {
  switch (isa) {
  case QuantGemmIsa::Avx512Vnni:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
  case QuantGemmIsa::AvxVnni:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
  case QuantGemmIsa::Avx2:
    return __builtin_cpu_supports("avx2");
  case QuantGemmIsa::Portable:
    return true;
  }
  return false;
}

QuantGemmIsa quantGemmBestIsa() {
  static const QuantGemmIsa best = [] {
    for (QuantGemmIsa isa :
         {QuantGemmIsa::Avx512Vnni, QuantGemmIsa::AvxVnni, QuantGemmIsa::Avx2})
      if (quantGemmIsaSupported(isa))
        return isa;
    return QuantGemmIsa::Portable;
  }();
  return best;
}

const char *quantGemmIsaName(QuantGemmIsa isa) {
  switch (isa) {
  case QuantGemmIsa::Avx512Vnni:
    return "avx512-vnni";
  case QuantGemmIsa::AvxVnni:
    return "avx-vnni";
  case QuantGemmIsa::Avx2:
    return "avx2";
  case QuantGemmIsa::Portable:
    break;
  }
  return "portable";
}

void quantGemmS32WithIsa(QuantGemmIsa isa, int64_t M, const QuantGemmA &a,
                         const QuantPackedB &b, QuantGemmOut<int32_t> out,
                         ThreadPool *pool) {
  runGemm(isa, M, a, b, pool,
          [&](const int32_t *c, int64_t ldc, int64_t rows, int64_t cols, int64_t m0,
              int64_t n0) {
            for (int64_t i = 0; i < rows; ++i)
              for (int64_t j = 0; j < cols; ++j)
                out.data[(m0 + i) * out.rowStride + (n0 + j) * out.colStride] =
                    c[i * ldc + j];
          });
}

void quantGemmWithIsa(QuantGemmIsa isa, int64_t M, const QuantGemmA &a,
                      const QuantPackedB &b, const QuantEpilogue &epilogue,
                      QuantGemmOut<float> out, ThreadPool *pool) {
  DS_CHECK(epilogue.scaleB, "quant gemm: the epilogue needs scaleB");
  const EpilogueTables tables = makeEpilogueTables(epilogue, b);
  runGemm(isa, M, a, b, pool,
          [&](const int32_t *c, int64_t ldc, int64_t rows, int64_t cols, int64_t m0,
              int64_t n0) { applyEpilogue(c, ldc, rows, cols, m0, n0, epilogue, tables, out); });
}

int64_t quantGemmPanelRows() { return familyFor(quantGemmBestIsa()).mr; }

void quantGemm(int64_t M, const QuantGemmA &a, const QuantPackedB &b,
               const QuantEpilogue &epilogue, QuantGemmOut<float> out, ThreadPool *pool) {
  quantGemmWithIsa(quantGemmBestIsa(), M, a, b, epilogue, out, pool);
}

} // namespace ds::rt
