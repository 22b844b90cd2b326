// Tests of the FP32 GEMM (every micro-kernel family the CPU has) and of the
// matmul, gemm and matmul_integer kernels, against naive loops.
#include "../../codegen/runtime/kernels/Gemm.h"

#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace ds::rt;

namespace {

std::vector<float> randomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

struct GemmCase {
  int64_t M, N, K;
  bool transA, transB;
  float alpha, beta;
  int biasKind; // 0 none, 1 per column, 2 per row, 3 scalar, 4 full matrix
};

/// Checks gemmF32WithIsa against a double-precision loop; the error is measured
/// relative to the sum of the magnitudes of the terms (rel < 1e-5).
void checkGemm(GemmIsa isa, const GemmCase &c, ThreadPool *pool, uint32_t seed) {
  const int64_t pad = 3; // leading dimensions larger than needed
  int64_t lda = (c.transA ? c.M : c.K) + pad, ldb = (c.transB ? c.K : c.N) + pad;
  int64_t ldc = c.N + pad;
  int64_t aRows = c.transA ? c.K : c.M, bRows = c.transB ? c.N : c.K;
  std::vector<float> a = randomFloats(aRows * lda, seed);
  std::vector<float> b = randomFloats(bRows * ldb, seed + 1);
  std::vector<float> out = randomFloats(c.M * ldc, seed + 2);
  std::vector<float> biasData = randomFloats(c.M * c.N + 1, seed + 3);
  GemmBias bias;
  switch (c.biasKind) {
  case 1: bias = {biasData.data(), 0, 1}; break;
  case 2: bias = {biasData.data(), 1, 0}; break;
  case 3: bias = {biasData.data(), 0, 0}; break;
  case 4: bias = {biasData.data(), c.N, 1}; break;
  default: break;
  }
  std::vector<float> original = out;
  gemmF32WithIsa(isa, c.transA, c.transB, c.M, c.N, c.K, c.alpha, a.data(), lda, b.data(),
                 ldb, c.beta, out.data(), ldc, bias, pool);

  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = 0, magnitude = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        double x = c.transA ? a[k * lda + i] : a[i * lda + k];
        double w = c.transB ? b[j * ldb + k] : b[k * ldb + j];
        sum += x * w;
        magnitude += std::abs(x * w);
      }
      double expected = c.alpha * sum;
      magnitude *= std::abs(c.alpha);
      if (c.beta != 0.0f) {
        expected += double(c.beta) * original[i * ldc + j];
        magnitude += std::abs(double(c.beta) * original[i * ldc + j]);
      }
      if (bias.data) {
        double v = bias.data[i * bias.rowStride + j * bias.colStride];
        expected += v;
        magnitude += std::abs(v);
      }
      double got = out[i * ldc + j];
      ASSERT_LE(std::abs(got - expected), 1e-5 * magnitude + 1e-30)
          << gemmIsaName(isa) << " M=" << c.M << " N=" << c.N << " K=" << c.K
          << " transA=" << c.transA << " transB=" << c.transB << " at (" << i << ", " << j
          << ")";
    }
    // The padding past N must be untouched.
    for (int64_t j = c.N; j < ldc; ++j)
      ASSERT_EQ(out[i * ldc + j], original[i * ldc + j]) << "wrote past N";
  }
}

std::vector<GemmIsa> supportedIsas() {
  std::vector<GemmIsa> isas;
  for (GemmIsa isa : {GemmIsa::Portable, GemmIsa::Avx2Fma, GemmIsa::Avx512})
    if (gemmIsaSupported(isa))
      isas.push_back(isa);
  return isas;
}

} // namespace

