// Tests of the pooling kernels (max_pool with Indices, average_pool, lp_pool,
// global pools) against a naive per-window loop over random shapes, strides,
// pads, dilations, ceil_mode and auto_pad; ONNX spec examples; the lrn kernel;
// and error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

using namespace ds::rt;

namespace {

std::vector<Tensor> runPool(const char *name, const AttrMap &attrs, const Tensor &x,
                            size_t numOutputs = 1, unsigned threads = 3) {
  ThreadPool pool(threads);
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, {x}, outputs);
  return outputs;
}

Tensor iotaTensor(Shape shape) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = static_cast<float>(i + 1);
  return t;
}

struct PoolCase {
  std::vector<int64_t> in, kernel, strides, dilations, pads;
  bool ceil = false;
  std::string autoPad = "NOTSET";
};

/// Output size and leading pad of one dim, computed independently of ConvCommon.
void poolDim(const PoolCase &pc, size_t i, int64_t &out, int64_t &padBegin) {
  size_t r = pc.in.size();
  int64_t ext = (pc.kernel[i] - 1) * pc.dilations[i] + 1, s = pc.strides[i];
  if (pc.autoPad == "NOTSET") {
    padBegin = pc.pads[i];
    double exact = static_cast<double>(pc.in[i] + pc.pads[i] + pc.pads[r + i] - ext) / s + 1;
    out = static_cast<int64_t>(pc.ceil ? std::ceil(exact) : std::floor(exact));
    if (pc.ceil && (out - 1) * s >= pc.in[i] + pc.pads[i])
      --out;
  } else if (pc.autoPad == "VALID") {
    padBegin = 0;
    out = (pc.in[i] - ext) / s + 1;
  } else {
    out = (pc.in[i] + s - 1) / s;
    int64_t total = std::max<int64_t>(0, (out - 1) * s + ext - pc.in[i]);
    padBegin = pc.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
  }
}

struct NaivePool {
  std::vector<float> maxValues, avgExclude, avgInclude, lp3;
  std::vector<int64_t> argmax; // row-major flat index within the plane
  Shape outSpatial;
};

/// Naive pooling of one [C, in...] batch (spatial rank 1..3, padded to 3 here).
NaivePool naivePool(const PoolCase &pc, const float *x, int64_t planes) {
  size_t r = pc.in.size();
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, k[3] = {1, 1, 1},
          s[3] = {1, 1, 1}, d[3] = {1, 1, 1};
  NaivePool res;
  for (size_t i = 0; i < r; ++i) {
    size_t j = 3 - r + i;
    in[j] = pc.in[i];
    k[j] = pc.kernel[i];
    s[j] = pc.strides[i];
    d[j] = pc.dilations[i];
    poolDim(pc, i, out[j], pb[j]);
    res.outSpatial.push_back(out[j]);
  }
  const int64_t inP = in[0] * in[1] * in[2];
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2) {
          float best = 0, sum = 0;
          double lp = 0;
          int64_t count = 0, arg = -1;
          for (int64_t k0 = 0; k0 < k[0]; ++k0)
            for (int64_t k1 = 0; k1 < k[1]; ++k1)
              for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                int64_t p0 = o0 * s[0] - pb[0] + k0 * d[0], p1 = o1 * s[1] - pb[1] + k1 * d[1],
                        p2 = o2 * s[2] - pb[2] + k2 * d[2];
                if (p0 < 0 || p0 >= in[0] || p1 < 0 || p1 >= in[1] || p2 < 0 || p2 >= in[2])
                  continue;
                int64_t flat = (p0 * in[1] + p1) * in[2] + p2;
                float v = x[p * inP + flat];
                if (arg < 0 || v > best) {
                  best = v;
                  arg = flat;
                }
                sum += v;
                lp += std::pow(std::abs(static_cast<double>(v)), 3.0);
                ++count;
              }
          res.maxValues.push_back(best);
          res.argmax.push_back(arg < 0 ? -1 : p * inP + arg);
          res.avgExclude.push_back(count ? sum / count : 0.f);
          res.avgInclude.push_back(sum / (k[0] * k[1] * k[2]));
          res.lp3.push_back(static_cast<float>(std::pow(lp, 1.0 / 3)));
        }
  return res;
}

AttrMap poolAttrs(const PoolCase &pc) {
  AttrMap attrs;
  attrs.set("kernel_shape", pc.kernel);
  attrs.set("strides", pc.strides);
  attrs.set("dilations", pc.dilations);
  attrs.set("ceil_mode", int64_t{pc.ceil});
  if (pc.autoPad == "NOTSET")
    attrs.set("pads", pc.pads);
  else
    attrs.set("auto_pad", pc.autoPad);
  return attrs;
}

