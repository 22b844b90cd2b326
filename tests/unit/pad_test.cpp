// Tests of the pad kernel: ONNX spec examples for every mode, random shapes
// against a naive per-element loop (including negative pads and axes), and
// error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <random>

using namespace ds::rt;

namespace {

Tensor runPad(const AttrMap &attrs, const std::vector<Tensor> &inputs) {
  static ThreadPool pool(3);
  KernelFn fn = findKernel("pad");
  EXPECT_NE(fn, nullptr);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs.at(0);
}

Tensor int64Tensor(const std::vector<int64_t> &values) {
  Tensor t(DType::I64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.mutableData<int64_t>());
  return t;
}

Tensor floatTensor(Shape shape, const std::vector<float> &values) {
  Tensor t(DType::F32, shape);
  std::copy(values.begin(), values.end(), t.mutableData<float>());
  return t;
}

AttrMap withMode(const char *mode) {
  AttrMap attrs;
  attrs.set("mode", std::string(mode));
  return attrs;
}

void expectValues(const Tensor &t, Shape shape, const std::vector<float> &values) {
  ASSERT_EQ(t.shape(), shape);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_FLOAT_EQ(t.data<float>()[i], values[i]) << "at " << i;
}

const std::vector<float> kSpecData = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f};

TEST(PadKernel, SpecExamples) {
  Tensor x = floatTensor({3, 2}, kSpecData);
  Tensor pads = int64Tensor({0, 2, 0, 0});
  expectValues(runPad(withMode("constant"), {x, pads}), {3, 4},
               {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f});
  expectValues(runPad(withMode("reflect"), {x, pads}), {3, 4},
               {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f});
  expectValues(runPad(withMode("edge"), {x, pads}), {3, 4},
               {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f});
  expectValues(runPad(withMode("wrap"), {x, int64Tensor({2, 1, 1, 1})}), {6, 4},
               {3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f, 1.2f, 1.0f, 1.2f, 1.0f,
                3.4f, 2.3f, 3.4f, 2.3f, 5.7f, 4.5f, 5.7f, 4.5f, 1.2f, 1.0f, 1.2f, 1.0f});
  // constant_value input.
  Tensor value = floatTensor({}, {9.5f});
  expectValues(runPad(AttrMap{}, {x, int64Tensor({1, 0, 0, 0}), value}), {4, 2},
               {9.5f, 9.5f, 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
}

/// Independent per-element reference: reflection by repeated bouncing.
int64_t naiveSource(int64_t i, int64_t n, const std::string &mode) {
  if (i >= 0 && i < n)
    return i;
  if (mode == "constant")
    return -1;
  if (mode == "edge")
    return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "wrap") {
    while (i < 0)
      i += n;
    while (i >= n)
      i -= n;
    return i;
  }
  if (n == 1)
    return 0;
  while (i < 0 || i >= n) {
    if (i < 0)
      i = -i;
    if (i >= n)
      i = 2 * (n - 1) - i;
  }
  return i;
}

TEST(PadKernel, MatchesNaiveLoopOnRandomCases) {
  std::mt19937 rng(3);
  const char *modes[] = {"constant", "reflect", "edge", "wrap"};
  for (int trial = 0; trial < 80; ++trial) {
    std::string mode = modes[trial % 4];
    int64_t rank = 1 + rng() % 4;
    Shape shape;
    for (int64_t d = 0; d < rank; ++d)
      shape.push_back(1 + rng() % 5);
    bool useAxes = trial % 3 == 0;
    std::vector<int64_t> axes;
    for (int64_t d = 0; d < rank; ++d)
      if (!useAxes || rng() % 2)
        axes.push_back(d);
    std::vector<int64_t> pads(2 * axes.size());
    for (size_t i = 0; i < pads.size(); ++i) {
      int64_t n = shape[axes[i % axes.size()]];
      // Negative pads crop (at most half the axis so both sides stay valid).
      pads[i] = static_cast<int64_t>(rng() % 7) - std::min<int64_t>(n / 2, 2);
    }
    Tensor x(DType::F32, shape);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.mutableData<float>()[i] = static_cast<float>(i + 1);
    std::vector<Tensor> inputs{x, int64Tensor(pads), floatTensor({}, {-7.f})};
    if (useAxes) {
      std::vector<int64_t> negative;
      for (int64_t a : axes)
        negative.push_back(a - rank); // negative axes are allowed
      inputs.push_back(int64Tensor(negative));
    }
    Tensor y = runPad(withMode(mode.c_str()), inputs);

    std::vector<int64_t> begin(rank, 0), end(rank, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
      begin[axes[i]] = pads[i];
      end[axes[i]] = pads[axes.size() + i];
    }
    Shape outShape = shape;
    for (int64_t d = 0; d < rank; ++d)
      outShape[d] += begin[d] + end[d];
    SCOPED_TRACE(testing::Message() << "trial " << trial << " mode " << mode);
    ASSERT_EQ(y.shape(), outShape);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t flat = 0; flat < y.numel(); ++flat) {
      int64_t rem = flat, src = 0, stride = 1;
      bool constant = false;
      for (int64_t d = rank - 1; d >= 0; --d) {
        int64_t o = rem % outShape[d];
        rem /= outShape[d];
        int64_t s = naiveSource(o - begin[d], shape[d], mode);
        if (s < 0)
          constant = true;
        src += s * stride;
        stride *= shape[d];
      }
      float expected = constant ? -7.f : x.data<float>()[src];
      ASSERT_EQ(y.data<float>()[flat], expected) << "at " << flat;
    }
  }
}

