// swiglu against the Sigmoid, Mul, Mul kernels it replaces: the bits must be equal.
#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace ds::rt;

namespace {
Tensor run(const char *op, const std::vector<Tensor> &inputs, unsigned threads) {
  return kernel_test::runKernel(op, inputs, threads);
}
} // namespace

TEST(SwiGlu, BitIdenticalToSigmoidMulMul) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 4.0f);
  for (int64_t n : {1, 17, 128 * 344, 300000}) {
    Tensor g(DType::F32, {n}), u(DType::F32, {n});
    for (int64_t i = 0; i < n; ++i) {
      g.mutableData<float>()[i] = d(rng);
      u.mutableData<float>()[i] = d(rng);
    }
    if (n > 4) { // edges: huge, tiny, NaN
      g.mutableData<float>()[0] = 100.0f;
      g.mutableData<float>()[1] = -100.0f;
      g.mutableData<float>()[2] = NAN;
    }
    Tensor want = run("mul", {run("mul", {g, run("sigmoid", {g}, 2)}, 2), u}, 2);
    Tensor y1 = run("swiglu", {g, u}, 1), y2 = run("swiglu", {g, u}, 2);
    EXPECT_EQ(std::memcmp(y1.rawData(), want.rawData(), want.byteSize()), 0) << n;
    EXPECT_EQ(std::memcmp(y2.rawData(), want.rawData(), want.byteSize()), 0) << n;
  }
}

TEST(SwiGlu, RejectsMismatchedShapes) {
  Tensor g(DType::F32, {2, 3}), u(DType::F32, {3});
  EXPECT_THROW(run("swiglu", {g, u}, 1), Error);
}