TEST(GemmF32, MatchesNaiveLoopForOddShapesAndAllOptions) {
  const GemmCase cases[] = {
      {1, 1, 1, false, false, 1.0f, 0.0f, 0},   {1, 37, 19, false, false, 1.0f, 0.0f, 1},
      {29, 1, 23, false, true, 0.5f, 1.0f, 2},  {1, 45, 300, true, true, 1.0f, 0.5f, 3},
      {45, 1, 300, true, false, 2.0f, 1.0f, 4}, {13, 17, 19, false, false, 1.0f, 0.0f, 0},
      {13, 17, 19, true, false, -1.5f, 0.0f, 1}, {13, 17, 19, false, true, 1.0f, 1.0f, 2},
      {13, 17, 19, true, true, 0.25f, -2.0f, 3}, {37, 45, 300, false, false, 1.0f, 0.3f, 4},
      {37, 45, 300, true, true, 1.0f, 0.0f, 1},  {100, 600, 33, false, false, 1.0f, 1.0f, 0},
      {100, 600, 33, false, true, 1.0f, 0.0f, 4}, {12, 32, 256, false, false, 1.0f, 0.0f, 0},
      {25, 65, 513, true, false, 1.0f, 0.0f, 2},  {7, 5, 0, false, false, 1.0f, 0.5f, 1},
  };
  ThreadPool pool(3);
  uint32_t seed = 1;
  for (GemmIsa isa : supportedIsas())
    for (const GemmCase &c : cases) {
      checkGemm(isa, c, nullptr, seed += 7);
      checkGemm(isa, c, &pool, seed += 7);
    }
}

TEST(GemmF32, EveryRowRemainderOfThePackedAPanel) {
  // Row-major A is packed with 8- and 4-row block transposes plus a scalar
  // ragged edge: cover every panel remainder, K not a multiple of 8, and lda > K.
  uint32_t seed = 100;
  for (GemmIsa isa : supportedIsas())
    for (int64_t M = 2; M <= 26; ++M)
      for (int64_t K : {3, 8, 21, 300}) {
        checkGemm(isa, {M, 40, K, false, false, 1.0f, 0.0f, 1}, nullptr, ++seed);
        checkGemm(isa, {M, 33, K, false, true, 0.5f, 1.0f, 0}, nullptr, ++seed);
      }
}

TEST(GemmF32, FewColumnsWithTransposedBTakeTheDotsPath) {
  // N <= 16 with B stored N x K (Gemm nodes with transB: classifier heads) is a
  // block of dot products on AVX-512 instead of mostly padded 32-wide panels:
  // every row and column remainder of its 3 x 8 blocks, K below, at and around
  // one vector, every bias kind, beta, and the row split over threads.
  ThreadPool pool(3);
  uint32_t seed = 500;
  for (GemmIsa isa : supportedIsas())
    for (int64_t N = 2; N <= 16; ++N)
      for (int64_t M : {2, 3, 4, 8, 25})
        for (int64_t K : {1, 15, 16, 17, 300}) {
          const float beta = (N + M) % 3 == 0 ? 0.5f : 0.0f;
          checkGemm(isa, {M, N, K, false, true, N % 2 ? 1.0f : -0.5f, beta, int(seed % 5)},
                    seed % 2 ? &pool : nullptr, seed);
          ++seed;
        }
  for (GemmIsa isa : supportedIsas())
    checkGemm(isa, {640, 10, 512, false, true, 1.0f, 0.0f, 1}, &pool, 7); // parallel
}

TEST(GemmF32, DotsPathBitIdenticalForAnyThreadCount) {
  const int64_t M = 701, N = 10, K = 515; // > 2 MFLOP: split over the pool
  std::vector<float> a = randomFloats(M * K, 8), b = randomFloats(N * K, 9);
  auto run = [&](ThreadPool *pool) {
    std::vector<float> c(M * N);
    gemmF32(false, true, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c.data(), N,
            GemmBias{}, pool);
    return c;
  };
  ThreadPool two(2), five(5);
  std::vector<float> serial = run(nullptr);
  EXPECT_EQ(serial, run(&two));
  EXPECT_EQ(serial, run(&five));
}

TEST(GemmF32, LargeParallelProductIsCorrect) {
  ThreadPool pool(4);
  for (GemmIsa isa : supportedIsas()) {
    checkGemm(isa, {150, 260, 270, false, false, 1.0f, 0.0f, 1}, &pool, 11);
    checkGemm(isa, {150, 260, 270, true, true, 1.0f, 1.0f, 0}, &pool, 12);
  }
}

TEST(GemmF32, BitIdenticalForAnyThreadCount) {
  const int64_t M = 203, N = 301, K = 517; // large enough to be split into tiles
  std::vector<float> a = randomFloats(M * K, 5), b = randomFloats(K * N, 6);
  std::vector<float> bias = randomFloats(N, 7);
  auto run = [&](ThreadPool *pool, bool transB) {
    std::vector<float> c(M * N);
    gemmF32(false, transB, M, N, K, 1.0f, a.data(), K, b.data(), transB ? K : N, 0.0f,
            c.data(), N, GemmBias{bias.data(), 0, 1}, pool);
    return c;
  };
  ThreadPool one(1), two(2), five(5);
  for (bool transB : {false, true}) {
    std::vector<float> serial = run(nullptr, transB);
    EXPECT_EQ(serial, run(&one, transB));
    EXPECT_EQ(serial, run(&two, transB));
    EXPECT_EQ(serial, run(&five, transB));
  }
}

