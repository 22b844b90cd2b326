// Tests of the u8 x s8 -> s32 GEMM (QuantGemm.h): every micro-kernel family the
// CPU has against a naive int32 loop, bit equality across families and thread
// counts, the fused float epilogue, float A quantized while packing, and the K bound.
#include "../../codegen/runtime/kernels/QuantGemm.h"

#include "ds/runtime/Tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

using namespace ds::rt;

namespace {

const QuantGemmIsa kAllIsas[] = {QuantGemmIsa::Portable, QuantGemmIsa::Avx2,
                                 QuantGemmIsa::AvxVnni, QuantGemmIsa::Avx512Vnni};

struct Operands {
  int64_t M, N, K, lda;
  std::vector<uint8_t> a;
  std::vector<int8_t> b; // K x N, row stride N
};

/// Extreme values included: 255 x -128 and 255 x 127 are where vpmaddubsw
/// would saturate.
Operands randomOperands(int64_t M, int64_t N, int64_t K, uint32_t seed, bool extremes = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> ua(0, 255), sb(-128, 127), coin(0, 1);
  Operands o{M, N, K, K + 5, {}, {}};
  o.a.resize(static_cast<size_t>(std::max<int64_t>(M * o.lda, 1)));
  o.b.resize(static_cast<size_t>(std::max<int64_t>(K * N, 1)));
  for (auto &v : o.a)
    v = static_cast<uint8_t>(extremes ? 255 : ua(rng));
  for (auto &v : o.b)
    v = static_cast<int8_t>(extremes ? (coin(rng) ? 127 : -128) : sb(rng));
  return o;
}

std::vector<int32_t> naiveGemm(const Operands &o) {
  std::vector<int32_t> c(static_cast<size_t>(o.M * o.N), 0);
  for (int64_t i = 0; i < o.M; ++i)
    for (int64_t j = 0; j < o.N; ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < o.K; ++k)
        sum += int64_t(o.a[i * o.lda + k]) * int64_t(o.b[k * o.N + j]);
      c[i * o.N + j] = static_cast<int32_t>(sum);
    }
  return c;
}

std::vector<int32_t> runS32(QuantGemmIsa isa, const Operands &o, const QuantPackedB &b,
                            ThreadPool *pool) {
  std::vector<int32_t> c(static_cast<size_t>(o.M * o.N), -7);
  QuantGemmA a;
  a.u8 = o.a.data();
  a.ld = o.lda;
  quantGemmS32WithIsa(isa, o.M, a, b, {c.data(), o.N, 1}, pool);
  return c;
}

struct Size {
  int64_t M, N, K;
};

// Odd sizes: none a multiple of MR (12, 3, 2, 4), NR (32) or 4; K = 1; big K
// crosses the 1024-deep K blocks; big M x N makes several tiles in parallel.
const Size kSizes[] = {{1, 1, 1},     {1, 33, 1},    {3, 5, 7},      {13, 31, 9},
                       {25, 65, 130}, {37, 97, 513}, {2, 3, 2051},   {129, 257, 67},
                       {61, 40, 1029}, {200, 70, 300}, {5, 64, 64},  {12, 32, 4}};

TEST(QuantGemm, EveryIsaMatchesNaiveLoop) {
  ThreadPool pool(2);
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa)) {
      std::printf("[  SKIP    ] %s: not supported by this CPU\n", quantGemmIsaName(isa));
      continue;
    }
    uint32_t seed = 1;
    for (const Size &s : kSizes) {
      Operands o = randomOperands(s.M, s.N, s.K, seed++);
      QuantPackedB b = packQuantB(false, s.K, s.N, o.b.data(), s.N);
      EXPECT_EQ(runS32(isa, o, b, &pool), naiveGemm(o))
          << quantGemmIsaName(isa) << " " << s.M << "x" << s.N << "x" << s.K;
    }
  }
}

