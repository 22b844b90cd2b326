// Tests of the top_k and cum_sum kernels: naive references, ONNX's spec
// examples, tie order, and error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

using namespace ds::rt;

namespace {

template <typename T> Tensor makeTensor(DType dtype, Shape shape, std::vector<T> values) {
  Tensor t(dtype, shape);
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  std::copy(values.begin(), values.end(), t.mutableData<T>());
  return t;
}

Tensor scalarInt64(int64_t v) { return makeTensor<int64_t>(DType::I64, {1}, {v}); }

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

template <typename T> std::vector<T> valuesOf(const Tensor &t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

} // namespace

TEST(TopK, SpecExampleLargestAndSmallest) {
  Tensor x = makeTensor<float>(DType::F32, {3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  std::vector<Tensor> out = runKernel("top_k", {x, scalarInt64(3)}, AttrMap(), 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(valuesOf<float>(out[0]), (std::vector<float>{3, 2, 1, 7, 6, 5, 11, 10, 9}));
  EXPECT_EQ(valuesOf<int64_t>(out[1]), (std::vector<int64_t>{3, 2, 1, 3, 2, 1, 3, 2, 1}));
  AttrMap smallest;
  smallest.set("largest", int64_t{0});
  smallest.set("axis", int64_t{0});
  out = runKernel("top_k", {x, scalarInt64(2)}, smallest, 2);
  EXPECT_EQ(out[0].shape(), (Shape{2, 4}));
  EXPECT_EQ(valuesOf<float>(out[0]), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(valuesOf<int64_t>(out[1]), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1}));
}

TEST(TopK, TiesKeepLowerIndexFirstAndMatchStableSort) {
  std::mt19937 rng(3);
  std::vector<int32_t> data(5 * 30);
  for (auto &v : data)
    v = static_cast<int32_t>(rng() % 6);
  Tensor x = makeTensor<int32_t>(DType::I32, {5, 30}, data);
  for (int64_t largest : {0, 1}) {
    AttrMap attrs;
    attrs.set("largest", largest);
    std::vector<Tensor> out = runKernel("top_k", {x, scalarInt64(11)}, attrs, 2);
    for (int64_t row = 0; row < 5; ++row) {
      std::vector<int64_t> order(30);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return largest ? data[row * 30 + a] > data[row * 30 + b]
                       : data[row * 30 + a] < data[row * 30 + b];
      });
      for (int64_t r = 0; r < 11; ++r) {
        ASSERT_EQ(out[1].data<int64_t>()[row * 11 + r], order[r]);
        ASSERT_EQ(out[0].data<int32_t>()[row * 11 + r], data[row * 30 + order[r]]);
      }
    }
  }
}

TEST(TopK, RejectsBadK) {
  Tensor x = makeTensor<float>(DType::F32, {4}, {1, 2, 3, 4});
  EXPECT_THROW(runKernel("top_k", {x, scalarInt64(5)}, AttrMap(), 2), Error);
  EXPECT_THROW(runKernel("top_k", {x, scalarInt64(-1)}, AttrMap(), 2), Error);
  EXPECT_THROW(runKernel("top_k", {x, makeTensor<int64_t>(DType::I64, {2}, {1, 2})}, AttrMap(), 2),
               Error);
  std::vector<Tensor> none = runKernel("top_k", {x, scalarInt64(0)}, AttrMap(), 2);
  EXPECT_EQ(none[0].shape(), (Shape{0}));
}

TEST(CumSum, SpecExamplesAllModes) {
  Tensor x = makeTensor<double>(DType::F64, {5}, {1, 2, 3, 4, 5});
  struct Case {
    int64_t exclusive, reverse;
    std::vector<double> expected;
  };
  const Case cases[] = {{0, 0, {1, 3, 6, 10, 15}},
                        {1, 0, {0, 1, 3, 6, 10}},
                        {0, 1, {15, 14, 12, 9, 5}},
                        {1, 1, {14, 12, 9, 5, 0}}};
  for (const Case &c : cases) {
    AttrMap attrs;
    attrs.set("exclusive", c.exclusive);
    attrs.set("reverse", c.reverse);
    EXPECT_EQ(valuesOf<double>(runKernel("cum_sum", {x, scalarInt64(0)}, attrs)[0]), c.expected);
  }
}

TEST(CumSum, AlongEveryAxisMatchesNaiveLoop) {
  std::mt19937 rng(4);
  std::vector<float> data(3 * 4 * 300);
  for (auto &v : data)
    v = static_cast<float>(rng() % 100) / 8.0f; // exact in float, so sums are exact
  Tensor x = makeTensor<float>(DType::F32, {3, 4, 300}, data);
  const int64_t dims[3] = {3, 4, 300}, strides[3] = {1200, 300, 1};
  for (int64_t axis : {0, 1, 2, -1})
    for (int64_t reverse : {0, 1}) {
      int64_t a = axis < 0 ? 2 : axis;
      AttrMap attrs;
      attrs.set("reverse", reverse);
      Tensor y = runKernel("cum_sum", {x, makeTensor<int32_t>(DType::I32, {}, {int32_t(axis)})},
                           attrs)[0];
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t pos = (i / strides[a]) % dims[a];
        double expected = 0;
        for (int64_t r = 0; r < dims[a]; ++r)
          if (reverse ? r >= pos : r <= pos)
            expected += data[i + (r - pos) * strides[a]];
        ASSERT_EQ(y.data<float>()[i], static_cast<float>(expected)) << axis << " " << i;
      }
    }
}

TEST(CumSum, IntegersAndErrors) {
  Tensor x = makeTensor<int64_t>(DType::I64, {2, 2}, {1, -2, 3, 4});
  EXPECT_EQ(valuesOf<int64_t>(runKernel("cum_sum", {x, scalarInt64(1)}, AttrMap())[0]),
            (std::vector<int64_t>{1, -1, 3, 7}));
  EXPECT_THROW(runKernel("cum_sum", {x, scalarInt64(2)}, AttrMap()), Error);
  EXPECT_THROW(runKernel("cum_sum", {x, makeTensor<float>(DType::F32, {1}, {0})}, AttrMap()),
               Error);
  Tensor flags(DType::Bool, {2});
  EXPECT_THROW(runKernel("cum_sum", {flags, scalarInt64(0)}, AttrMap()), Error);
}
