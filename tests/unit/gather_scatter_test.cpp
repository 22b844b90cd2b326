// Tests of the indexing kernels (gather, gather_elements, gather_nd, scatter_nd,
// scatter_elements, one_hot, compress) against naive loops and ONNX's spec
// examples, including negative indices, reductions and out-of-range errors.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> run(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
                        unsigned threads = 2) {
  KernelFn fn = findKernel(name);
  if (!fn)
    throw std::runtime_error(std::string("no kernel ") + name);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor run1(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
            unsigned threads = 2) {
  return run(name, attrs, inputs, threads).at(0);
}

template <typename T> Tensor make(Shape shape, std::vector<T> values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.mutableData<T>());
  return t;
}

Tensor iota(Shape shape) {
  Tensor t(DType::F32, std::move(shape));
  std::iota(t.mutableData<float>(), t.mutableData<float>() + t.numel(), 0.0f);
  return t;
}

template <typename T> std::vector<T> values(const Tensor &t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

AttrMap withAxis(int64_t axis) {
  AttrMap a;
  a.set("axis", axis);
  return a;
}

TEST(GatherScatter, GatherAgainstNaive) {
  Tensor x = iota({3, 4, 5});
  Tensor idx = make<int64_t>({2, 2}, {3, -1, 0, 2});
  Tensor y = run1("gather", withAxis(1), {x, idx});
  ASSERT_EQ(y.shape(), (Shape{3, 2, 2, 5}));
  std::vector<int64_t> fixed = {3, 3, 0, 2};
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t c = 0; c < 5; ++c)
        ASSERT_EQ(y.data<float>()[(a * 4 + i) * 5 + c],
                  x.data<float>()[(a * 4 + fixed[static_cast<size_t>(i)]) * 5 + c]);
  // Scalar index drops the axis; int32 indices work; big gathers are thread-independent.
  Tensor s = run1("gather", withAxis(-1), {x, make<int32_t>({}, {4})});
  EXPECT_EQ(s.shape(), (Shape{3, 4}));
  EXPECT_EQ(s.data<float>()[1], 9.0f);
  Tensor big = iota({4000, 16}), many(DType::I64, {5000});
  for (int64_t i = 0; i < 5000; ++i)
    many.mutableData<int64_t>()[i] = (i * 37) % 4000;
  EXPECT_EQ(values<float>(run1("gather", {}, {big, many}, 1)),
            values<float>(run1("gather", {}, {big, many}, 4)));
  EXPECT_THROW(run1("gather", withAxis(1), {x, make<int64_t>({1}, {4})}), Error);
  EXPECT_THROW(run1("gather", withAxis(1), {x, make<int64_t>({1}, {-5})}), Error);
  EXPECT_THROW(run1("gather", withAxis(3), {x, make<int64_t>({1}, {0})}), Error);
  EXPECT_THROW(run1("gather", {}, {x, make<float>({1}, {0})}), Error);
}

TEST(GatherScatter, GatherElementsSpecExamples) {
  // ONNX example 1 (axis 1) and example 2 (axis 0, negative index).
  Tensor d1 = make<float>({2, 2}, {1, 2, 3, 4});
  Tensor y1 = run1("gather_elements", withAxis(1), {d1, make<int64_t>({2, 2}, {0, 0, 1, 0})});
  EXPECT_EQ(values<float>(y1), (std::vector<float>{1, 1, 4, 3}));
  Tensor d2 = iota({3, 3});
  Tensor y2 = run1("gather_elements", {}, {d2, make<int64_t>({2, 3}, {1, 2, 0, 2, 0, -3})});
  EXPECT_EQ(values<float>(y2), (std::vector<float>{3, 7, 2, 6, 1, 2}));
  EXPECT_THROW(run1("gather_elements", {}, {d2, make<int64_t>({1, 1}, {3})}), Error);
  EXPECT_THROW(run1("gather_elements", {}, {d2, make<int64_t>({3}, {0, 0, 0})}), Error);
  EXPECT_THROW(run1("gather_elements", {}, {d2, make<int64_t>({1, 4}, {0, 0, 0, 0})}), Error);
}

