// Tests of the shape and data-movement kernels (shape, size, reshape, squeeze,
// unsqueeze, flatten, transpose, concat, split, slice, expand, tile, trilu,
// constant_of_shape, range, eye_like, non_zero, reverse_sequence) against naive
// index loops and ONNX's spec examples, plus thread-count independence and errors.
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <gtest/gtest.h>

#include <limits>
#include <numeric>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> run(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
                        size_t numOutputs = 1, unsigned threads = 2) {
  KernelFn fn = findKernel(name);
  if (!fn)
    throw std::runtime_error(std::string("no kernel ") + name);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor run1(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
            unsigned threads = 2) {
  return run(name, attrs, inputs, 1, threads).at(0);
}

template <typename T> Tensor make(Shape shape, std::vector<T> values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.mutableData<T>());
  return t;
}

Tensor ints(std::vector<int64_t> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return make<int64_t>({n}, std::move(v));
}

/// float tensor holding 0, 1, 2, ... so every element is distinguishable.
Tensor iota(Shape shape) {
  Tensor t(DType::F32, std::move(shape));
  std::iota(t.mutableData<float>(), t.mutableData<float>() + t.numel(), 0.0f);
  return t;
}

template <typename T> std::vector<T> values(const Tensor &t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

/// Linear index of `idx` in row-major `shape`.
int64_t linearIndex(const Shape &shape, const std::vector<int64_t> &idx) {
  int64_t off = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    off = off * shape[i] + idx[i];
  return off;
}

/// Multi-index of linear `i` in row-major `shape`.
std::vector<int64_t> multiIndex(const Shape &shape, int64_t i) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

TEST(ShapeOps, ShapeWithStartEndAndSize) {
  Tensor x(DType::F32, {2, 3, 4, 5});
  EXPECT_EQ(values<int64_t>(run1("shape", {}, {x})), (std::vector<int64_t>{2, 3, 4, 5}));
  AttrMap a;
  a.set("start", int64_t{-3});
  a.set("end", int64_t{-1});
  EXPECT_EQ(values<int64_t>(run1("shape", a, {x})), (std::vector<int64_t>{3, 4}));
  AttrMap clamp;
  clamp.set("start", int64_t{-10});
  clamp.set("end", int64_t{10});
  EXPECT_EQ(run1("shape", clamp, {x}).numel(), 4);
  Tensor size = run1("size", {}, {x});
  EXPECT_EQ(size.rank(), 0);
  EXPECT_EQ(size.data<int64_t>()[0], 120);
}

TEST(ShapeOps, ReshapeCopiesZeroInfersMinusOneAndAliases) {
  Tensor x = iota({2, 3, 4});
  Tensor y = run1("reshape", {}, {x, ints({0, -1})});
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.rawData(), x.rawData());
  AttrMap allowZero;
  allowZero.set("allowzero", int64_t{1});
  Tensor empty(DType::F32, {0, 3});
  EXPECT_EQ(run1("reshape", allowZero, {empty, ints({3, 0})}).shape(), (Shape{3, 0}));
  EXPECT_THROW(run1("reshape", {}, {x, ints({5, -1})}), Error);
  EXPECT_THROW(run1("reshape", {}, {x, ints({-1, -1})}), Error);
  EXPECT_THROW(run1("reshape", {}, {x, ints({2, 3, 4, 0})}), Error);
  EXPECT_THROW(run1("reshape", {}, {x, ints({-2, 12})}), Error);
}