TEST(GemmF32, BetaZeroIgnoresGarbageInC) {
  std::vector<float> a = randomFloats(6 * 5, 1), b = randomFloats(5 * 7, 2);
  std::vector<float> c(6 * 7, std::numeric_limits<float>::quiet_NaN());
  gemmF32(false, false, 6, 7, 5, 1.0f, a.data(), 5, b.data(), 7, 0.0f, c.data(), 7,
          GemmBias{}, nullptr);
  for (float v : c)
    EXPECT_FALSE(std::isnan(v));
}

TEST(GemmF32, RejectsBadLeadingDimensions) {
  std::vector<float> a(16), b(16), c(16);
  EXPECT_THROW(gemmF32(false, false, 4, 4, 4, 1.0f, a.data(), 3, b.data(), 4, 0.0f,
                       c.data(), 4, GemmBias{}, nullptr),
               Error);
  EXPECT_THROW(gemmF32(false, false, 4, 4, 4, 1.0f, a.data(), 4, b.data(), 4, 0.0f,
                       c.data(), 2, GemmBias{}, nullptr),
               Error);
  EXPECT_THROW(gemmF32(false, false, -1, 4, 4, 1.0f, a.data(), 4, b.data(), 4, 0.0f,
                       c.data(), 4, GemmBias{}, nullptr),
               Error);
}

// ---- The kernels --------------------------------------------------------------

namespace {

Tensor makeTensor(DType dtype, Shape shape, const std::vector<double> &values) {
  Tensor t(dtype, shape);
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
    case DType::F32: t.mutableData<float>()[i] = float(values[i]); break;
    case DType::F64: t.mutableData<double>()[i] = values[i]; break;
    case DType::I32: t.mutableData<int32_t>()[i] = int32_t(values[i]); break;
    case DType::I64: t.mutableData<int64_t>()[i] = int64_t(values[i]); break;
    case DType::U8: t.mutableData<uint8_t>()[i] = uint8_t(values[i]); break;
    case DType::I8: t.mutableData<int8_t>()[i] = int8_t(values[i]); break;
    default: ADD_FAILURE() << "unsupported test dtype";
    }
  }
  return t;
}

Tensor randomTensor(Shape shape, uint32_t seed) {
  Tensor t(DType::F32, shape);
  std::vector<float> v = randomFloats(t.numel(), seed);
  std::copy(v.begin(), v.end(), t.mutableData<float>());
  return t;
}

std::vector<Tensor> runKernel(const char *name, const std::vector<Tensor> &inputs,
                              const AttrMap &attrs = AttrMap(), size_t numOutputs = 1) {
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  ThreadPool pool(2);
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

/// Naive numpy.matmul for float tensors whose batch dims are already equal or 1.
std::vector<double> naiveMatMul(const Tensor &a, const Tensor &b, const Shape &outShape) {
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  size_t rank = std::max(as.size(), bs.size());
  while (as.size() < rank)
    as.insert(as.begin(), 1);
  while (bs.size() < rank)
    bs.insert(bs.begin(), 1);
  Shape batch(rank - 2);
  for (size_t d = 0; d + 2 < rank; ++d)
    batch[d] = std::max(as[d], bs[d]);
  int64_t batchCount = 1;
  for (int64_t d : batch)
    batchCount *= d;
  std::vector<double> out;
  for (int64_t n = 0; n < batchCount; ++n) {
    int64_t aOff = 0, bOff = 0, rem = n, aMul = 1, bMul = 1;
    for (size_t d = batch.size(); d-- > 0;) {
      int64_t idx = rem % batch[d];
      rem /= batch[d];
      aOff += (as[d] == 1 ? 0 : idx) * aMul;
      bOff += (bs[d] == 1 ? 0 : idx) * bMul;
      aMul *= as[d];
      bMul *= bs[d];
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += double(a.data<float>()[aOff * M * K + i * K + k]) *
               b.data<float>()[bOff * K * N + k * N + j];
        out.push_back(s);
      }
  }
  EXPECT_EQ(int64_t(out.size()), shapeNumel(outShape));
  return out;
}

void expectNear(const Tensor &t, const std::vector<double> &expected, double tol) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(t.getAsDouble(i), expected[i], tol * (1 + std::abs(expected[i]))) << i;
}

} // namespace

