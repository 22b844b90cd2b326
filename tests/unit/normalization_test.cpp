// Tests of the normalization kernels (layer, instance, group, batch, lp,
// mean-variance) against naive loops, and their error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

Tensor randomTensor(Shape shape, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  Tensor t(DType::F32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = dist(rng);
  return t;
}

std::vector<Tensor> runKernel(const std::string &name, const std::vector<Tensor> &inputs,
                              const AttrMap &attrs, size_t numOutputs = 1) {
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  ThreadPool pool(3);
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

/// Mean and 1/sqrt(var + eps) of x[offset + i * stride], i < n, in double.
std::pair<double, double> stats(const float *x, std::vector<int64_t> offsets, double eps) {
  double mean = 0, var = 0;
  for (int64_t o : offsets)
    mean += x[o];
  mean /= offsets.size();
  for (int64_t o : offsets)
    var += (x[o] - mean) * (x[o] - mean);
  var /= offsets.size();
  return {mean, 1.0 / std::sqrt(var + eps)};
}

void expectNear(const Tensor &t, const std::vector<double> &expected, const std::string &what) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i)
    ASSERT_NEAR(t.getAsDouble(i), expected[i], 1e-5 * (1 + std::abs(expected[i])))
        << what << " at " << i;
}

std::vector<int64_t> range(int64_t begin, int64_t count, int64_t stride = 1) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i)
    v.push_back(begin + i * stride);
  return v;
}

} // namespace

TEST(LayerNormalization, EveryAxisWithStatsOutputs) {
  const Shape shape{2, 3, 40};
  Tensor x = randomTensor(shape, 1);
  for (int64_t axis : {-1, 1, 0, -2}) {
    int64_t a = axis < 0 ? axis + 3 : axis;
    Shape normShape(shape.begin() + a, shape.end());
    int64_t n = 1;
    for (int64_t d : normShape)
      n *= d;
    int64_t rows = x.numel() / n;
    Tensor scale = randomTensor(normShape, 2), bias = randomTensor(normShape, 3);
    AttrMap attrs;
    attrs.set("axis", axis);
    attrs.set("epsilon", 1e-3f);
    std::vector<Tensor> out = runKernel("layer_normalization", {x, scale, bias}, attrs, 3);
    ASSERT_EQ(out.size(), 3u);
    std::vector<double> y, means, invs;
    for (int64_t r = 0; r < rows; ++r) {
      auto [mean, inv] = stats(x.data<float>(), range(r * n, n), 1e-3);
      means.push_back(mean);
      invs.push_back(inv);
      for (int64_t j = 0; j < n; ++j)
        y.push_back((x.data<float>()[r * n + j] - mean) * inv * scale.data<float>()[j] +
                    bias.data<float>()[j]);
    }
    expectNear(out[0], y, "Y");
    expectNear(out[1], means, "Mean");
    expectNear(out[2], invs, "InvStdDev");
    Shape statsShape = shape;
    for (int64_t d = a; d < 3; ++d)
      statsShape[d] = 1;
    EXPECT_EQ(out[1].shape(), statsShape);
  }
}

TEST(LayerNormalization, BroadcastScaleAndNoBias) {
  Tensor x = randomTensor({4, 2, 5}, 4), scale = randomTensor({5}, 5);
  AttrMap attrs;
  attrs.set("axis", int64_t{1});
  Tensor y = runKernel("layer_normalization", {x, scale}, attrs)[0];
  std::vector<double> expected;
  for (int64_t r = 0; r < 4; ++r) {
    auto [mean, inv] = stats(x.data<float>(), range(r * 10, 10), 1e-5);
    for (int64_t j = 0; j < 10; ++j)
      expected.push_back((x.data<float>()[r * 10 + j] - mean) * inv * scale.data<float>()[j % 5]);
  }
  expectNear(y, expected, "Y");
  EXPECT_THROW(runKernel("layer_normalization", {x, randomTensor({3}, 1)}, attrs), Error);
}