TEST(ShapeOps, SqueezeUnsqueezeFlatten) {
  Tensor x(DType::F32, {1, 3, 1, 5});
  EXPECT_EQ(run1("squeeze", {}, {x}).shape(), (Shape{3, 5}));
  EXPECT_EQ(run1("squeeze", {}, {x, ints({-2})}).shape(), (Shape{1, 3, 5}));
  AttrMap axesAttr; // opset < 13 form
  axesAttr.set("axes", std::vector<int64_t>{0});
  EXPECT_EQ(run1("squeeze", axesAttr, {x}).shape(), (Shape{3, 1, 5}));
  EXPECT_THROW(run1("squeeze", {}, {x, ints({1})}), Error);

  Tensor y(DType::F32, {3, 4, 5});
  EXPECT_EQ(run1("unsqueeze", {}, {y, ints({2, 0})}).shape(), (Shape{1, 3, 1, 4, 5}));
  EXPECT_EQ(run1("unsqueeze", {}, {y, ints({-1})}).shape(), (Shape{3, 4, 5, 1}));
  EXPECT_EQ(run1("unsqueeze", axesAttr, {y}).shape(), (Shape{1, 3, 4, 5}));
  EXPECT_THROW(run1("unsqueeze", {}, {y, ints({1, 1})}), Error);
  EXPECT_THROW(run1("unsqueeze", {}, {y, ints({5})}), Error);
  EXPECT_THROW(run1("unsqueeze", {}, {y}), Error);

  AttrMap axis;
  axis.set("axis", int64_t{-1});
  EXPECT_EQ(run1("flatten", axis, {y}).shape(), (Shape{12, 5}));
  axis.set("axis", int64_t{0});
  EXPECT_EQ(run1("flatten", axis, {y}).shape(), (Shape{1, 60}));
  axis.set("axis", int64_t{3});
  EXPECT_EQ(run1("flatten", axis, {y}).shape(), (Shape{60, 1}));
  axis.set("axis", int64_t{4});
  EXPECT_THROW(run1("flatten", axis, {y}), Error);
}

/// Naive transpose: out[i] = in[perm-mapped index].
Tensor naiveTranspose(const Tensor &x, const std::vector<int64_t> &perm) {
  Shape outShape;
  for (int64_t p : perm)
    outShape.push_back(x.dim(p));
  Tensor out(DType::F32, outShape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    std::vector<int64_t> o = multiIndex(outShape, i), in(o.size());
    for (size_t d = 0; d < perm.size(); ++d)
      in[static_cast<size_t>(perm[d])] = o[d];
    out.mutableData<float>()[i] = x.data<float>()[linearIndex(x.shape(), in)];
  }
  return out;
}

TEST(ShapeOps, TransposeMatchesNaiveForRandomPermutations) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    size_t rank = 1 + rng() % 5;
    Shape shape;
    for (size_t i = 0; i < rank; ++i)
      shape.push_back(1 + static_cast<int64_t>(rng() % 7));
    if (trial % 10 == 0)
      shape = rank >= 2 ? Shape{67, 45} : Shape{300};
    if (trial % 10 == 1)
      shape = {3, 50, 41}, rank = 3;
    std::vector<int64_t> perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    Tensor x = iota(shape);
    AttrMap a;
    a.set("perm", perm);
    EXPECT_EQ(values<float>(run1("transpose", a, {x})), values<float>(naiveTranspose(x, perm)))
        << shapeToString(shape) << " perm " << shapeToString(perm);
  }
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(values<float>(run1("transpose", {}, {x})),
            values<float>(naiveTranspose(x, {2, 1, 0})));
}

TEST(ShapeOps, TransposeLargeIsThreadCountIndependentForAllElementSizes) {
  Tensor x = iota({8, 64, 96});
  AttrMap a;
  a.set("perm", std::vector<int64_t>{0, 2, 1});
  Tensor one = run1("transpose", a, {x}, 1), four = run1("transpose", a, {x}, 4);
  EXPECT_EQ(values<float>(one), values<float>(four));
  EXPECT_EQ(values<float>(one), values<float>(naiveTranspose(x, {0, 2, 1})));
  Tensor bytes(DType::U8, {33, 70});
  for (int64_t i = 0; i < bytes.numel(); ++i)
    bytes.mutableData<uint8_t>()[i] = static_cast<uint8_t>(i * 7);
  a.set("perm", std::vector<int64_t>{1, 0});
  Tensor t = run1("transpose", a, {bytes});
  for (int64_t i = 0; i < 33; ++i)
    for (int64_t j = 0; j < 70; ++j)
      ASSERT_EQ(t.data<uint8_t>()[j * 33 + i], bytes.data<uint8_t>()[i * 70 + j]);
  // An attention K cache [1, 8, 128, 16] to K^T: full 16 x 16 tiles through the
  // register transpose; int32 bit patterns that are NaNs as floats (signalling and
  // quiet payloads) must arrive unchanged.
  Tensor cache(DType::I32, {1, 8, 128, 16});
  for (int64_t i = 0; i < cache.numel(); ++i)
    cache.mutableData<int32_t>()[i] =
        static_cast<int32_t>(i % 3 == 0 ? 0x7F800001u + uint32_t(i) : uint32_t(i * 2654435761u));
  a.set("perm", std::vector<int64_t>{0, 1, 3, 2});
  Tensor kT = run1("transpose", a, {cache}, 2);
  ASSERT_EQ(kT.shape(), (Shape{1, 8, 16, 128}));
  for (int64_t h = 0; h < 8; ++h)
    for (int64_t j = 0; j < 128; ++j)
      for (int64_t d = 0; d < 16; ++d)
        ASSERT_EQ(kT.data<int32_t>()[(h * 16 + d) * 128 + j],
                  cache.data<int32_t>()[(h * 128 + j) * 16 + d]);
  a.set("perm", std::vector<int64_t>{1, 1});
  EXPECT_THROW(run1("transpose", a, {bytes}), Error);
  a.set("perm", std::vector<int64_t>{1});
  EXPECT_THROW(run1("transpose", a, {bytes}), Error);
}