TEST(MatMulKernel, NumpySemanticsForVectorsAndBroadcastBatches) {
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {{3, 4}, {4, 5}, {3, 5}},          {{4}, {4, 5}, {5}},
      {{3, 4}, {4}, {3}},                {{4}, {4}, {}},
      {{2, 3, 4}, {4, 5}, {2, 3, 5}},    {{2, 3, 4}, {2, 4, 5}, {2, 3, 5}},
      {{4}, {2, 4, 5}, {2, 5}},          {{2, 1, 3, 4}, {3, 4, 5}, {2, 3, 3, 5}},
      {{1, 3, 4}, {2, 4, 5}, {2, 3, 5}}, {{5, 7, 70}, {70, 300}, {5, 7, 300}},
      {{3, 0, 4}, {4, 5}, {3, 0, 5}},    {{3, 4, 0}, {0, 5}, {3, 4, 5}},
  };
  uint32_t seed = 3;
  for (const Case &c : cases) {
    Tensor a = randomTensor(c.a, seed++), b = randomTensor(c.b, seed++);
    std::vector<Tensor> out = runKernel("matmul", {a, b});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), c.out) << shapeToString(c.a) << " x " << shapeToString(c.b);
    expectNear(out[0], naiveMatMul(a, b, c.out), 1e-5);
  }
}

TEST(MatMulKernel, IntegerAndDoubleTypes) {
  Tensor a = makeTensor(DType::I64, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = makeTensor(DType::I64, {3, 2}, {7, 8, 9, 10, 11, 12});
  std::vector<Tensor> out = runKernel("matmul", {a, b});
  EXPECT_EQ(out[0].dtype(), DType::I64);
  expectNear(out[0], {58, 64, 139, 154}, 0);
  Tensor ad = makeTensor(DType::F64, {1, 2}, {0.5, 2});
  Tensor bd = makeTensor(DType::F64, {2, 1}, {4, 0.25});
  expectNear(runKernel("matmul", {ad, bd})[0], {2.5}, 0);
}

TEST(MatMulKernel, RejectsMismatchedShapesAndTypes) {
  EXPECT_THROW(runKernel("matmul", {randomTensor({2, 3}, 1), randomTensor({4, 2}, 2)}), Error);
  EXPECT_THROW(runKernel("matmul", {randomTensor({2, 2, 3}, 1), randomTensor({3, 3, 2}, 2)}),
               Error);
  EXPECT_THROW(runKernel("matmul", {randomTensor({2, 3}, 1),
                                    makeTensor(DType::I64, {3}, {1, 2, 3})}),
               Error);
  Tensor scalar(DType::F32, {});
  EXPECT_THROW(runKernel("matmul", {scalar, randomTensor({3}, 2)}), Error);
}

TEST(GemmKernel, AttributesAndBroadcastBias) {
  const int64_t M = 5, K = 7, N = 6;
  Tensor aT = randomTensor({K, M}, 1), bT = randomTensor({N, K}, 2);
  for (Shape cShape : {Shape{}, Shape{N}, Shape{1, N}, Shape{M, 1}, Shape{M, N}, Shape{1}}) {
    for (float beta : {1.0f, 0.5f}) {
      Tensor c = randomTensor(cShape, 3);
      AttrMap attrs;
      attrs.set("transA", int64_t{1});
      attrs.set("transB", int64_t{1});
      attrs.set("alpha", 0.25f);
      attrs.set("beta", beta);
      std::vector<Tensor> out = runKernel("gemm", {aT, bT, c}, attrs);
      ASSERT_EQ(out[0].shape(), (Shape{M, N}));
      std::vector<int64_t> cs = cShape.size() == 2   ? std::vector<int64_t>{cShape[0] == 1 ? 0 : cShape[1], cShape[1] == 1 ? 0 : 1}
                                : cShape.size() == 1 ? std::vector<int64_t>{0, cShape[0] == 1 ? 0 : 1}
                                                     : std::vector<int64_t>{0, 0};
      std::vector<double> expected;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k)
            s += double(aT.data<float>()[k * M + i]) * bT.data<float>()[j * K + k];
          expected.push_back(0.25 * s + beta * c.data<float>()[i * cs[0] + j * cs[1]]);
        }
      expectNear(out[0], expected, 1e-5);
    }
  }
  // No C at all, and integer types.
  Tensor a = makeTensor(DType::I32, {1, 2}, {3, 4}), b = makeTensor(DType::I32, {2, 1}, {5, 6});
  expectNear(runKernel("gemm", {a, b})[0], {39}, 0);
}