void expectNear(const Tensor &t, const std::vector<float> &ref, const char *what) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), ref.size()) << what;
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(t.data<float>()[i], ref[i], 1e-4 * (1 + std::abs(ref[i]))) << what << " at " << i;
}

TEST(PoolKernel, MatchesNaiveLoopOnRandomCases) {
  std::mt19937 rng(11);
  const char *autoPads[] = {"NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int trial = 0; trial < 80; ++trial) {
    PoolCase pc;
    size_t r = 1 + trial % 3;
    pc.autoPad = autoPads[rng() % 6];
    pc.ceil = pc.autoPad == "NOTSET" && rng() % 2;
    for (size_t i = 0; i < r; ++i) {
      pc.kernel.push_back(1 + rng() % 3);
      pc.strides.push_back(1 + rng() % 3);
      pc.dilations.push_back(1 + rng() % 2);
      pc.in.push_back((pc.kernel[i] - 1) * pc.dilations[i] + 1 + rng() % 5);
    }
    for (size_t i = 0; i < 2 * r; ++i)
      pc.pads.push_back(std::min<int64_t>(rng() % 3, pc.kernel[i % r] - 1));
    const int64_t n = 2, c = 3;
    Shape shape{n, c};
    shape.insert(shape.end(), pc.in.begin(), pc.in.end());
    Tensor x(DType::F32, shape);
    std::uniform_real_distribution<float> dist(-2, 2);
    for (int64_t i = 0; i < x.numel(); ++i)
      x.mutableData<float>()[i] = dist(rng);
    NaivePool ref = naivePool(pc, x.data<float>(), n * c);
    Shape outShape{n, c};
    outShape.insert(outShape.end(), ref.outSpatial.begin(), ref.outSpatial.end());
    SCOPED_TRACE(testing::Message() << "trial " << trial << " auto_pad " << pc.autoPad
                                    << " ceil " << pc.ceil);

    AttrMap attrs = poolAttrs(pc);
    std::vector<Tensor> mp = runPool("max_pool", attrs, x, 2);
    ASSERT_EQ(mp[0].shape(), outShape);
    expectNear(mp[0], ref.maxValues, "max");
    for (size_t i = 0; i < ref.argmax.size(); ++i)
      ASSERT_EQ(mp[1].data<int64_t>()[i], ref.argmax[i]) << "indices at " << i;
    // Without Indices, max_pool takes the row-vectorized path: same values,
    // also when NaNs sit in some windows (first tap wins, `>` never takes NaN).
    Tensor withNan = x.clone();
    for (int64_t i = 0; i < withNan.numel(); i += 7)
      withNan.mutableData<float>()[i] = std::nanf("");
    for (const Tensor *input : {&x, &withNan}) {
      Tensor values = runPool("max_pool", attrs, *input, 1, 3)[0];
      Tensor reference = runPool("max_pool", attrs, *input, 2)[0];
      ASSERT_EQ(values.shape(), outShape);
      for (int64_t i = 0; i < values.numel(); ++i) {
        float a = values.data<float>()[i], b = reference.data<float>()[i];
        ASSERT_TRUE((std::isnan(a) && std::isnan(b)) || a == b)
            << "values-only max at " << i << ": " << a << " vs " << b;
      }
    }
    expectNear(runPool("average_pool", attrs, x)[0], ref.avgExclude, "avg");
    AttrMap include = attrs;
    include.set("count_include_pad", int64_t{1});
    expectNear(runPool("average_pool", include, x)[0], ref.avgInclude, "avg include pad");
    AttrMap lp = attrs;
    lp.set("p", int64_t{3});
    expectNear(runPool("lp_pool", lp, x)[0], ref.lp3, "lp");
    // Same bits for 1 thread.
    Tensor one = runPool("average_pool", attrs, x, 1, 1)[0];
    Tensor many = runPool("average_pool", attrs, x, 1, 3)[0];
    for (int64_t i = 0; i < one.numel(); ++i)
      ASSERT_EQ(one.data<float>()[i], many.data<float>()[i]);
  }
}

