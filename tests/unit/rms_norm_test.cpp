// rms_norm against the decomposed ONNX chain evaluated naively in double.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {
Tensor runRms(const std::vector<Tensor> &inputs, float eps, unsigned threads) {
  AttrMap attrs;
  attrs.set("epsilon", eps);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> out;
  findKernel("rms_norm")(ctx, inputs, out);
  return out.at(0);
}
} // namespace

TEST(RmsNorm, MatchesTheDecomposedChain) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 2.0f);
  for (int64_t dim : {1, 7, 8, 64, 129}) {
    Tensor x(DType::F32, {3, 5, dim}), g(DType::F32, {dim});
    for (int64_t i = 0; i < x.numel(); ++i)
      x.mutableData<float>()[i] = d(rng);
    for (int64_t i = 0; i < dim; ++i)
      g.mutableData<float>()[i] = d(rng);
    Tensor y1 = runRms({x, g}, 1e-5f, 1), y2 = runRms({x, g}, 1e-5f, 2), plain = runRms({x}, 1e-5f, 2);
    for (int64_t r = 0; r < 15; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i)
        ss += static_cast<double>(x.data<float>()[r * dim + i]) * x.data<float>()[r * dim + i];
      double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        int64_t k = r * dim + i;
        double want = x.data<float>()[k] * inv;
        EXPECT_NEAR(plain.data<float>()[k], want, 1e-5 * (1 + std::fabs(want))) << dim;
        EXPECT_NEAR(y1.data<float>()[k], want * g.data<float>()[i], 1e-5 * (1 + std::fabs(want * g.data<float>()[i])));
        EXPECT_EQ(y1.data<float>()[k], y2.data<float>()[k]); // thread-count independent
      }
    }
  }
}

TEST(RmsNorm, RejectsAScaleOfTheWrongSize) {
  Tensor x(DType::F32, {2, 4}), g(DType::F32, {3});
  EXPECT_THROW(runRms({x, g}, 1e-5f, 1), Error);
}