TEST(GemmKernel, RejectsBadShapes) {
  EXPECT_THROW(runKernel("gemm", {randomTensor({2, 3}, 1), randomTensor({2, 3}, 2)}), Error);
  EXPECT_THROW(runKernel("gemm", {randomTensor({2, 3, 1}, 1), randomTensor({3, 2}, 2)}),
               Error);
  EXPECT_THROW(runKernel("gemm", {randomTensor({2, 3}, 1), randomTensor({3, 2}, 2),
                                  randomTensor({3}, 3)}),
               Error);
}

TEST(MatMulIntegerKernel, SpecExampleWithZeroPoints) {
  // From the ONNX MatMulInteger operator example.
  Tensor a = makeTensor(DType::U8, {4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
  Tensor aZero = makeTensor(DType::U8, {}, {12});
  Tensor b = makeTensor(DType::U8, {3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor bZero = makeTensor(DType::U8, {}, {0});
  std::vector<Tensor> out = runKernel("matmul_integer", {a, b, aZero, bZero});
  EXPECT_EQ(out[0].dtype(), DType::I32);
  expectNear(out[0], {-38, -83, -44, -98, -50, -113, -56, -128}, 0);
}

TEST(MatMulIntegerKernel, PerRowAndPerColumnZeroPointsAndInt8) {
  Tensor a = makeTensor(DType::I8, {2, 2}, {-1, 2, 3, -4});
  Tensor aZero = makeTensor(DType::I8, {2}, {1, -1});
  Tensor b = makeTensor(DType::U8, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor bZero = makeTensor(DType::U8, {3}, {1, 0, 2});
  std::vector<Tensor> out = runKernel("matmul_integer", {a, b, aZero, bZero});
  // A - za = [[-2, 1], [4, -3]]; B - zb = [[0, 2, 1], [3, 5, 4]].
  expectNear(out[0], {3, 1, 2, -9, -7, -8}, 0);
  EXPECT_THROW(runKernel("matmul_integer", {a, b, makeTensor(DType::I8, {3}, {1, 2, 3})}),
               Error);
  EXPECT_THROW(runKernel("matmul_integer", {randomTensor({2, 2}, 1), b}), Error);
}

// ---- Packed constant B (gemmPackB / gemmF32Prepacked / the per-node cache) ----

TEST(GemmF32Prepacked, BitIdenticalToGemmF32) {
  // Shapes cover the mat-vec path (M == 1), one tile, several row/column tiles
  // (parallel and serial), K past one K block, and transposed B.
  const GemmCase cases[] = {
      {1, 37, 19, false, false, 1.0f, 0.0f, 1},   {13, 17, 19, true, false, -1.5f, 0.5f, 2},
      {29, 45, 300, false, true, 0.5f, 1.0f, 3},   {128, 344, 128, false, false, 1.0f, 0.0f, 0},
      {150, 600, 270, false, true, 1.0f, 0.0f, 1}, {64, 10, 800, false, true, 1.0f, 1.0f, 1},
      {5, 7, 0, false, false, 1.0f, 0.5f, 4},
  };
  ThreadPool two(2);
  uint32_t seed = 500;
  for (GemmIsa isa : supportedIsas())
    for (const GemmCase &c : cases)
      for (ThreadPool *pool : {static_cast<ThreadPool *>(nullptr), &two}) {
        const int64_t lda = (c.transA ? c.M : c.K) + 2, ldb = (c.transB ? c.K : c.N) + 1;
        std::vector<float> a = randomFloats((c.transA ? c.K : c.M) * lda, ++seed);
        std::vector<float> b = randomFloats((c.transB ? c.N : c.K) * ldb, ++seed);
        std::vector<float> biasData = randomFloats(c.M * c.N + 1, ++seed);
        GemmBias bias = c.biasKind ? GemmBias{biasData.data(), 0, 1} : GemmBias{};
        std::vector<float> expected = randomFloats(c.M * c.N, ++seed), got = expected;
        gemmF32WithIsa(isa, c.transA, c.transB, c.M, c.N, c.K, c.alpha, a.data(), lda,
                       b.data(), ldb, c.beta, expected.data(), c.N, bias, pool);
        GemmPackedB packed = gemmPackB(isa, c.transB, c.K, c.N, b.data(), ldb, pool);
        gemmF32Prepacked(c.transA, c.M, c.alpha, a.data(), lda, packed, c.beta, got.data(),
                         c.N, bias, pool);
        EXPECT_EQ(expected, got) << gemmIsaName(isa) << " M=" << c.M << " N=" << c.N
                                 << " K=" << c.K << " transB=" << c.transB;
      }
}

namespace {

/// Runs `name` through one KernelContext with node state, as a Program does.
struct StatefulNode {
  const char *name;
  AttrMap attrs;
  ThreadPool pool{2};
  std::shared_ptr<void> state;

  Tensor run(const std::vector<Tensor> &inputs) {
    KernelContext ctx{attrs, pool, 1, &state};
    std::vector<Tensor> outputs;
    findKernel(name)(ctx, inputs, outputs);
    return outputs.at(0);
  }
};

void expectSameBits(const Tensor &x, const Tensor &y) {
  ASSERT_EQ(x.shape(), y.shape());
  EXPECT_EQ(0, std::memcmp(x.rawData(), y.rawData(), x.byteSize()));
}

} // namespace

TEST(MatMulKernel, CachedWeightPackGivesTheSameBitsAndFollowsNewStorage) {
  StatefulNode node{"matmul"};
  Tensor a = randomTensor({2, 64, 48}, 1), w = randomTensor({48, 72}, 2);
  Tensor expected = runKernel("matmul", {a, w})[0];
  for (int call = 0; call < 3; ++call) // record, pack, reuse
    expectSameBits(expected, node.run({a, w}));
  EXPECT_NE(node.state, nullptr);
  // A different B (new storage) must not see the old pack.
  Tensor w2 = randomTensor({48, 72}, 3);
  expectSameBits(runKernel("matmul", {a, w2})[0], node.run({a, w2}));
  expectSameBits(runKernel("matmul", {a, w2})[0], node.run({a, w2}));
  // Batched A against one B that is not foldable (broadcast A over a B batch of 1).
  Tensor a3 = randomTensor({3, 1, 20, 48}, 4), w3 = randomTensor({1, 48, 72}, 5);
  StatefulNode batched{"matmul"};
  Tensor want = runKernel("matmul", {a3.reshaped({3, 20, 48}), w3})[0];
  for (int call = 0; call < 3; ++call)
    expectSameBits(want, batched.run({a3.reshaped({3, 20, 48}), w3}));
}

TEST(MatMulKernel, CallerMemoryWithoutHolderIsNeverCached) {
  // Borrowed caller memory may be rewritten between runs at the same address.
  StatefulNode node{"matmul"};
  Tensor a = randomTensor({40, 32}, 1);
  std::vector<float> buffer = randomFloats(32 * 50, 2);
  Tensor w = Tensor::borrow(DType::F32, {32, 50}, buffer.data(), nullptr);
  node.run({a, w});
  node.run({a, w});
  std::vector<float> fresh = randomFloats(32 * 50, 3);
  std::copy(fresh.begin(), fresh.end(), buffer.begin());
  Tensor got = node.run({a, w});
  std::vector<double> want = naiveMatMul(a, w, {40, 50});
  expectNear(got, want, 1e-4);
}

TEST(GemmKernel, CachedWeightPackGivesTheSameBits) {
  AttrMap attrs;
  attrs.set("transB", int64_t(1));
  StatefulNode node{"gemm", attrs};
  Tensor a = randomTensor({64, 256}, 1), w = randomTensor({10, 256}, 2);
  Tensor bias = randomTensor({10}, 3);
  Tensor expected = runKernel("gemm", {a, w, bias}, attrs)[0];
  for (int call = 0; call < 3; ++call)
    expectSameBits(expected, node.run({a, w, bias}));
  Tensor w2 = randomTensor({10, 256}, 4);
  expectSameBits(runKernel("gemm", {a, w2, bias}, attrs)[0], node.run({a, w2, bias}));
}