TEST(PoolKernel, MaxPool2x2Stride2MatchesTheIndicesPath) {
  // The values-only paths (AVX-512 flat 64-float blocks and per-row vectors of
  // 16 windows, tap table, rows) against the generic one (which also computes
  // Indices) on the most common pooling: odd sizes (floor and ceil mode),
  // output rows of 1, 4, 16, 19 and 32 windows (vector tails), flat widths 2 to
  // 32 with a partial last block, NaNs and signed zeros, whose results depend
  // on the fold order.
  std::mt19937 rng(5);
  for (auto [h, w, ceil] : {std::tuple<int64_t, int64_t, bool>{8, 8, false}, {7, 9, false},
                            {6, 33, false}, {5, 5, true}, {2, 2, false}, {40, 64, false},
                            {4, 38, false}, {3, 39, false}, {4, 4, false}, {6, 16, false},
                            {2, 32, false}, {10, 2, false}}) {
    PoolCase pc;
    pc.kernel = {2, 2};
    pc.strides = {2, 2};
    pc.dilations = {1, 1};
    pc.pads = {0, 0, 0, 0};
    pc.in = {h, w};
    pc.ceil = ceil;
    Tensor x(DType::F32, {2, 3, h, w});
    std::uniform_int_distribution<int> pick(0, 9);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int k = pick(rng);
      x.mutableData<float>()[i] = k == 0 ? std::nanf("") : k == 1 ? -0.0f : k == 2 ? 0.0f
                                                                           : float(k % 4) - 1.5f;
    }
    AttrMap attrs = poolAttrs(pc);
    Tensor values = runPool("max_pool", attrs, x, 1, 2)[0];
    Tensor reference = runPool("max_pool", attrs, x, 2)[0];
    ASSERT_EQ(values.shape(), reference.shape());
    for (int64_t i = 0; i < values.numel(); ++i) {
      const float a = values.data<float>()[i], b = reference.data<float>()[i];
      ASSERT_TRUE((std::isnan(a) && std::isnan(b)) ||
                  (a == b && std::signbit(a) == std::signbit(b)))
          << h << "x" << w << " at " << i << ": " << a << " vs " << b;
    }
  }
}

TEST(PoolKernel, LargePlaneMaxPoolTakesTheRowPath) {
  // Planes whose tap table would be large use the row path (small ones the
  // per-call tap table): both must match the Indices path's values.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-2, 2);
  Tensor x(DType::F32, {1, 2, 203, 161});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.mutableData<float>()[i] = dist(rng);
  for (int64_t i = 0; i < x.numel(); i += 97)
    x.mutableData<float>()[i] = std::nanf("");
  struct Config {
    std::vector<int64_t> kernel, strides, pads, dilations;
    int64_t ceil;
  };
  const Config configs[] = {{{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0},
                            {{2, 3}, {1, 2}, {0, 1, 1, 0}, {1, 2}, 1},
                            {{3, 2}, {1, 3}, {2, 0, 0, 1}, {2, 1}, 1}};
  for (const Config &c : configs) {
    AttrMap attrs;
    attrs.set("kernel_shape", c.kernel);
    attrs.set("strides", c.strides);
    attrs.set("pads", c.pads);
    attrs.set("dilations", c.dilations);
    attrs.set("ceil_mode", c.ceil);
    Tensor values = runPool("max_pool", attrs, x, 1, 2)[0];
    Tensor reference = runPool("max_pool", attrs, x, 2)[0];
    ASSERT_EQ(values.shape(), reference.shape());
    for (int64_t i = 0; i < values.numel(); ++i) {
      float a = values.data<float>()[i], b = reference.data<float>()[i];
      ASSERT_TRUE((std::isnan(a) && std::isnan(b)) || a == b) << "at " << i;
    }
  }
}

TEST(PoolKernel, SpecExamples) {
  // ONNX "maxpool_2d_precomputed_pads": 5x5 iota, kernel 5, pads 2.
  AttrMap attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{5, 5});
  attrs.set("pads", std::vector<int64_t>{2, 2, 2, 2});
  Tensor x = iotaTensor({1, 1, 5, 5});
  const float maxExpected[25] = {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25,
                                 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25};
  Tensor y = runPool("max_pool", attrs, x)[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 5, 5}));
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(y.data<float>()[i], maxExpected[i]);
  // "averagepool_2d_precomputed_pads": same, excluding pads.
  const float avgExpected[25] = {7,    7.5,  8,  8.5,  9,  9.5,  10, 10.5, 11,
                                 11.5, 12,   12.5, 13, 13.5, 14, 14.5, 15, 15.5,
                                 16,   16.5, 17,   17.5, 18, 18.5, 19};
  Tensor a = runPool("average_pool", attrs, x)[0];
  for (int i = 0; i < 25; ++i)
    EXPECT_FLOAT_EQ(a.data<float>()[i], avgExpected[i]);
  // "maxpool_with_argmax_2d_precomputed_strides": storage_order 1.
  AttrMap argmax;
  argmax.set("kernel_shape", std::vector<int64_t>{2, 2});
  argmax.set("strides", std::vector<int64_t>{2, 2});
  argmax.set("storage_order", int64_t{1});
  std::vector<Tensor> out = runPool("max_pool", argmax, x, 2);
  const float values[4] = {7, 9, 17, 19};
  const int64_t indices[4] = {6, 16, 8, 18};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[0].data<float>()[i], values[i]);
    EXPECT_EQ(out[1].data<int64_t>()[i], indices[i]);
  }
  // "maxpool_2d_ceil": 4x4, kernel 3, stride 2, ceil_mode -> 2x2.
  AttrMap ceil;
  ceil.set("kernel_shape", std::vector<int64_t>{3, 3});
  ceil.set("strides", std::vector<int64_t>{2, 2});
  ceil.set("ceil_mode", int64_t{1});
  Tensor c = runPool("max_pool", ceil, iotaTensor({1, 1, 4, 4}))[0];
  ASSERT_EQ(c.shape(), (Shape{1, 1, 2, 2}));
  const float ceilExpected[4] = {11, 12, 15, 16};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(c.data<float>()[i], ceilExpected[i]);
}

