// matmul_nbits and gather_block_quantized (ORT's block-quantized weight layout) against a
// naive dequantize-then-multiply in double, for 4 and 8 bits, ragged last blocks, packed
// and float zero points and bias; the same bits at 1 and 2 threads; bad operands refused.
#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

struct Packed {
  Tensor codes, scales, zeroPoints;
  std::vector<double> w; // [K, N], dequantized in double
};

/// Random codes in the layout for K x N weights: per column n, ceil(K / block) blocks.
Packed pack(int64_t K, int64_t N, int64_t bits, int64_t block, int zeroKind, std::mt19937 &rng) {
  const int64_t blocks = (K + block - 1) / block, blob = block * bits / 8, zpRow = (blocks * bits + 7) / 8;
  Packed p{Tensor(DType::U8, {N, blocks, blob}), Tensor(DType::F32, {N * blocks}), Tensor(), {}};
  if (zeroKind == 1)
    p.zeroPoints = Tensor(DType::U8, {N * zpRow});
  if (zeroKind == 2)
    p.zeroPoints = Tensor(DType::F32, {N * blocks});
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  std::uniform_real_distribution<float> scale(0.01f, 0.1f);
  auto *q = p.codes.mutableData<uint8_t>();
  p.w.assign(static_cast<size_t>(K * N), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < blocks; ++b) {
      float s = scale(rng);
      p.scales.mutableData<float>()[n * blocks + b] = s;
      double zero = 1 << (bits - 1);
      if (zeroKind == 1) {
        int z = code(rng);
        p.zeroPoints.mutableData<uint8_t>()[n * zpRow + b * bits / 8] |=
            static_cast<uint8_t>(z << ((b * bits) % 8));
        zero = z;
      } else if (zeroKind == 2) {
        float z = static_cast<float>(code(rng)) + 0.5f;
        p.zeroPoints.mutableData<float>()[n * blocks + b] = z;
        zero = z;
      }
      for (int64_t i = 0; i < block; ++i) {
        int c = code(rng);
        int64_t byte = (n * blocks + b) * blob + i * bits / 8;
        q[byte] |= static_cast<uint8_t>(c << ((i * bits) % 8));
        if (b * block + i < K)
          p.w[static_cast<size_t>((b * block + i) * N + n)] =
              (static_cast<float>(c) - static_cast<float>(zero)) * s;
      }
    }
  return p;
}

AttrMap attrs(int64_t K, int64_t N, int64_t bits, int64_t block) {
  AttrMap a;
  a.set("K", K);
  a.set("N", N);
  a.set("bits", bits);
  a.set("block_size", block);
  return a;
}

TEST(MatMulNBits, MatchesDequantizedProduct) {
  std::mt19937 rng(11);
  for (auto [K, N, bits, block, zeroKind, bias] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int, bool>>{
           {64, 24, 4, 32, 0, false}, {40, 7, 4, 16, 1, true}, {96, 33, 8, 32, 1, false},
           {200, 16, 4, 128, 2, true}, {32, 5, 8, 16, 0, true}}) {
    Packed p = pack(K, N, bits, block, zeroKind, rng);
    Tensor a = kernel_test::randomTensor({2, 3, K}, rng, 1.0f);
    Tensor b = kernel_test::randomTensor({N}, rng, 1.0f);
    std::vector<Tensor> in = {a, p.codes, p.scales, p.zeroPoints, bias ? b : Tensor()};
    Tensor y1 = kernel_test::runKernel("matmul_nbits", in, 1, attrs(K, N, bits, block));
    Tensor y2 = kernel_test::runKernel("matmul_nbits", in, 2, attrs(K, N, bits, block));
    ASSERT_EQ(y1.shape(), (Shape{2, 3, N}));
    for (int64_t m = 0; m < 6; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double want = bias ? b.data<float>()[n] : 0.0;
        for (int64_t k = 0; k < K; ++k)
          want += static_cast<double>(a.data<float>()[m * K + k]) * p.w[static_cast<size_t>(k * N + n)];
        EXPECT_NEAR(y1.data<float>()[m * N + n], want, 1e-4 * (1 + std::abs(want))) << K << "x" << N;
        EXPECT_EQ(y1.data<float>()[m * N + n], y2.data<float>()[m * N + n]);
      }
  }
}

TEST(MatMulNBits, RejectsOperandsOfTheWrongSize) {
  std::mt19937 rng(12);
  Packed p = pack(64, 8, 4, 32, 0, rng);
  Tensor a = kernel_test::randomTensor({1, 64}, rng, 1.0f);
  EXPECT_THROW(kernel_test::runKernel("matmul_nbits", {a, p.codes, p.scales}, 1, attrs(96, 8, 4, 32)), Error);
  EXPECT_THROW(kernel_test::runKernel("matmul_nbits", {a, p.codes, p.scales}, 1, attrs(64, 8, 3, 32)), Error);
  Tensor wrongA = kernel_test::randomTensor({1, 63}, rng, 1.0f);
  EXPECT_THROW(kernel_test::runKernel("matmul_nbits", {wrongA, p.codes, p.scales}, 1, attrs(64, 8, 4, 32)), Error);
}

TEST(GatherBlockQuantized, RowsAreTheDequantizedTable) {
  std::mt19937 rng(13);
  // A table of 10 rows x 64 columns is the transposed [K=64, N=10] weights' columns.
  Packed p = pack(64, 10, 4, 32, 0, rng);
  Tensor idx(DType::I64, {2, 2});
  const int64_t rows[] = {3, 0, 9, -1};
  for (int i = 0; i < 4; ++i)
    idx.mutableData<int64_t>()[i] = rows[i];
  AttrMap a;
  a.set("bits", int64_t{4});
  a.set("block_size", int64_t{32});
  a.set("columns", int64_t{64});
  Tensor y = kernel_test::runKernel("gather_block_quantized", {p.codes, idx, p.scales}, 1, a);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 64}));
  for (int i = 0; i < 4; ++i) {
    int64_t r = rows[i] < 0 ? rows[i] + 10 : rows[i];
    for (int64_t c = 0; c < 64; ++c)
      EXPECT_FLOAT_EQ(y.data<float>()[i * 64 + c], static_cast<float>(p.w[static_cast<size_t>(c * 10 + r)]));
  }
  idx.mutableData<int64_t>()[0] = 10;
  EXPECT_THROW(kernel_test::runKernel("gather_block_quantized", {p.codes, idx, p.scales}, 1, a), Error);
}

} // namespace
