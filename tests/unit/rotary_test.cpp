// rotary against the Slice/Neg/Concat/Mul/Mul/Add chain it replaces, in the
// same float operations: the bits must be equal.
#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace ds::rt;

namespace {
Tensor runRotary(const std::vector<Tensor> &inputs, unsigned threads) {
  return kernel_test::runKernel("rotary", inputs, threads);
}

Tensor randomTensor(Shape shape, std::mt19937 &rng) {
  return kernel_test::randomTensor(std::move(shape), rng, 1.0f);
}

/// x [B, H, L, D]; cos/sin of `tableShape`, broadcast to x.
void checkAgainstChain(int64_t B, int64_t H, int64_t L, int64_t D, const Shape &tableShape) {
  std::mt19937 rng(static_cast<unsigned>(B + H * 3 + L * 5 + D * 7));
  Tensor x = randomTensor({B, H, L, D}, rng), c = randomTensor(tableShape, rng),
         s = randomTensor(tableShape, rng);
  Tensor y1 = runRotary({x, c, s}, 1), y2 = runRotary({x, c, s}, 2);
  EXPECT_EQ(std::memcmp(y1.rawData(), y2.rawData(), y1.byteSize()), 0);
  const Shape xShape = x.shape();
  auto tableAt = [&](const Tensor &t, int64_t b, int64_t h, int64_t l, int64_t j) {
    int64_t idx[4] = {b, h, l, j};
    int64_t off = 0, r = t.rank();
    for (int64_t k = 0; k < r; ++k) {
      int64_t dim = t.dim(k), i = idx[4 - r + k];
      off = off * dim + (dim == 1 ? 0 : i);
    }
    return t.data<float>()[off];
  };
  const int64_t h2 = D / 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t l = 0; l < L; ++l) {
        const float *row = x.data<float>() + ((b * H + h) * L + l) * D;
        for (int64_t j = 0; j < D; ++j) {
          volatile float xc = row[j] * tableAt(c, b, h, l, j); // Mul(x, cos)
          float rot = j < h2 ? -row[j + h2] : row[j - h2];      // Concat(Neg(Slice), Slice)
          volatile float rs = rot * tableAt(s, b, h, l, j);     // Mul(., sin)
          float want = xc + rs;                                 // Add
          float got = y1.data<float>()[((b * H + h) * L + l) * D + j];
          ASSERT_EQ(std::memcmp(&got, &want, sizeof(float)), 0) << b << h << l << j;
        }
      }
}
} // namespace

TEST(Rotary, BitIdenticalToTheChain) {
  checkAgainstChain(1, 8, 128, 16, {128, 16});     // the sample LM's q
  checkAgainstChain(2, 3, 5, 6, {1, 1, 5, 6});     // leading 1s
  checkAgainstChain(2, 3, 5, 6, {3, 1, 6});        // broadcast along L (strided path)
  checkAgainstChain(2, 3, 700, 64, {700, 64});     // large enough to use threads
}

TEST(Rotary, RejectsOddSizesAndWideTables) {
  Tensor x(DType::F32, {2, 5}), c5(DType::F32, {2, 5}), c4(DType::F32, {2, 4}),
      wide(DType::F32, {3, 2, 4}), x4(DType::F32, {2, 4});
  EXPECT_THROW(runRotary({x, c5, c5}, 1), Error);
  EXPECT_THROW(runRotary({x4, wide, wide}, 1), Error);
  EXPECT_NO_THROW(runRotary({x4, c4, c4}, 1));
}