TEST(QuantGemm, CallerPackedAMatchesRowMajorA) {
  // A built directly in the panel layout (quant_conv's im2col does this),
  // with garbage in the filler rows and K padding, gives the same int32s.
  ThreadPool pool(2);
  const int64_t rows = quantGemmPanelRows();
  uint32_t seed = 40;
  for (const Size &s : kSizes) {
    Operands o = randomOperands(s.M, s.N, s.K, seed++);
    QuantPackedB b = packQuantB(false, s.K, s.N, o.b.data(), s.N);
    const int64_t panels = (s.M + rows - 1) / rows, kp = b.paddedK();
    std::vector<uint8_t> packed(static_cast<size_t>(panels * rows * kp), 0xA5);
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t k = 0; k < s.K; ++k)
        packed[quantGemmPackedAIndex(m, k, rows, kp)] = o.a[m * o.lda + k];
    std::vector<int32_t> c(static_cast<size_t>(s.M * s.N), -7);
    QuantGemmA a;
    a.packed = packed.data();
    a.packedRows = rows;
    quantGemmS32WithIsa(quantGemmBestIsa(), s.M, a, b, {c.data(), s.N, 1}, &pool);
    EXPECT_EQ(c, naiveGemm(o)) << s.M << "x" << s.N << "x" << s.K;
  }
  // Panels for another row count are rejected, not misread.
  Operands o = randomOperands(5, 7, 9, 1);
  QuantPackedB b = packQuantB(false, 9, 7, o.b.data(), 7);
  std::vector<uint8_t> packed(1024, 0);
  std::vector<int32_t> c(35);
  QuantGemmA a;
  a.packed = packed.data();
  a.packedRows = rows + 1;
  EXPECT_THROW(quantGemmS32WithIsa(quantGemmBestIsa(), 5, a, b, {c.data(), 7, 1}, nullptr),
               Error);
}

TEST(QuantGemm, SaturationProneValuesAreExact) {
  // 255 * 127 + 255 * 127 overflows int16: vpmaddubsw would clamp it.
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa))
      continue;
    Operands o = randomOperands(14, 35, 4099, 7, /*extremes=*/true);
    QuantPackedB b = packQuantB(false, o.K, o.N, o.b.data(), o.N);
    EXPECT_EQ(runS32(isa, o, b, nullptr), naiveGemm(o)) << quantGemmIsaName(isa);
  }
}

TEST(QuantGemm, BitIdenticalAcrossIsasAndThreads) {
  ThreadPool one(1), two(2);
  Operands o = randomOperands(150, 300, 700, 11);
  QuantPackedB b = packQuantB(false, o.K, o.N, o.b.data(), o.N);
  std::vector<int32_t> ref = runS32(QuantGemmIsa::Portable, o, b, &one);
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa))
      continue;
    EXPECT_EQ(runS32(isa, o, b, &one), ref) << quantGemmIsaName(isa) << " 1 thread";
    EXPECT_EQ(runS32(isa, o, b, &two), ref) << quantGemmIsaName(isa) << " 2 threads";
  }
}

TEST(QuantGemm, TransposedPackingAndColumnSums) {
  Operands o = randomOperands(9, 45, 23, 5);
  std::vector<int8_t> bt(static_cast<size_t>(o.N * o.K));
  for (int64_t k = 0; k < o.K; ++k)
    for (int64_t n = 0; n < o.N; ++n)
      bt[n * o.K + k] = o.b[k * o.N + n];
  QuantPackedB b = packQuantB(true, o.K, o.N, bt.data(), o.K);
  EXPECT_EQ(runS32(quantGemmBestIsa(), o, b, nullptr), naiveGemm(o));
  for (int64_t n = 0; n < o.N; ++n) {
    int32_t sum = 0;
    for (int64_t k = 0; k < o.K; ++k)
      sum += o.b[k * o.N + n];
    EXPECT_EQ(b.colSums()[n], sum);
  }
}

/// The epilogue formula evaluated from the exact integer sums.
std::vector<float> naiveEpilogue(const Operands &o, const QuantEpilogue &e) {
  std::vector<float> out(static_cast<size_t>(o.M * o.N));
  for (int64_t i = 0; i < o.M; ++i)
    for (int64_t j = 0; j < o.N; ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < o.K; ++k)
        sum += (int64_t(o.a[i * o.lda + k]) - e.zeroPointA) * int64_t(o.b[k * o.N + j]);
      float scale = e.scaleA * e.scaleB[e.scaleBPerColumn ? j : 0];
      out[i * o.N + j] = quantOutputValue(static_cast<int32_t>(sum), scale,
                                          e.bias ? e.bias[j] : 0.0f, e.relu);
    }
  return out;
}