TEST(ShapeOps, ConcatAndSplitRoundTrip) {
  Tensor a = iota({2, 3, 4}), b = iota({2, 1, 4}), c(DType::F32, {2, 0, 4});
  AttrMap axis;
  axis.set("axis", int64_t{-2});
  Tensor cat = run1("concat", axis, {a, b, c});
  ASSERT_EQ(cat.shape(), (Shape{2, 4, 4}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t k = 0; k < 4; ++k) {
        float expect = j < 3 ? a.data<float>()[(i * 3 + j) * 4 + k]
                             : b.data<float>()[i * 4 + k];
        ASSERT_EQ(cat.data<float>()[(i * 4 + j) * 4 + k], expect);
      }
  Tensor wrong(DType::F32, {3, 1, 4});
  EXPECT_THROW(run1("concat", axis, {a, wrong}), Error);
  EXPECT_THROW(run1("concat", axis, {a, Tensor(DType::I32, {2, 1, 4})}), Error);

  // Split back with the 'split' input (opset 13+) and attribute (< 13).
  std::vector<Tensor> parts = run("split", axis, {cat, ints({3, 1})}, 2);
  EXPECT_EQ(values<float>(parts[0]), values<float>(a));
  EXPECT_EQ(values<float>(parts[1]), values<float>(b));
  AttrMap attrForm = axis;
  attrForm.set("split", std::vector<int64_t>{3, 1});
  EXPECT_EQ(values<float>(run("split", attrForm, {cat}, 2)[0]), values<float>(a));
  EXPECT_THROW(run("split", axis, {cat, ints({2, 1})}, 2), Error);
  EXPECT_THROW(run("split", axis, {cat}, 3), Error); // 4 does not split in 3
}

TEST(ShapeOps, SplitEqualAndNumOutputs) {
  Tensor x = make<float>({7}, {1, 2, 3, 4, 5, 6, 7});
  AttrMap n;
  n.set("num_outputs", int64_t{3}); // ONNX example: [1,2,3] [4,5,6] [7]
  std::vector<Tensor> parts = run("split", n, {x}, 3);
  EXPECT_EQ(values<float>(parts[0]), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values<float>(parts[2]), (std::vector<float>{7}));
  EXPECT_THROW(run("split", n, {x}, 2), Error);
  Tensor y = iota({2, 6});
  AttrMap axis;
  axis.set("axis", int64_t{1});
  parts = run("split", axis, {y}, 3);
  EXPECT_EQ(values<float>(parts[1]), (std::vector<float>{2, 3, 8, 9}));
}

/// Naive slice on one axis with Python semantics (ONNX's reference uses them).
std::vector<float> naiveSlice1D(const std::vector<float> &v, int64_t start, int64_t end,
                                int64_t step) {
  int64_t n = static_cast<int64_t>(v.size());
  auto fix = [&](int64_t i) {
    if (i < 0)
      i += n;
    return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
  };
  int64_t s = fix(start), e = fix(end);
  std::vector<float> out;
  if (step > 0)
    for (int64_t i = s; i < e; i += step)
      out.push_back(v[static_cast<size_t>(i)]);
  else
    for (int64_t i = std::max<int64_t>(s, -1); i > e && i >= 0; i += step)
      out.push_back(v[static_cast<size_t>(i)]);
  return out;
}

TEST(ShapeOps, SliceMatchesPythonSemantics) {
  std::vector<float> v(10);
  std::iota(v.begin(), v.end(), 0.0f);
  Tensor x = make<float>({10}, v);
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  int64_t cases[][3] = {{0, 10, 1},  {2, -2, 3},   {-1, small, -1}, {9, 0, -2},
                        {-100, 100, 1}, {5, 5, 1}, {0, big, 4},    {big, small, -3},
                        {3, 1, 1},   {-3, -8, -1}, {0, 10, big},   {9, -11, small}};
  for (auto &c : cases) {
    Tensor y = run1("slice", {}, {x, ints({c[0]}), ints({c[1]}), ints({0}), ints({c[2]})});
    EXPECT_EQ(values<float>(y), naiveSlice1D(v, c[0], c[1], c[2]))
        << c[0] << ":" << c[1] << ":" << c[2];
  }
  EXPECT_THROW(run1("slice", {}, {x, ints({0}), ints({1}), ints({0}), ints({0})}), Error);
  EXPECT_THROW(run1("slice", {}, {x, ints({0}), ints({1}), ints({1})}), Error);
}

TEST(ShapeOps, SliceMultiAxisAgainstNaive) {
  Tensor x = iota({4, 5, 6});
  // x[1:3, -1::-2, -4:] with the axes given out of order.
  Tensor y = run1("slice", {}, {x, ints({-4, 1, -1}), ints({100, 3, std::numeric_limits<int64_t>::min()}),
                                ints({2, 0, 1}), ints({1, 1, -2})});
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  std::vector<float> expect;
  for (int64_t i = 1; i < 3; ++i)
    for (int64_t j = 4; j >= 0; j -= 2)
      for (int64_t k = 2; k < 6; ++k)
        expect.push_back(x.data<float>()[(i * 5 + j) * 6 + k]);
  EXPECT_EQ(values<float>(y), expect);
  EXPECT_THROW(run1("slice", {}, {x, ints({0, 0}), ints({1, 1}), ints({1, -2})}), Error);
}

TEST(ShapeOps, ExpandAndTileAgainstNaive) {
  Tensor x = iota({3, 1});
  Tensor y = run1("expand", {}, {x, ints({2, 1, 6})}); // ONNX example: shape [2, 3, 6]
  ASSERT_EQ(y.shape(), (Shape{2, 3, 6}));
  for (int64_t i = 0; i < y.numel(); ++i)
    ASSERT_EQ(y.data<float>()[i], static_cast<float>((i / 6) % 3));
  EXPECT_EQ(run1("expand", {}, {x, ints({1})}).shape(), (Shape{3, 1}));
  EXPECT_THROW(run1("expand", {}, {x, ints({2, 2})}), Error);

  Tensor t = iota({2, 3});
  Tensor tiled = run1("tile", {}, {t, ints({2, 3})});
  ASSERT_EQ(tiled.shape(), (Shape{4, 9}));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 9; ++j)
      ASSERT_EQ(tiled.data<float>()[i * 9 + j], t.data<float>()[(i % 2) * 3 + j % 3]);
  EXPECT_EQ(run1("tile", {}, {t, ints({0, 1})}).shape(), (Shape{0, 3}));
  EXPECT_THROW(run1("tile", {}, {t, ints({2})}), Error);
  EXPECT_THROW(run1("tile", {}, {t, ints({-1, 1})}), Error);
  // Large broadcast: the parallel path gives the same bits as one thread.
  Tensor row = iota({1, 513});
  EXPECT_EQ(values<float>(run1("expand", {}, {row, ints({300, 513})}, 1)),
            values<float>(run1("expand", {}, {row, ints({300, 513})}, 4)));
}

