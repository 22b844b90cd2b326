// quant_matmul with x_granularity = "row": every row of x quantized with its
// own DynamicQuantizeLinear parameters, against a naive per-row QDQ reference
// in double, across thread counts, with bias and relu, and the attribute check.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> runPerRow(const std::vector<Tensor> &inputs, unsigned threads,
                              const std::string &activation = "none") {
  AttrMap attrs;
  attrs.set("x_granularity", std::string("row"));
  attrs.set("activation", activation);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  findKernel("quant_matmul")(ctx, inputs, outputs);
  return outputs;
}

/// Per-row DynamicQuantizeLinear + integer product, evaluated naively.
std::vector<double> reference(const Tensor &x, const Tensor &w, const Tensor &scale,
                              const Tensor &bias, bool relu) {
  int64_t K = x.shape().back(), rows = x.numel() / K, N = w.dim(1);
  std::vector<double> out(static_cast<size_t>(rows * N));
  for (int64_t m = 0; m < rows; ++m) {
    float lo = 0, hi = 0;
    for (int64_t k = 0; k < K; ++k) {
      lo = std::min(lo, x.data<float>()[m * K + k]);
      hi = std::max(hi, x.data<float>()[m * K + k]);
    }
    float s = hi > lo ? (hi - lo) / 255.0f : 1.0f / 255.0f;
    float zp = std::nearbyint(std::clamp(-lo / s, 0.0f, 255.0f));
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        float q = std::clamp(std::nearbyint(x.data<float>()[m * K + k] / s) + zp, 0.0f, 255.0f);
        acc += (q - zp) * static_cast<double>(w.data<int8_t>()[k * N + n]);
      }
      double v = acc * s * scale.data<float>()[n] + (bias.isAbsent() ? 0.0 : bias.data<float>()[n]);
      out[static_cast<size_t>(m * N + n)] = relu && v < 0 ? 0 : v;
    }
  }
  return out;
}

} // namespace

TEST(QuantMatMulPerRow, MatchesPerRowQdqReference) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::uniform_int_distribution<int> wi(-127, 127);
  const int64_t K = 37, N = 45;
  Tensor x(DType::F32, {2, 5, K}), w(DType::I8, {K, N}), scale(DType::F32, {N}), bias(DType::F32, {N});
  for (int64_t i = 0; i < x.numel(); ++i) // rows of very different magnitude
    x.mutableData<float>()[i] = d(rng) * static_cast<float>(1 + (i / K) % 4 * 10);
  for (int64_t i = 0; i < w.numel(); ++i)
    w.mutableData<int8_t>()[i] = static_cast<int8_t>(wi(rng));
  for (int64_t n = 0; n < N; ++n) {
    scale.mutableData<float>()[n] = 0.001f * static_cast<float>(1 + n % 7);
    bias.mutableData<float>()[n] = d(rng);
  }
  for (bool relu : {false, true}) {
    std::vector<double> ref = reference(x, w, scale, bias, relu);
    Tensor one = runPerRow({x, w, scale, bias}, 1, relu ? "relu" : "none")[0];
    Tensor two = runPerRow({x, w, scale, bias}, 2, relu ? "relu" : "none")[0];
    ASSERT_EQ(one.shape(), (Shape{2, 5, N}));
    for (int64_t i = 0; i < one.numel(); ++i) {
      EXPECT_EQ(one.data<float>()[i], two.data<float>()[i]) << i; // thread-count independent
      EXPECT_NEAR(one.data<float>()[i], ref[static_cast<size_t>(i)], 1e-4 * (1 + std::fabs(ref[i]))) << i;
    }
  }
}

TEST(QuantMatMulPerRow, RejectsUnknownGranularity) {
  AttrMap attrs;
  attrs.set("x_granularity", std::string("column"));
  ThreadPool pool(1);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  Tensor x(DType::F32, {1, 4}), w(DType::I8, {4, 2}), s(DType::F32, {2});
  EXPECT_THROW(findKernel("quant_matmul")(ctx, {x, w, s}, outputs), Error);
}
