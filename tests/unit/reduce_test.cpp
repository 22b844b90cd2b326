// Tests of the reduce_* and arg_max/arg_min kernels against naive loops over
// every axis subset of small tensors (which covers the inner, outer, middle and
// generic code paths), plus ONNX's edge cases and error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
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

Tensor int64Tensor(const std::vector<int64_t> &values) {
  Tensor t(DType::I64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.mutableData<int64_t>());
  return t;
}

std::vector<Tensor> runKernel(const std::string &name, const std::vector<Tensor> &inputs,
                              const AttrMap &attrs) {
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  ThreadPool pool(3);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

/// Naive reduction of a float tensor: returns the expected values in output order.
std::vector<double> naiveReduce(const std::string &op, const Tensor &x,
                                const std::vector<bool> &reduced) {
  const Shape &shape = x.shape();
  std::vector<int64_t> outDims;
  for (size_t d = 0; d < shape.size(); ++d)
    outDims.push_back(reduced[d] ? 1 : shape[d]);
  int64_t outCount = 1;
  for (int64_t d : outDims)
    outCount *= d;
  std::vector<std::vector<double>> groups(outCount);
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      o = o * outDims[d] + (reduced[d] ? 0 : index[d]);
    groups[o].push_back(x.data<float>()[i]);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  std::vector<double> out;
  for (auto &g : groups) {
    double sum = 0, prod = 1, l1 = 0, sq = 0, mx = -INFINITY, mn = INFINITY, se = 0;
    for (double v : g) {
      sum += v;
      prod *= v;
      l1 += std::abs(v);
      sq += v * v;
      mx = std::max(mx, v);
      mn = std::min(mn, v);
    }
    for (double v : g)
      se += std::exp(v - mx);
    if (op == "reduce_sum") out.push_back(sum);
    else if (op == "reduce_mean") out.push_back(sum / g.size());
    else if (op == "reduce_max") out.push_back(mx);
    else if (op == "reduce_min") out.push_back(mn);
    else if (op == "reduce_prod") out.push_back(prod);
    else if (op == "reduce_l1") out.push_back(l1);
    else if (op == "reduce_l2") out.push_back(std::sqrt(sq));
    else if (op == "reduce_sum_square") out.push_back(sq);
    else if (op == "reduce_log_sum") out.push_back(std::log(sum));
    else if (op == "reduce_log_sum_exp") out.push_back(mx + std::log(se));
  }
  return out;
}

const char *const kReduceOps[] = {"reduce_sum", "reduce_mean", "reduce_max",
                                  "reduce_min", "reduce_prod", "reduce_l1",
                                  "reduce_l2", "reduce_sum_square", "reduce_log_sum",
                                  "reduce_log_sum_exp"};

} // namespace

TEST(ReduceKernels, EveryAxisSubsetMatchesNaiveLoops) {
  for (Shape shape : {Shape{3, 4, 5}, Shape{2, 1, 3, 70}, Shape{37}}) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    for (const char *op : kReduceOps) {
      // Positive data keeps log_sum defined.
      bool positive = std::string(op) == "reduce_log_sum";
      Tensor x = randomTensor(shape, 7, positive ? 0.1f : -2.0f, 2.0f);
      for (int64_t mask = 0; mask < (int64_t(1) << rank); ++mask) {
        std::vector<int64_t> axes;
        std::vector<bool> reduced(rank);
        for (int64_t d = 0; d < rank; ++d)
          if (mask & (int64_t(1) << d)) {
            axes.push_back(d - (d % 2 ? rank : 0)); // mix negative axes in
            reduced[d] = true;
          }
        if (axes.empty())
          reduced.assign(rank, true); // empty axes reduce everything
        std::vector<double> expected = naiveReduce(op, x, reduced);
        for (int keepDims : {0, 1}) {
          for (bool asInput : {false, true}) {
            AttrMap attrs;
            attrs.set("keepdims", int64_t{keepDims});
            std::vector<Tensor> inputs{x};
            if (asInput)
              inputs.push_back(int64Tensor(axes));
            else if (!axes.empty())
              attrs.set("axes", axes);
            Tensor y = runKernel(op, inputs, attrs)[0];
            Shape expectedShape;
            for (int64_t d = 0; d < rank; ++d)
              if (!reduced[d])
                expectedShape.push_back(shape[d]);
              else if (keepDims)
                expectedShape.push_back(1);
            ASSERT_EQ(y.shape(), expectedShape) << op << " mask " << mask;
            for (int64_t i = 0; i < y.numel(); ++i)
              ASSERT_NEAR(y.data<float>()[i], expected[i], 1e-5 * (1 + std::abs(expected[i])))
                  << op << " shape " << shapeToString(shape) << " mask " << mask << " at " << i;
          }
        }
      }
    }
  }
}