TEST(InstanceAndGroupNormalization, MatchNaiveLoops) {
  const int64_t N = 2, C = 6, S = 7;
  Tensor x = randomTensor({N, C, S}, 6);
  Tensor scaleC = randomTensor({C}, 7), biasC = randomTensor({C}, 8);
  auto expected = [&](int64_t groups, const Tensor &scale, const Tensor &bias, bool perChannel) {
    std::vector<double> y(N * C * S);
    int64_t perGroup = C / groups;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < groups; ++g) {
        int64_t base = (n * C + g * perGroup) * S;
        auto [mean, inv] = stats(x.data<float>(), range(base, perGroup * S), 1e-5);
        for (int64_t i = 0; i < perGroup * S; ++i) {
          int64_t p = perChannel ? g * perGroup + i / S : g;
          y[base + i] = (x.data<float>()[base + i] - mean) * inv * scale.data<float>()[p] +
                        bias.data<float>()[p];
        }
      }
    return y;
  };
  expectNear(runKernel("instance_normalization", {x, scaleC, biasC}, AttrMap())[0],
             expected(C, scaleC, biasC, true), "instance");
  AttrMap groups;
  groups.set("num_groups", int64_t{3});
  // Opset 21: per channel.
  expectNear(runKernel("group_normalization", {x, scaleC, biasC}, groups)[0],
             expected(3, scaleC, biasC, true), "group per channel");
  // Opset 18: per group.
  Tensor scaleG = randomTensor({3}, 9), biasG = randomTensor({3}, 10);
  expectNear(runKernel("group_normalization", {x, scaleG, biasG}, groups)[0],
             expected(3, scaleG, biasG, false), "group per group");

  AttrMap badGroups;
  badGroups.set("num_groups", int64_t{4});
  EXPECT_THROW(runKernel("group_normalization", {x, scaleC, biasC}, badGroups), Error);
  EXPECT_THROW(runKernel("group_normalization", {x, randomTensor({2}, 1), randomTensor({2}, 1)},
                         groups),
               Error);
  EXPECT_THROW(runKernel("instance_normalization", {x, scaleG, biasG}, AttrMap()), Error);
}

TEST(BatchNormalization, InferenceFormAndTrainingRejected) {
  const int64_t N = 2, C = 3, S = 5;
  Tensor x = randomTensor({N, C, S}, 1), scale = randomTensor({C}, 2),
         bias = randomTensor({C}, 3), mean = randomTensor({C}, 4),
         var = randomTensor({C}, 5, 0.5f, 2.0f);
  AttrMap attrs;
  attrs.set("epsilon", 1e-2f);
  Tensor y = runKernel("batch_normalization", {x, scale, bias, mean, var}, attrs)[0];
  std::vector<double> expected;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s)
        expected.push_back((x.data<float>()[(n * C + c) * S + s] - mean.data<float>()[c]) /
                               std::sqrt(var.data<float>()[c] + 1e-2) * scale.data<float>()[c] +
                           bias.data<float>()[c]);
  expectNear(y, expected, "Y");
  AttrMap training;
  training.set("training_mode", int64_t{1});
  EXPECT_THROW(runKernel("batch_normalization", {x, scale, bias, mean, var}, training), Error);
  EXPECT_THROW(runKernel("batch_normalization", {x, scale, bias, mean, randomTensor({2}, 1)},
                         AttrMap()),
               Error);
}

TEST(LpNormalization, L1AndL2AlongAnyAxis) {
  Tensor x = randomTensor({3, 4, 5}, 11);
  for (int64_t p : {1, 2})
    for (int64_t axis : {-1, 0, 1}) {
      int64_t a = axis < 0 ? 2 : axis;
      int64_t dims[3] = {3, 4, 5};
      int64_t stride = a == 2 ? 1 : a == 1 ? 5 : 20;
      AttrMap attrs;
      attrs.set("p", p);
      attrs.set("axis", axis);
      Tensor y = runKernel("lp_normalization", {x}, attrs)[0];
      std::vector<double> expected(60);
      for (int64_t i = 0; i < 60; ++i) {
        int64_t pos = (i / stride) % dims[a];
        int64_t first = i - pos * stride;
        double norm = 0;
        for (int64_t r = 0; r < dims[a]; ++r) {
          double v = x.data<float>()[first + r * stride];
          norm += p == 1 ? std::abs(v) : v * v;
        }
        expected[i] = x.data<float>()[i] / (p == 1 ? norm : std::sqrt(norm));
      }
      expectNear(y, expected, "lp");
    }
  AttrMap bad;
  bad.set("p", int64_t{3});
  EXPECT_THROW(runKernel("lp_normalization", {x}, bad), Error);
}

TEST(MeanVarianceNormalization, DefaultAndCustomAxes) {
  Tensor x = randomTensor({2, 3, 2, 2}, 12);
  // Default axes {0, 2, 3}: one run per channel across batch and space.
  Tensor y = runKernel("mean_variance_normalization", {x}, AttrMap())[0];
  std::vector<double> expected(24);
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int64_t> offsets;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t s = 0; s < 4; ++s)
        offsets.push_back((n * 3 + c) * 4 + s);
    auto [mean, inv] = stats(x.data<float>(), offsets, 0.0);
    for (int64_t o : offsets)
      expected[o] = (x.data<float>()[o] - mean) / (1.0 / inv + 1e-9);
  }
  expectNear(y, expected, "mvn");
  AttrMap last;
  last.set("axes", std::vector<int64_t>{-1});
  Tensor z = runKernel("mean_variance_normalization", {x}, last)[0];
  auto [mean, inv] = stats(x.data<float>(), range(0, 2), 0.0);
  EXPECT_NEAR(z.data<float>()[0], (x.data<float>()[0] - mean) / (1.0 / inv + 1e-9), 1e-5);
}