TEST(PoolKernel, IntegerMaxPool) {
  Tensor x(DType::U8, {1, 1, 2, 3});
  const uint8_t v[6] = {1, 200, 3, 4, 5, 250};
  std::copy(v, v + 6, x.mutableData<uint8_t>());
  AttrMap attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  Tensor y = runPool("max_pool", attrs, x)[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(y.data<uint8_t>()[0], 200);
  EXPECT_EQ(y.data<uint8_t>()[1], 250);
}

TEST(PoolKernel, GlobalPools) {
  Tensor x = iotaTensor({2, 3, 4, 5});
  Tensor avg = runPool("global_average_pool", AttrMap{}, x)[0];
  Tensor mx = runPool("global_max_pool", AttrMap{}, x)[0];
  ASSERT_EQ(avg.shape(), (Shape{2, 3, 1, 1}));
  ASSERT_EQ(mx.shape(), (Shape{2, 3, 1, 1}));
  for (int p = 0; p < 6; ++p) {
    EXPECT_FLOAT_EQ(avg.data<float>()[p], p * 20 + 10.5f);
    EXPECT_EQ(mx.data<float>()[p], p * 20 + 20.f);
  }
  Tensor x3 = iotaTensor({1, 1, 3, 3, 3});
  EXPECT_EQ(runPool("global_average_pool", AttrMap{}, x3)[0].shape(), (Shape{1, 1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(runPool("global_average_pool", AttrMap{}, x3)[0].data<float>()[0], 14.f);
}

TEST(PoolKernel, RejectsBadInputs) {
  Tensor x = iotaTensor({1, 1, 4, 4});
  EXPECT_THROW(runPool("max_pool", AttrMap{}, x), Error); // kernel_shape required
  AttrMap big;
  big.set("kernel_shape", std::vector<int64_t>{5, 5});
  EXPECT_THROW(runPool("average_pool", big, x), Error);
  AttrMap wrongRank;
  wrongRank.set("kernel_shape", std::vector<int64_t>{2});
  EXPECT_THROW(runPool("max_pool", wrongRank, x), Error);
  AttrMap order;
  order.set("kernel_shape", std::vector<int64_t>{2, 2});
  order.set("storage_order", int64_t{2});
  EXPECT_THROW(runPool("max_pool", order, x), Error);
  AttrMap ok;
  ok.set("kernel_shape", std::vector<int64_t>{2, 2});
  EXPECT_THROW(runPool("max_pool", ok, iotaTensor({4, 4})), Error);
  EXPECT_THROW(runPool("average_pool", ok, Tensor(DType::I32, {1, 1, 4, 4})), Error);
  EXPECT_THROW(runPool("global_max_pool", AttrMap{}, iotaTensor({2, 3})), Error);
}

TEST(LrnKernel, MatchesFormula) {
  std::mt19937 rng(2);
  Tensor x(DType::F32, {2, 7, 3, 2});
  std::uniform_real_distribution<float> dist(-3, 3);
  for (int64_t i = 0; i < x.numel(); ++i)
    x.mutableData<float>()[i] = dist(rng);
  AttrMap attrs;
  attrs.set("size", int64_t{4});
  attrs.set("alpha", 0.002f);
  attrs.set("beta", 0.5f);
  attrs.set("bias", 2.0f);
  Tensor y = runPool("lrn", attrs, x)[0];
  ASSERT_EQ(y.shape(), x.shape());
  const int64_t spatial = 6;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 7; ++c)
      for (int64_t i = 0; i < spatial; ++i) {
        double sq = 0;
        for (int64_t k = std::max<int64_t>(0, c - 1); k <= std::min<int64_t>(6, c + 2); ++k) {
          double v = x.data<float>()[(n * 7 + k) * spatial + i];
          sq += v * v;
        }
        double xv = x.data<float>()[(n * 7 + c) * spatial + i];
        double expected = xv / std::pow(2.0 + 0.002 / 4 * sq, 0.5);
        ASSERT_NEAR(y.data<float>()[(n * 7 + c) * spatial + i], expected, 1e-5);
      }
  EXPECT_THROW(runPool("lrn", AttrMap{}, x), Error); // size required
}

} // namespace