TEST(ShapeOps, TriluAgainstNaive) {
  Tensor x = iota({2, 4, 5});
  for (int upper = 0; upper <= 1; ++upper)
    for (int64_t k : {-5, -1, 0, 2, 7}) {
      AttrMap a;
      a.set("upper", int64_t{upper});
      Tensor y = run1("trilu", a, {x, make<int64_t>({}, {k})});
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t r = (i / 5) % 4, c = i % 5;
        bool keep = upper ? c - r >= k : c - r <= k;
        ASSERT_EQ(y.data<float>()[i], keep ? x.data<float>()[i] : 0.0f)
            << "upper " << upper << " k " << k;
      }
    }
  EXPECT_THROW(run1("trilu", {}, {iota({4})}), Error);
}

TEST(ShapeOps, GeneratorsFollowSpec) {
  AttrMap value;
  value.set("value", make<int32_t>({1}, {7}));
  Tensor c = run1("constant_of_shape", value, {ints({2, 3})});
  EXPECT_EQ(c.dtype(), DType::I32);
  EXPECT_EQ(values<int32_t>(c), std::vector<int32_t>(6, 7));
  Tensor zeros = run1("constant_of_shape", {}, {ints({})});
  EXPECT_EQ(zeros.dtype(), DType::F32);
  EXPECT_EQ(zeros.rank(), 0);
  EXPECT_THROW(run1("constant_of_shape", {}, {ints({-1})}), Error);

  // ONNX examples: Range(3, 9, 3) = [3, 6]; Range(10, 4, -3) = [10, 7].
  auto scalar = [](auto v) { return make<decltype(v)>({}, {v}); };
  EXPECT_EQ(values<float>(run1("range", {}, {scalar(3.f), scalar(9.f), scalar(3.f)})),
            (std::vector<float>{3, 6}));
  EXPECT_EQ(values<int32_t>(run1("range", {}, {scalar(10), scalar(4), scalar(-3)})),
            (std::vector<int32_t>{10, 7}));
  EXPECT_EQ(run1("range", {}, {scalar(int64_t{5}), scalar(int64_t{1}), scalar(int64_t{1})})
                .numel(),
            0);
  EXPECT_THROW(run1("range", {}, {scalar(1.f), scalar(2.f), scalar(0.f)}), Error);

  AttrMap eye;
  eye.set("k", int64_t{1});
  eye.set("dtype", int64_t{7});
  Tensor e = run1("eye_like", eye, {Tensor(DType::F32, {3, 4})});
  EXPECT_EQ(e.dtype(), DType::I64);
  EXPECT_EQ(values<int64_t>(e), (std::vector<int64_t>{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_THROW(run1("eye_like", {}, {Tensor(DType::F32, {3})}), Error);
}

TEST(ShapeOps, NonZeroAndReverseSequence) {
  // ONNX example: [[1, 0], [1, 1]] -> [[0, 1, 1], [0, 0, 1]].
  Tensor nz = run1("non_zero", {}, {make<bool>({2, 2}, {true, false, true, true})});
  EXPECT_EQ(nz.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(nz), (std::vector<int64_t>{0, 1, 1, 0, 0, 1}));
  EXPECT_EQ(run1("non_zero", {}, {make<float>({3}, {0, 0, 0})}).shape(), (Shape{1, 0}));

  // ONNX example (time_axis 0, batch_axis 1), lens [4, 3, 2, 1].
  Tensor x = make<float>({4, 4}, {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15});
  Tensor y = run1("reverse_sequence", {}, {x, ints({4, 3, 2, 1})});
  EXPECT_EQ(values<float>(y), (std::vector<float>{3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0,
                                                  7, 11, 15}));
  AttrMap batchFirst;
  batchFirst.set("batch_axis", int64_t{0});
  batchFirst.set("time_axis", int64_t{1});
  Tensor z = run1("reverse_sequence", batchFirst, {x, ints({1, 2, 3, 4})});
  EXPECT_EQ(values<float>(z), (std::vector<float>{0, 4, 8, 12, 5, 1, 9, 13, 10, 6, 2, 14, 15,
                                                  11, 7, 3}));
  EXPECT_THROW(run1("reverse_sequence", {}, {x, ints({5, 1, 1, 1})}), Error);
  EXPECT_THROW(run1("reverse_sequence", {}, {x, ints({1, 1})}), Error);
}

TEST(ShapeOps, HalfPrecisionIsRejected) {
  Tensor h(DType::F16, {2, 2});
  EXPECT_THROW(run1("transpose", {}, {h}), Error);
  EXPECT_THROW(run1("slice", {}, {h, ints({0}), ints({1})}), Error);
}

} // namespace