TEST(QuantGemm, EpilogueMatchesFormulaBitForBit) {
  ThreadPool pool(2);
  Operands o = randomOperands(70, 77, 301, 3);
  QuantPackedB b = packQuantB(false, o.K, o.N, o.b.data(), o.N);
  std::vector<float> scales(static_cast<size_t>(o.N)), bias(scales.size());
  for (int64_t j = 0; j < o.N; ++j) {
    scales[j] = 0.001f * float(j + 1);
    bias[j] = 0.25f * float(j % 7) - 0.8f;
  }
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa))
      continue;
    for (int variant = 0; variant < 4; ++variant) {
      QuantEpilogue e;
      e.scaleA = 0.0173f;
      e.zeroPointA = 131;
      e.scaleB = scales.data();
      e.scaleBPerColumn = variant % 2 == 0;
      e.bias = variant < 2 ? bias.data() : nullptr;
      e.relu = variant == 1 || variant == 2;
      QuantGemmA a;
      a.u8 = o.a.data();
      a.ld = o.lda;
      std::vector<float> out(static_cast<size_t>(o.M * o.N), NAN);
      quantGemmWithIsa(isa, o.M, a, b, e, {out.data(), o.N, 1}, &pool);
      std::vector<float> ref = naiveEpilogue(o, e);
      EXPECT_EQ(0, std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)))
          << quantGemmIsaName(isa) << " variant " << variant;
      // Column-strided output (conv layout) gives the same values.
      std::vector<float> outT(out.size(), NAN);
      quantGemmWithIsa(isa, o.M, a, b, e, {outT.data(), 1, o.M}, &pool);
      for (int64_t i = 0; i < o.M; ++i)
        for (int64_t j = 0; j < o.N; ++j)
          ASSERT_EQ(outT[j * o.M + i], out[i * o.N + j]);
    }
  }
}

TEST(QuantGemm, FloatAIsQuantizedAsQuantizeLinear) {
  const int64_t M = 5, N = 33, K = 67; // 67: full 16-lane blocks and a masked tail
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(M * K));
  for (float &v : x)
    v = dist(rng);
  const float scale = 0.05f;
  const int32_t zp = 100;
  const float special[] = {0.125f, 0.075f, -0.025f, NAN, 1e9f, -1e9f, INFINITY, -INFINITY,
                           -0.0f,  6.35f,  -5.0f,   7.76f};
  for (size_t i = 0; i < std::size(special); ++i) {
    x[i] = special[i];          // first lanes of a 16-lane block
    x[2 * K - 1 - i] = special[i]; // the masked tail of row 1
  }
  Operands o = randomOperands(M, N, K, 4);
  o.lda = K;
  o.a.assign(static_cast<size_t>(M * K), 0);
  for (size_t i = 0; i < x.size(); ++i) {
    float q = std::isnan(x[i]) ? 0.0f : std::nearbyint(x[i] / scale);
    o.a[i] = static_cast<uint8_t>(std::clamp(q + float(zp), 0.0f, 255.0f));
  }
  QuantPackedB b = packQuantB(false, K, N, o.b.data(), N);
  QuantGemmA a;
  a.f32 = x.data();
  a.ld = K;
  a.scale = scale;
  a.zeroPoint = zp;
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa))
      continue;
    std::vector<int32_t> c(static_cast<size_t>(M * N));
    quantGemmS32WithIsa(isa, M, a, b, {c.data(), N, 1}, nullptr);
    EXPECT_EQ(c, naiveGemm(o)) << quantGemmIsaName(isa);
  }
}

TEST(QuantGemm, RejectsTooDeepK) {
  std::vector<int8_t> b(static_cast<size_t>(kQuantGemmMaxK + 1), 1);
  EXPECT_NO_THROW(packQuantB(false, kQuantGemmMaxK, 1, b.data(), 1));
  try {
    packQuantB(false, kQuantGemmMaxK + 1, 1, b.data(), 1);
    FAIL() << "expected rt::Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("exceeds 65793"), std::string::npos) << e.what();
  }
}

TEST(QuantGemm, MaxKWorstCaseDoesNotOverflow) {
  // K = kQuantGemmMaxK with every product 255 * -128: the most negative sum.
  const int64_t K = kQuantGemmMaxK;
  std::vector<uint8_t> a(static_cast<size_t>(K), 255);
  std::vector<int8_t> bv(static_cast<size_t>(K), -128);
  QuantPackedB b = packQuantB(false, K, 1, bv.data(), 1);
  for (QuantGemmIsa isa : kAllIsas) {
    if (!quantGemmIsaSupported(isa))
      continue;
    QuantGemmA qa;
    qa.u8 = a.data();
    qa.ld = K;
    int32_t c = 0;
    quantGemmS32WithIsa(isa, 1, qa, b, {&c, 1, 1}, nullptr);
    EXPECT_EQ(int64_t(c), K * 255 * -128) << quantGemmIsaName(isa);
  }
}

} // namespace