TEST(PadKernel, IntegerAndBoolTypes) {
  Tensor x(DType::I64, {2});
  x.mutableData<int64_t>()[0] = 5;
  x.mutableData<int64_t>()[1] = 6;
  Tensor v(DType::I64, {});
  v.mutableData<int64_t>()[0] = -1;
  Tensor y = runPad(AttrMap{}, {x, int64Tensor({1, 2}), v});
  ASSERT_EQ(y.shape(), (Shape{5}));
  const int64_t expected[5] = {-1, 5, 6, -1, -1};
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(y.data<int64_t>()[i], expected[i]);
  Tensor b(DType::Bool, {1, 1});
  b.mutableData<bool>()[0] = true;
  Tensor yb = runPad(withMode("edge"), {b, int64Tensor({0, 1, 0, 1})});
  ASSERT_EQ(yb.shape(), (Shape{1, 3}));
  EXPECT_TRUE(yb.data<bool>()[0] && yb.data<bool>()[1] && yb.data<bool>()[2]);
}

TEST(PadKernel, RejectsBadInputs) {
  Tensor x = floatTensor({3, 2}, kSpecData);
  EXPECT_THROW(runPad(AttrMap{}, {x, int64Tensor({1, 1})}), Error); // too few pads
  EXPECT_THROW(runPad(withMode("symmetric"), {x, int64Tensor({0, 0, 0, 0})}), Error);
  EXPECT_THROW(runPad(AttrMap{}, {x, int64Tensor({-4, 0, 0, 0})}), Error); // crops below 0
  EXPECT_THROW(runPad(AttrMap{}, {x, int64Tensor({0, 0}), Tensor(), int64Tensor({2})}),
               Error); // axis out of range
  EXPECT_THROW(runPad(AttrMap{}, {x, int64Tensor({0, 0, 0, 0}), Tensor(DType::F64, {})}),
               Error); // constant_value dtype
  EXPECT_THROW(runPad(AttrMap{}, {x}), Error);                   // no pads at all
  EXPECT_THROW(runPad(withMode("reflect"), {Tensor(DType::F32, {0, 2}), int64Tensor({1, 0, 0, 0})}),
               Error); // nothing to reflect
}

} // namespace