TEST(ReduceKernels, NoopWithEmptyAxesAndEmptyReductions) {
  Tensor x = randomTensor({2, 3}, 1);
  AttrMap noop;
  noop.set("noop_with_empty_axes", int64_t{1});
  Tensor same = runKernel("reduce_sum", {x, int64Tensor({})}, noop)[0];
  ASSERT_EQ(same.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_EQ(same.data<float>()[i], x.data<float>()[i]);
  Tensor squared = runKernel("reduce_sum_square", {x}, noop)[0];
  EXPECT_FLOAT_EQ(squared.data<float>()[4], x.data<float>()[4] * x.data<float>()[4]);

  // Reducing an empty axis gives the identity of each op.
  Tensor empty(DType::F32, {2, 0, 3});
  AttrMap attrs;
  attrs.set("axes", std::vector<int64_t>{1});
  attrs.set("keepdims", int64_t{0});
  auto first = [&](const char *op) { return runKernel(op, {empty}, attrs)[0].data<float>()[0]; };
  EXPECT_EQ(runKernel("reduce_sum", {empty}, attrs)[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(first("reduce_sum"), 0.0f);
  EXPECT_EQ(first("reduce_prod"), 1.0f);
  EXPECT_EQ(first("reduce_max"), -INFINITY);
  EXPECT_EQ(first("reduce_min"), INFINITY);
  EXPECT_EQ(first("reduce_log_sum"), -INFINITY);
  EXPECT_EQ(first("reduce_log_sum_exp"), -INFINITY);
  EXPECT_TRUE(std::isnan(first("reduce_mean")));
}

TEST(ReduceKernels, IntegerTypesAndNaN) {
  Tensor x(DType::I32, {2, 3});
  int32_t values[] = {1, -2, 3, 4, 5, -6};
  std::copy(values, values + 6, x.mutableData<int32_t>());
  AttrMap attrs;
  attrs.set("axes", std::vector<int64_t>{1});
  Tensor sum = runKernel("reduce_sum", {x}, attrs)[0];
  EXPECT_EQ(sum.dtype(), DType::I32);
  EXPECT_EQ(sum.data<int32_t>()[0], 2);
  EXPECT_EQ(sum.data<int32_t>()[1], 3);
  EXPECT_EQ(runKernel("reduce_max", {x}, attrs)[0].data<int32_t>()[1], 5);
  EXPECT_EQ(runKernel("reduce_l1", {x}, attrs)[0].data<int32_t>()[1], 15);

  Tensor withNan = randomTensor({4}, 3);
  withNan.mutableData<float>()[2] = NAN;
  EXPECT_TRUE(std::isnan(runKernel("reduce_max", {withNan}, AttrMap())[0].data<float>()[0]));
  EXPECT_TRUE(std::isnan(runKernel("reduce_min", {withNan}, AttrMap())[0].data<float>()[0]));
}

TEST(ReduceKernels, LogSumExpDoesNotOverflow) {
  Tensor x(DType::F32, {3});
  float values[] = {1000.0f, 1000.0f, 990.0f};
  std::copy(values, values + 3, x.mutableData<float>());
  float got = runKernel("reduce_log_sum_exp", {x}, AttrMap())[0].data<float>()[0];
  EXPECT_NEAR(got, 1000.0 + std::log(2.0 + std::exp(-10.0)), 1e-3);
}

TEST(ReduceKernels, RejectsBadAxes) {
  Tensor x = randomTensor({2, 3}, 1);
  AttrMap dup;
  dup.set("axes", std::vector<int64_t>{1, -1});
  EXPECT_THROW(runKernel("reduce_sum", {x}, dup), Error);
  AttrMap range;
  range.set("axes", std::vector<int64_t>{2});
  EXPECT_THROW(runKernel("reduce_mean", {x}, range), Error);
  Tensor floatAxes(DType::F32, {1});
  EXPECT_THROW(runKernel("reduce_sum", {x, floatAxes}, AttrMap()), Error);
  Tensor flags(DType::Bool, {1});
  EXPECT_THROW(runKernel("reduce_sum", {flags}, AttrMap()), Error);
}

TEST(ArgMinMaxKernels, MatchNaiveLoopsWithTiesAndSelectLast) {
  // Few distinct values so ties are common.
  Tensor x(DType::F32, {3, 5, 4});
  std::mt19937 rng(9);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.mutableData<float>()[i] = float(rng() % 3);
  const Shape &s = x.shape();
  for (bool isMax : {true, false})
    for (int64_t axis = -3; axis < 3; ++axis)
      for (int64_t selectLast : {0, 1})
        for (int64_t keepDims : {0, 1}) {
          AttrMap attrs;
          attrs.set("axis", axis);
          attrs.set("select_last_index", selectLast);
          attrs.set("keepdims", keepDims);
          Tensor y = runKernel(isMax ? "arg_max" : "arg_min", {x}, attrs)[0];
          int64_t a = axis < 0 ? axis + 3 : axis;
          Shape expectedShape = s;
          if (keepDims)
            expectedShape[a] = 1;
          else
            expectedShape.erase(expectedShape.begin() + a);
          ASSERT_EQ(y.shape(), expectedShape);
          int64_t outer = 1, inner = 1;
          for (int64_t d = 0; d < 3; ++d) {
            if (d < a) outer *= s[d];
            if (d > a) inner *= s[d];
          }
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < inner; ++j) {
              int64_t best = 0;
              for (int64_t r = 1; r < s[a]; ++r) {
                float v = x.data<float>()[(o * s[a] + r) * inner + j];
                float b = x.data<float>()[(o * s[a] + best) * inner + j];
                bool better = isMax ? v > b : v < b;
                if (better || (selectLast && v == b))
                  best = r;
              }
              ASSERT_EQ(y.data<int64_t>()[o * inner + j], best);
            }
        }
}

TEST(ArgMinMaxKernels, RejectsBadInput) {
  AttrMap attrs;
  attrs.set("axis", int64_t{2});
  EXPECT_THROW(runKernel("arg_max", {randomTensor({2, 3}, 1)}, attrs), Error);
  Tensor empty(DType::F32, {2, 0});
  AttrMap last;
  last.set("axis", int64_t{1});
  EXPECT_THROW(runKernel("arg_min", {empty}, last), Error);
}