TEST(GatherScatter, GatherNDWithBatchDims) {
  // ONNX examples 1, 4 and 5.
  Tensor d = make<int32_t>({2, 2}, {0, 1, 2, 3});
  EXPECT_EQ(values<int32_t>(run1("gather_nd", {}, {d, make<int64_t>({2, 2}, {0, 0, 1, 1})})),
            (std::vector<int32_t>{0, 3}));
  Tensor d3 = make<int32_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  Tensor y4 = run1("gather_nd", {}, {d3, make<int64_t>({2, 1, 2}, {0, 1, 1, 0})});
  EXPECT_EQ(y4.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values<int32_t>(y4), (std::vector<int32_t>{2, 3, 4, 5}));
  AttrMap batch;
  batch.set("batch_dims", int64_t{1});
  Tensor y5 = run1("gather_nd", batch, {d3, make<int64_t>({2, 1}, {1, 0})});
  EXPECT_EQ(y5.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int32_t>(y5), (std::vector<int32_t>{2, 3, 4, 5}));
  EXPECT_THROW(run1("gather_nd", {}, {d, make<int64_t>({1, 2}, {0, 2})}), Error);
  EXPECT_THROW(run1("gather_nd", {}, {d, make<int64_t>({1, 3}, {0, 0, 0})}), Error);
  EXPECT_THROW(run1("gather_nd", batch, {d3, make<int64_t>({3, 1}, {0, 0, 0})}), Error);
}

TEST(GatherScatter, ScatterNDAndReductions) {
  // ONNX example 2 of ScatterND (slices), then 'add' with a repeated index.
  Tensor data(DType::F32, {4, 2});
  Tensor idx = make<int64_t>({2, 1}, {0, 2});
  Tensor upd = make<float>({2, 2}, {5, 6, 7, 8});
  EXPECT_EQ(values<float>(run1("scatter_nd", {}, {data, idx, upd})),
            (std::vector<float>{5, 6, 0, 0, 7, 8, 0, 0}));
  Tensor ones = make<float>({4}, {1, 1, 1, 1});
  Tensor rep = make<int64_t>({3, 1}, {1, -3, 3});
  AttrMap add;
  add.set("reduction", std::string("add"));
  EXPECT_EQ(values<float>(run1("scatter_nd", add, {ones, rep, make<float>({3}, {2, 3, 4})})),
            (std::vector<float>{1, 6, 1, 5}));
  AttrMap mul, mx, mn;
  mul.set("reduction", std::string("mul"));
  mx.set("reduction", std::string("max"));
  mn.set("reduction", std::string("min"));
  Tensor base = make<int64_t>({3}, {2, 5, -1});
  Tensor where = make<int64_t>({2, 1}, {0, 2});
  Tensor by = make<int64_t>({2}, {3, -4});
  EXPECT_EQ(values<int64_t>(run1("scatter_nd", mul, {base, where, by})),
            (std::vector<int64_t>{6, 5, 4}));
  EXPECT_EQ(values<int64_t>(run1("scatter_nd", mx, {base, where, by})),
            (std::vector<int64_t>{3, 5, -1}));
  EXPECT_EQ(values<int64_t>(run1("scatter_nd", mn, {base, where, by})),
            (std::vector<int64_t>{2, 5, -4}));
  EXPECT_THROW(run1("scatter_nd", {}, {ones, make<int64_t>({1, 1}, {4}), make<float>({1}, {0})}),
               Error);
  EXPECT_THROW(run1("scatter_nd", {}, {ones, rep, make<float>({2}, {0, 0})}), Error);
  AttrMap bad;
  bad.set("reduction", std::string("mean"));
  EXPECT_THROW(run1("scatter_nd", bad, {ones, rep, make<float>({3}, {2, 3, 4})}), Error);
}

