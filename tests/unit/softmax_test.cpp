// Tests of the softmax, log_softmax and hardmax kernels against naive loops, in
// both the per-axis (opset >= 13) and the legacy flatten-to-2-D (opset < 13) form.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

Tensor randomTensor(Shape shape, uint32_t seed) {
  Tensor t(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor runKernel(const std::string &name, const Tensor &x, const AttrMap &attrs) {
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  ThreadPool pool(3);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, {x}, outputs);
  return outputs.at(0);
}

/// Naive normalization over [outer, R, inner] in double.
std::vector<double> naive(const std::string &op, const float *x, int64_t outer, int64_t R,
                          int64_t inner) {
  std::vector<double> y(outer * R * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t r) { return (o * R + r) * inner + j; };
      double m = -INFINITY;
      int64_t arg = 0;
      for (int64_t r = 0; r < R; ++r)
        if (x[at(r)] > m) {
          m = x[at(r)];
          arg = r;
        }
      double sum = 0;
      for (int64_t r = 0; r < R; ++r)
        sum += std::exp(x[at(r)] - m);
      for (int64_t r = 0; r < R; ++r) {
        if (op == "softmax")
          y[at(r)] = std::exp(x[at(r)] - m) / sum;
        else if (op == "log_softmax")
          y[at(r)] = x[at(r)] - m - std::log(sum);
        else
          y[at(r)] = r == arg ? 1 : 0;
      }
    }
  return y;
}

} // namespace

TEST(SoftmaxKernels, PerAxisAndLegacyFormsMatchNaiveLoops) {
  const Shape shape{3, 4, 150};
  Tensor x = randomTensor(shape, 5);
  for (const char *op : {"softmax", "log_softmax", "hardmax"})
    for (bool legacy : {false, true})
      for (int64_t axis = -3; axis < 3; ++axis) {
        int64_t a = axis < 0 ? axis + 3 : axis;
        int64_t outer = 1, R = 1, inner = 1;
        for (int64_t d = 0; d < 3; ++d) {
          if (d < a)
            outer *= shape[d];
          else if (d == a || legacy)
            R *= shape[d];
          else
            inner *= shape[d];
        }
        AttrMap attrs;
        attrs.set("axis", axis);
        if (legacy)
          attrs.set("legacy_flatten", int64_t{1});
        Tensor y = runKernel(op, x, attrs);
        ASSERT_EQ(y.shape(), shape);
        std::vector<double> expected = naive(op, x.data<float>(), outer, R, inner);
        for (int64_t i = 0; i < y.numel(); ++i)
          ASSERT_NEAR(y.data<float>()[i], expected[i], 1e-5 * (1 + std::abs(expected[i])))
              << op << " axis " << axis << " legacy " << legacy << " at " << i;
      }
}

TEST(SoftmaxKernels, DefaultAxisDependsOnForm) {
  Tensor x = randomTensor({2, 3, 4}, 1);
  // Opset >= 13: last axis, so every run of 4 sums to one.
  Tensor y = runKernel("softmax", x, AttrMap());
  for (int64_t r = 0; r < 6; ++r) {
    double s = 0;
    for (int64_t j = 0; j < 4; ++j)
      s += y.data<float>()[r * 4 + j];
    EXPECT_NEAR(s, 1.0, 1e-6);
  }
  // Legacy: axis 1, flattened, so each batch's 12 values sum to one.
  AttrMap legacy;
  legacy.set("legacy_flatten", int64_t{1});
  Tensor z = runKernel("softmax", x, legacy);
  double s = 0;
  for (int64_t j = 0; j < 12; ++j)
    s += z.data<float>()[j];
  EXPECT_NEAR(s, 1.0, 1e-6);
}

TEST(SoftmaxKernels, LargeInputsStayFinite) {
  Tensor x(DType::F32, {4});
  float values[] = {10000, 10001, 10002, 10003};
  std::copy(values, values + 4, x.mutableData<float>());
  Tensor y = runKernel("log_softmax", x, AttrMap());
  EXPECT_NEAR(y.data<float>()[0], -3.4401896, 1e-5);
  Tensor p = runKernel("softmax", x, AttrMap());
  EXPECT_NEAR(p.data<float>()[3], 0.6439142, 1e-6);
}

TEST(SoftmaxKernels, HardmaxTakesFirstOfTies) {
  Tensor x(DType::F32, {1, 4});
  float values[] = {1, 3, 3, 0};
  std::copy(values, values + 4, x.mutableData<float>());
  Tensor y = runKernel("hardmax", x, AttrMap());
  EXPECT_EQ(y.data<float>()[1], 1.0f);
  EXPECT_EQ(y.data<float>()[2], 0.0f);
}

TEST(SoftmaxKernels, RejectsBadAxisAndType) {
  AttrMap attrs;
  attrs.set("axis", int64_t{3});
  EXPECT_THROW(runKernel("softmax", randomTensor({2, 3}, 1), attrs), Error);
  Tensor ints(DType::I32, {2});
  EXPECT_THROW(runKernel("softmax", ints, AttrMap()), Error);
}