TEST(GatherScatter, ScatterElementsAgainstNaive) {
  // ONNX example 2: axis 1, data [[1,2,3,4,5]], indices [[1,3]], updates [[1.1,2.1]].
  Tensor data = make<float>({1, 5}, {1, 2, 3, 4, 5});
  Tensor y = run1("scatter_elements", withAxis(1),
                  {data, make<int64_t>({1, 2}, {1, -2}), make<float>({1, 2}, {1.1f, 2.1f})});
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1.1f, 3, 2.1f, 5}));
  std::mt19937 rng(3);
  Tensor d = iota({4, 6});
  Tensor idx(DType::I64, {3, 6}), upd(DType::F32, {3, 6});
  for (int64_t i = 0; i < 18; ++i) {
    idx.mutableData<int64_t>()[i] = static_cast<int64_t>(rng() % 4);
    upd.mutableData<float>()[i] = static_cast<float>(rng() % 10);
  }
  AttrMap add = withAxis(0);
  add.set("reduction", std::string("add"));
  Tensor got = run1("scatter_elements", add, {d, idx, upd});
  std::vector<float> expect = values<float>(d);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 6; ++j)
      expect[static_cast<size_t>(idx.data<int64_t>()[i * 6 + j] * 6 + j)] +=
          upd.data<float>()[i * 6 + j];
  EXPECT_EQ(values<float>(got), expect);
  EXPECT_THROW(run1("scatter_elements", withAxis(1),
                    {data, make<int64_t>({1, 1}, {5}), make<float>({1, 1}, {0})}),
               Error);
  EXPECT_THROW(run1("scatter_elements", withAxis(1),
                    {data, make<int64_t>({1, 1}, {0}), make<float>({1, 2}, {0, 0})}),
               Error);
}

TEST(GatherScatter, OneHotFollowsSpec) {
  // Negative indices wrap; out-of-range ones give an all-off row.
  Tensor idx = make<int64_t>({4}, {0, -1, 2, 7});
  Tensor depth = make<float>({}, {3.0f});
  Tensor vals = make<int32_t>({2}, {-1, 5});
  Tensor y = run1("one_hot", {}, {idx, depth, vals});
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{5, -1, -1, -1, -1, 5, -1, -1, 5, -1, -1, -1}));
  Tensor yAxis0 = run1("one_hot", withAxis(0), {idx, depth, vals});
  EXPECT_EQ(yAxis0.shape(), (Shape{3, 4}));
  EXPECT_EQ(values<int32_t>(yAxis0), (std::vector<int32_t>{5, -1, -1, -1, -1, -1, -1, -1, -1, 5, 5, -1}));
  EXPECT_THROW(run1("one_hot", withAxis(2), {idx, depth, vals}), Error);
  EXPECT_THROW(run1("one_hot", {}, {idx, make<float>({}, {0.0f}), vals}), Error);
  EXPECT_THROW(run1("one_hot", {}, {idx, depth, make<int32_t>({3}, {0, 1, 2})}), Error);
}

TEST(GatherScatter, CompressFollowsSpec) {
  Tensor x = make<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor cond = make<bool>({3}, {false, true, true});
  EXPECT_EQ(values<float>(run1("compress", withAxis(0), {x, cond})),
            (std::vector<float>{3, 4, 5, 6}));
  Tensor shortCond = make<bool>({2}, {false, true});
  EXPECT_EQ(values<float>(run1("compress", withAxis(1), {x, shortCond})),
            (std::vector<float>{2, 4, 6}));
  Tensor flat = make<bool>({5}, {false, true, false, false, true});
  EXPECT_EQ(values<float>(run1("compress", {}, {x, flat})), (std::vector<float>{2, 5}));
  EXPECT_THROW(run1("compress", withAxis(1), {x, cond}), Error);
  EXPECT_THROW(run1("compress", withAxis(0), {x, make<int64_t>({3}, {0, 1, 1})}), Error);
}

} // namespace
