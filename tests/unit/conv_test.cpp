// Tests of the conv, conv_transpose and conv_integer kernels against naive
// direct loops (random shapes, strides, pads, dilations, groups, auto_pad),
// ONNX's spec examples, thread-count independence and error cases.
#include "../../codegen/runtime/kernels/ConvWinograd.h"
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> runConvKernel(const char *name, const AttrMap &attrs,
                                  const std::vector<Tensor> &inputs, ThreadPool &pool,
                                  size_t numOutputs = 1) {
  KernelFn fn = findKernel(name);
  EXPECT_NE(fn, nullptr) << name;
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor randomTensor(DType dtype, Shape shape, std::mt19937 &rng) {
  Tensor t(dtype, shape);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  if (dtype == DType::F32)
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<float>()[i] = dist(rng);
  else if (dtype == DType::F64)
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<double>()[i] = dist(rng);
  else if (dtype == DType::U8)
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<uint8_t>()[i] = static_cast<uint8_t>(rng() % 256);
  else if (dtype == DType::I8)
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  return t;
}

/// One convolution configuration; spatial vectors have the spatial rank.
struct ConvCase {
  int64_t n, c, m, group;
  std::vector<int64_t> in, kernel, strides, dilations, pads; // pads: begins then ends
  std::string autoPad = "NOTSET";
};

AttrMap convAttrs(const ConvCase &cc) {
  AttrMap attrs;
  attrs.set("group", cc.group);
  attrs.set("strides", cc.strides);
  attrs.set("dilations", cc.dilations);
  if (cc.autoPad == "NOTSET")
    attrs.set("pads", cc.pads);
  else
    attrs.set("auto_pad", cc.autoPad);
  return attrs;
}

/// Resolved pads and output sizes for a forward conv (independent of the kernel's code).
void referenceGeometry(const ConvCase &cc, std::vector<int64_t> &padBegin,
                       std::vector<int64_t> &out) {
  size_t r = cc.in.size();
  padBegin.assign(r, 0);
  out.assign(r, 0);
  for (size_t i = 0; i < r; ++i) {
    int64_t ext = (cc.kernel[i] - 1) * cc.dilations[i] + 1;
    if (cc.autoPad == "NOTSET") {
      padBegin[i] = cc.pads[i];
      out[i] = (cc.in[i] + cc.pads[i] + cc.pads[r + i] - ext) / cc.strides[i] + 1;
    } else if (cc.autoPad == "VALID") {
      out[i] = (cc.in[i] - ext) / cc.strides[i] + 1;
    } else {
      out[i] = (cc.in[i] + cc.strides[i] - 1) / cc.strides[i];
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * cc.strides[i] + ext - cc.in[i]);
      padBegin[i] = cc.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
    }
  }
}

/// Flat index of multi-index `idx` in `dims`, or -1 if out of range.
int64_t flatIndex(const std::vector<int64_t> &idx, const std::vector<int64_t> &dims) {
  int64_t flat = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= dims[i])
      return -1;
    flat = flat * dims[i] + idx[i];
  }
  return flat;
}

/// Advances a multi-index over `dims`; false when it wraps around.
bool nextIndex(std::vector<int64_t> &idx, const std::vector<int64_t> &dims) {
  for (size_t i = dims.size(); i-- > 0;) {
    if (++idx[i] < dims[i])
      return true;
    idx[i] = 0;
  }
  return false;
}

int64_t product(const std::vector<int64_t> &dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// Naive direct convolution in double: x [N, C, in...], w [M, C/G, k...].
std::vector<double> referenceConv(const ConvCase &cc, const std::vector<double> &x,
                                  const std::vector<double> &w, const std::vector<double> &bias,
                                  std::vector<int64_t> &outDims) {
  std::vector<int64_t> padBegin, out;
  referenceGeometry(cc, padBegin, out);
  outDims = out;
  const size_t r = cc.in.size();
  const int64_t cg = cc.c / cc.group, mg = cc.m / cc.group;
  const int64_t inP = product(cc.in), outP = product(out), ks = product(cc.kernel);
  std::vector<double> y(static_cast<size_t>(cc.n * cc.m * outP), 0.0);
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t m = 0; m < cc.m; ++m) {
      int64_t g = m / mg;
      std::vector<int64_t> o(r, 0);
      int64_t oi = 0;
      do {
        double acc = bias.empty() ? 0.0 : bias[m];
        for (int64_t c = 0; c < cg; ++c) {
          std::vector<int64_t> k(r, 0);
          int64_t ki = 0;
          do {
            std::vector<int64_t> pos(r);
            for (size_t i = 0; i < r; ++i)
              pos[i] = o[i] * cc.strides[i] - padBegin[i] + k[i] * cc.dilations[i];
            int64_t xi = flatIndex(pos, cc.in);
            if (xi >= 0)
              acc += x[(n * cc.c + g * cg + c) * inP + xi] * w[(m * cg + c) * ks + ki];
            ++ki;
          } while (nextIndex(k, cc.kernel));
        }
        y[(n * cc.m + m) * outP + oi] = acc;
        ++oi;
      } while (nextIndex(o, out));
    }
  return y;
}

template <typename T> std::vector<double> toDoubles(const Tensor &t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = static_cast<double>(t.data<T>()[i]);
  return v;
}

Shape withBatchChannels(int64_t n, int64_t c, const std::vector<int64_t> &spatial) {
  Shape s{n, c};
  s.insert(s.end(), spatial.begin(), spatial.end());
  return s;
}

void checkConvCase(const ConvCase &cc, std::mt19937 &rng, bool withBias) {
  SCOPED_TRACE(testing::Message() << "n=" << cc.n << " c=" << cc.c << " m=" << cc.m
                                  << " group=" << cc.group << " auto_pad=" << cc.autoPad
                                  << " rank=" << cc.in.size());
  Tensor x = randomTensor(DType::F32, withBatchChannels(cc.n, cc.c, cc.in), rng);
  Tensor w = randomTensor(DType::F32, withBatchChannels(cc.m, cc.c / cc.group, cc.kernel), rng);
  Tensor b = randomTensor(DType::F32, {cc.m}, rng);
  std::vector<Tensor> inputs{x, w};
  if (withBias)
    inputs.push_back(b);
  ThreadPool pool1(1), pool3(3);
  AttrMap attrs = convAttrs(cc);
  Tensor y = runConvKernel("conv", attrs, inputs, pool3)[0];
  Tensor y1 = runConvKernel("conv", attrs, inputs, pool1)[0];
  std::vector<int64_t> outDims;
  std::vector<double> ref = referenceConv(cc, toDoubles<float>(x), toDoubles<float>(w),
                                          withBias ? toDoubles<float>(b) : std::vector<double>{},
                                          outDims);
  ASSERT_EQ(y.shape(), withBatchChannels(cc.n, cc.m, outDims));
  ASSERT_EQ(static_cast<size_t>(y.numel()), ref.size());
  for (int64_t i = 0; i < y.numel(); ++i) {
    ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-4 * (1 + std::abs(ref[i]))) << "at " << i;
    ASSERT_EQ(y.data<float>()[i], y1.data<float>()[i]) << "thread count changed bits at " << i;
  }
}

TEST(ConvKernel, SpecExampleWithPadding) {
  // ONNX Operators.md, Conv "conv_with_padding" / "conv_without_padding".
  ThreadPool pool(2);
  Tensor x(DType::F32, {1, 1, 5, 5}), w(DType::F32, {1, 1, 3, 3});
  for (int i = 0; i < 25; ++i)
    x.mutableData<float>()[i] = static_cast<float>(i);
  for (int i = 0; i < 9; ++i)
    w.mutableData<float>()[i] = 1.f;
  AttrMap attrs;
  attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Tensor y = runConvKernel("conv", attrs, {x, w}, pool)[0];
  const float padded[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108,
                            117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  ASSERT_EQ(y.shape(), (Shape{1, 1, 5, 5}));
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(y.data<float>()[i], padded[i]);

  AttrMap noPad;
  noPad.set("kernel_shape", std::vector<int64_t>{3, 3});
  Tensor y2 = runConvKernel("conv", noPad, {x, w}, pool)[0];
  const float valid[9] = {54, 63, 72, 99, 108, 117, 144, 153, 162};
  ASSERT_EQ(y2.shape(), (Shape{1, 1, 3, 3}));
  for (int i = 0; i < 9; ++i)
    EXPECT_EQ(y2.data<float>()[i], valid[i]);

  // "conv_with_strides_and_asymmetric_padding": 7x5 input, strides 2, pads [1,0,1,0].
  Tensor x3(DType::F32, {1, 1, 7, 5});
  for (int i = 0; i < 35; ++i)
    x3.mutableData<float>()[i] = static_cast<float>(i);
  AttrMap asym;
  asym.set("strides", std::vector<int64_t>{2, 2});
  asym.set("pads", std::vector<int64_t>{1, 0, 1, 0});
  Tensor y3 = runConvKernel("conv", asym, {x3, w}, pool)[0];
  const float expected3[8] = {21, 33, 99, 117, 189, 207, 171, 183};
  ASSERT_EQ(y3.shape(), (Shape{1, 1, 4, 2}));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y3.data<float>()[i], expected3[i]);
}

TEST(ConvKernel, MatchesNaiveLoopOnRandomCases) {
  std::mt19937 rng(1234);
  const char *autoPads[] = {"NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int trial = 0; trial < 60; ++trial) {
    ConvCase cc;
    size_t rank = 1 + trial % 3;
    cc.group = (trial % 4 == 0) ? 1 : 1 + static_cast<int64_t>(rng() % 3);
    cc.n = 1 + rng() % 2;
    cc.c = cc.group * (1 + rng() % 3);
    cc.m = cc.group * (1 + rng() % 3);
    cc.autoPad = autoPads[rng() % 5];
    for (size_t i = 0; i < rank; ++i) {
      cc.kernel.push_back(1 + rng() % 3);
      cc.strides.push_back(1 + rng() % 2);
      cc.dilations.push_back(1 + rng() % 2);
      int64_t ext = (cc.kernel[i] - 1) * cc.dilations[i] + 1;
      cc.in.push_back(ext + rng() % (rank == 3 ? 4 : 7));
    }
    for (size_t i = 0; i < 2 * rank; ++i)
      cc.pads.push_back(rng() % 3);
    checkConvCase(cc, rng, trial % 2 == 0);
  }
}

TEST(ConvKernel, DepthwiseAndPointwiseAndLarge) {
  std::mt19937 rng(7);
  // Depthwise 3x3 stride 2 with channel multiplier 2.
  checkConvCase({2, 8, 16, 8, {13, 11}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  // Depthwise dilated, SAME_UPPER.
  checkConvCase({1, 6, 6, 6, {9, 10}, {3, 3}, {1, 2}, {2, 1}, {}, "SAME_UPPER"}, rng, false);
  // Depthwise 1-D.
  checkConvCase({1, 4, 4, 4, {17}, {5}, {1}, {1}, {2, 2}}, rng, true);
  // Pointwise (skips im2col).
  checkConvCase({2, 16, 24, 1, {7, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}}, rng, true);
  // Bigger than one im2col chunk and many output channels (exercises GEMM blocking).
  checkConvCase({1, 32, 37, 1, {24, 29}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
}

TEST(ConvKernel, BatchedSmallPlanes) {
  // Small planes are batched several images per GEMM (and 3x3 "same" convs use
  // the shifted-plane im2col): the digits CNN's shapes, odd batch remainders,
  // groups, 1-D, pointwise over several images, dilation, and shapes that
  // keep the generic im2col (stride 2, asymmetric width).
  std::mt19937 rng(99);
  checkConvCase({64, 1, 16, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({64, 16, 32, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({13, 6, 9, 3, {5, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, false);
  checkConvCase({9, 4, 8, 1, {6, 6}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}}, rng, true);
  checkConvCase({9, 4, 8, 1, {6, 6}, {3, 5}, {1, 1}, {1, 1}, {}, "SAME_LOWER"}, rng, true);
  checkConvCase({7, 3, 5, 1, {11}, {3}, {1}, {1}, {1, 1}}, rng, true);
  checkConvCase({11, 8, 12, 2, {3, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}}, rng, true);
  checkConvCase({10, 3, 4, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}}, rng, false);
  checkConvCase({10, 3, 4, 1, {7, 6}, {3, 3}, {1, 1}, {1, 1}, {0, 1, 2, 1}}, rng, true);
  checkConvCase({5, 2, 3, 1, {1, 4, 4}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1, 1, 1, 1}},
                rng, true);
}

TEST(ConvKernel, DirectPathTileRemainders) {
  // "Same" stride-1 float convs with small weights take the direct path on
  // AVX-512 CPUs (ConvShiftedDirect.h): its register tiles are 24, 12, 8 or 6
  // output channels by 1-4 vectors of 16 positions, finished by power-of-two
  // channel tiles. Planes of 1, 3 and 7 vectors (tail vectors partly past P),
  // every channel remainder up to 29, and batch 1 on a large plane (positions
  // split across threads).
  std::mt19937 rng(31);
  for (int64_t m = 1; m <= 29; m += 2)
    checkConvCase({2, 3, m, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, m % 3 == 0);
  for (int64_t m : {5, 8, 13, 24})
    checkConvCase({3, 2, m, 1, {5, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  for (int64_t m : {6, 7, 11})
    checkConvCase({2, 4, m, 1, {10, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({1, 3, 5, 1, {40, 37}, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}}, rng, true);
  checkConvCase({2, 6, 10, 2, {9, 12}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}}, rng, false);
}

TEST(ConvKernel, WinogradOverBatchesOfSixteen) {
  // 3x3 pad-1 stride-1 float convs over >= 16 images with >= 8 input channels
  // per group take Winograd on AVX-512 (16 images per vector): F(4x4, 3x3) where
  // it needs fewer products (4x4, 5x7, 9x10, 4x6 planes), F(2x2, 3x3) else (3x1,
  // 6x6, 6x2, 7x2). Full and partial image blocks, planes that cut output
  // blocks at the edge, a 1-pixel-wide plane, every channel-tile remainder,
  // groups, no bias.
  std::mt19937 rng(77);
  checkConvCase({16, 16, 32, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({17, 8, 5, 1, {5, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({33, 9, 29, 1, {3, 1}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, false);
  checkConvCase({20, 12, 1, 1, {9, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({16, 16, 14, 2, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {}, "SAME_UPPER"}, rng, true);
  for (int64_t m : {7, 13, 24, 25})
    checkConvCase({16, 8, m, 1, {4, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({16, 8, 11, 1, {6, 2}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
  checkConvCase({19, 10, 3, 1, {7, 2}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng, true);
}

TEST(ConvKernel, WinogradTileNeedsFewerProducts) {
  // F(4x4) where its patches need fewer products than F(2x2)'s (ties: F(2x2)).
  auto tileFor = [](int64_t h, int64_t w, int64_t batch = 16, int64_t cin = 8) {
    conv::WindowGeometry g;
    g.rank = 2;
    g.in = {1, h, w};
    g.out = {1, h, w};
    g.kernel = {1, 3, 3};
    g.padBegin = {0, 1, 1};
    g.padEnd = {0, 1, 1};
    return conv::winogradTile(g, batch, cin, 8);
  };
  if (tileFor(4, 4) == 0)
    GTEST_SKIP() << "no AVX-512F: the Winograd path is off";
  EXPECT_EQ(tileFor(4, 4), 4);  // one 6x6 patch: 36 products vs 4 x 16
  EXPECT_EQ(tileFor(8, 8), 4);  // 4 x 36 vs 16 x 16
  EXPECT_EQ(tileFor(6, 6), 2);  // 4 x 36 = 9 x 16
  EXPECT_EQ(tileFor(7, 2), 2);  // 2 x 36 vs 4 x 16
  EXPECT_EQ(tileFor(3, 1), 2);
  EXPECT_EQ(tileFor(4, 4, 15), 0);     // fewer images than lanes
  EXPECT_EQ(tileFor(4, 4, 16, 7), 0);  // too few input channels
}

/// Conv with `activation = "relu"` must equal the Relu kernel applied to the
/// plain conv bit for bit (NaN included), on every conv path.
void checkFusedRelu(const ConvCase &cc, std::mt19937 &rng) {
  SCOPED_TRACE(testing::Message() << "n=" << cc.n << " c=" << cc.c << " m=" << cc.m
                                  << " group=" << cc.group << " rank=" << cc.in.size());
  Tensor x = randomTensor(DType::F32, withBatchChannels(cc.n, cc.c, cc.in), rng);
  x.mutableData<float>()[x.numel() / 2] = std::nanf("");
  Tensor w = randomTensor(DType::F32, withBatchChannels(cc.m, cc.c / cc.group, cc.kernel), rng);
  Tensor b = randomTensor(DType::F32, {cc.m}, rng);
  ThreadPool pool(2);
  AttrMap attrs = convAttrs(cc);
  Tensor plain = runConvKernel("conv", attrs, {x, w, b}, pool)[0];
  Tensor expected = runConvKernel("relu", AttrMap{}, {plain}, pool)[0];
  attrs.set("activation", std::string("relu"));
  Tensor fused = runConvKernel("conv", attrs, {x, w, b}, pool)[0];
  ASSERT_EQ(fused.shape(), expected.shape());
  int64_t nans = 0, zeros = 0;
  for (int64_t i = 0; i < fused.numel(); ++i) {
    const float e = expected.data<float>()[i], f = fused.data<float>()[i];
    nans += std::isnan(e);
    zeros += e == 0.0f;
    if (std::isnan(e))
      ASSERT_TRUE(std::isnan(f)) << "at " << i;
    else
      ASSERT_EQ(f, e) << "at " << i;
  }
  EXPECT_GT(nans, 0);  // the NaN input reached the output and survived the Relu
  EXPECT_GT(zeros, 0); // and the Relu clipped something
}

TEST(ConvKernel, FusedReluOnEveryPath) {
  std::mt19937 rng(5);
  checkFusedRelu({3, 16, 32, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng); // direct
  checkFusedRelu({1, 2, 5, 1, {33, 31}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng); // direct, split
  checkFusedRelu({1, 3, 4, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}}, rng);   // im2col
  checkFusedRelu({12, 3, 4, 1, {5, 5}, {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}}, rng);  // batched
  checkFusedRelu({2, 4, 8, 4, {6, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng);   // depthwise
  checkFusedRelu({2, 8, 6, 1, {5, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}}, rng);   // pointwise
  checkFusedRelu({18, 8, 6, 1, {4, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}}, rng);  // Winograd
}

TEST(ConvKernel, RejectsUnknownActivation) {
  ThreadPool pool(1);
  Tensor x(DType::F32, {1, 1, 3, 3}), w(DType::F32, {1, 1, 1, 1});
  AttrMap attrs;
  attrs.set("activation", std::string("gelu"));
  EXPECT_THROW(runConvKernel("conv", attrs, {x, w}, pool), Error);
}

TEST(ConvKernel, DoublePrecision) {
  ThreadPool pool(2);
  Tensor x(DType::F64, {1, 1, 5, 5}), w(DType::F64, {1, 1, 3, 3});
  for (int i = 0; i < 25; ++i)
    x.mutableData<double>()[i] = i;
  for (int i = 0; i < 9; ++i)
    w.mutableData<double>()[i] = 1.0;
  Tensor y = runConvKernel("conv", AttrMap{}, {x, w}, pool)[0];
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(y.data<double>()[4], 108.0);
}

TEST(ConvKernel, RejectsBadInputs) {
  ThreadPool pool(1);
  Tensor x(DType::F32, {1, 4, 5, 5});
  Tensor w(DType::F32, {2, 3, 3, 3});
  EXPECT_THROW(runConvKernel("conv", AttrMap{}, {x, w}, pool), Error); // C mismatch
  AttrMap grouped;
  grouped.set("group", int64_t{3});
  EXPECT_THROW(runConvKernel("conv", grouped, {x, Tensor(DType::F32, {3, 1, 3, 3})}, pool),
               Error); // 4 channels not divisible by 3
  Tensor w4(DType::F32, {2, 4, 7, 7});
  EXPECT_THROW(runConvKernel("conv", AttrMap{}, {x, w4}, pool), Error); // kernel > input
  AttrMap badPads;
  badPads.set("pads", std::vector<int64_t>{1, 1});
  EXPECT_THROW(runConvKernel("conv", badPads, {x, Tensor(DType::F32, {2, 4, 3, 3})}, pool),
               Error);
  AttrMap badAuto;
  badAuto.set("auto_pad", std::string("SAME"));
  EXPECT_THROW(runConvKernel("conv", badAuto, {x, Tensor(DType::F32, {2, 4, 3, 3})}, pool),
               Error);
  EXPECT_THROW(runConvKernel("conv", AttrMap{},
                             {x, Tensor(DType::F32, {2, 4, 3, 3}), Tensor(DType::F32, {3})},
                             pool),
               Error); // bias size
  EXPECT_THROW(runConvKernel("conv", AttrMap{},
                             {Tensor(DType::I32, {1, 1, 3, 3}), Tensor(DType::I32, {1, 1, 1, 1})},
                             pool),
               Error); // dtype
  EXPECT_THROW(runConvKernel("conv", AttrMap{}, {Tensor(DType::F32, {4, 5}), w}, pool), Error);
}

/// Naive transposed convolution (scatter form) in double.
std::vector<double> referenceConvTranspose(const Tensor &x, const Tensor &w, int64_t group,
                                           const std::vector<int64_t> &strides,
                                           const std::vector<int64_t> &dilations,
                                           const std::vector<int64_t> &padBegin,
                                           const std::vector<int64_t> &out) {
  const size_t r = out.size();
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  const int64_t n = x.dim(0), c = x.dim(1), mg = w.dim(1), cg = c / group, m = mg * group;
  const int64_t inP = product(in), outP = product(out), ks = product(kernel);
  std::vector<double> y(static_cast<size_t>(n * m * outP), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ci = 0; ci < c; ++ci) {
      int64_t g = ci / cg;
      std::vector<int64_t> i(r, 0);
      int64_t ii = 0;
      do {
        double xv = x.data<float>()[(b * c + ci) * inP + ii];
        for (int64_t mo = 0; mo < mg; ++mo) {
          std::vector<int64_t> k(r, 0);
          int64_t ki = 0;
          do {
            std::vector<int64_t> pos(r);
            for (size_t d = 0; d < r; ++d)
              pos[d] = i[d] * strides[d] - padBegin[d] + k[d] * dilations[d];
            int64_t oi = flatIndex(pos, out);
            if (oi >= 0)
              y[(b * m + g * mg + mo) * outP + oi] +=
                  xv * w.data<float>()[(ci * mg + mo) * ks + ki];
            ++ki;
          } while (nextIndex(k, kernel));
        }
        ++ii;
      } while (nextIndex(i, in));
    }
  return y;
}

TEST(ConvTransposeKernel, SpecExample) {
  // ONNX Operators.md "convtranspose": 3x3 input of 0..8, two 3x3 kernels of ones.
  ThreadPool pool(2);
  Tensor x(DType::F32, {1, 1, 3, 3}), w(DType::F32, {1, 2, 3, 3});
  for (int i = 0; i < 9; ++i)
    x.mutableData<float>()[i] = static_cast<float>(i);
  for (int i = 0; i < 18; ++i)
    w.mutableData<float>()[i] = 1.f;
  Tensor y = runConvKernel("conv_transpose", AttrMap{}, {x, w}, pool)[0];
  const float plane[25] = {0,  1,  3,  3,  2,  3,  8,  15, 12, 7,  9,  21, 36,
                           27, 15, 9,  20, 33, 24, 13, 6,  13, 21, 15, 8};
  ASSERT_EQ(y.shape(), (Shape{1, 2, 5, 5}));
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(y.data<float>()[i], plane[i % 25]);

  // "convtranspose_output_shape": strides 3x2, output_shape 10x8 -> pads derived.
  AttrMap shaped;
  shaped.set("strides", std::vector<int64_t>{3, 2});
  shaped.set("output_shape", std::vector<int64_t>{10, 8});
  Tensor y2 = runConvKernel("conv_transpose", shaped, {x, w}, pool)[0];
  ASSERT_EQ(y2.shape(), (Shape{1, 2, 10, 8}));
  const float row0[8] = {0, 0, 1, 1, 3, 2, 2, 0};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y2.data<float>()[i], row0[i]);

  // "convtranspose_pads": strides 3x2, pads [1,2,1,2] -> 7x3.
  AttrMap padded;
  padded.set("strides", std::vector<int64_t>{3, 2});
  padded.set("pads", std::vector<int64_t>{1, 2, 1, 2});
  Tensor y3 = runConvKernel("conv_transpose", padded, {x, w}, pool)[0];
  ASSERT_EQ(y3.shape(), (Shape{1, 2, 7, 3}));
  const float first[21] = {1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15};
  for (int i = 0; i < 21; ++i)
    EXPECT_EQ(y3.data<float>()[i], first[i]);
}

TEST(ConvTransposeKernel, MatchesNaiveLoopOnRandomCases) {
  std::mt19937 rng(99);
  ThreadPool pool1(1), pool3(3);
  for (int trial = 0; trial < 40; ++trial) {
    size_t rank = 1 + trial % 3;
    int64_t group = 1 + rng() % 2;
    int64_t n = 1 + rng() % 2, c = group * (1 + rng() % 3), mg = 1 + rng() % 3;
    std::vector<int64_t> in, kernel, strides, dilations, pads, outputPadding;
    for (size_t i = 0; i < rank; ++i) {
      in.push_back(1 + rng() % (rank == 3 ? 3 : 6));
      kernel.push_back(1 + rng() % 3);
      strides.push_back(1 + rng() % 3);
      dilations.push_back(1 + rng() % 2);
      outputPadding.push_back(rng() % strides.back());
    }
    for (size_t i = 0; i < 2 * rank; ++i)
      pads.push_back(rng() % 2);
    Tensor x = randomTensor(DType::F32, withBatchChannels(n, c, in), rng);
    Tensor w = randomTensor(DType::F32, withBatchChannels(c, mg, kernel), rng);
    AttrMap attrs;
    attrs.set("group", group);
    attrs.set("strides", strides);
    attrs.set("dilations", dilations);
    attrs.set("pads", pads);
    attrs.set("output_padding", outputPadding);
    std::vector<int64_t> out, padBegin(pads.begin(), pads.begin() + rank);
    for (size_t i = 0; i < rank; ++i)
      out.push_back(strides[i] * (in[i] - 1) + outputPadding[i] +
                    (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[rank + i]);
    if (*std::min_element(out.begin(), out.end()) < 1)
      continue; // pads swallow the whole output: covered by RejectsBadInputs
    SCOPED_TRACE(testing::Message() << "trial " << trial);
    Tensor y = runConvKernel("conv_transpose", attrs, {x, w}, pool3)[0];
    Tensor y1 = runConvKernel("conv_transpose", attrs, {x, w}, pool1)[0];
    ASSERT_EQ(y.shape(), withBatchChannels(n, mg * group, out));
    std::vector<double> ref =
        referenceConvTranspose(x, w, group, strides, dilations, padBegin, out);
    for (int64_t i = 0; i < y.numel(); ++i) {
      ASSERT_NEAR(y.data<float>()[i], ref[i], 1e-4 * (1 + std::abs(ref[i])));
      ASSERT_EQ(y.data<float>()[i], y1.data<float>()[i]);
    }
  }
}

TEST(ConvTransposeKernel, AutoPadSameAndBias) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  Tensor x = randomTensor(DType::F32, {1, 2, 4, 5}, rng);
  Tensor w = randomTensor(DType::F32, {2, 3, 3, 3}, rng);
  Tensor b = randomTensor(DType::F32, {3}, rng);
  for (const char *mode : {"SAME_UPPER", "SAME_LOWER"}) {
    AttrMap attrs;
    attrs.set("auto_pad", std::string(mode));
    attrs.set("strides", std::vector<int64_t>{2, 2});
    Tensor y = runConvKernel("conv_transpose", attrs, {x, w, b}, pool)[0];
    ASSERT_EQ(y.shape(), (Shape{1, 3, 8, 10}));
    // total padding = 2*(in-1) + 3 - 2*in = 1 per dim.
    std::vector<int64_t> padBegin = std::string(mode) == "SAME_UPPER"
                                         ? std::vector<int64_t>{0, 0}
                                         : std::vector<int64_t>{1, 1};
    std::vector<double> ref =
        referenceConvTranspose(x, w, 1, {2, 2}, {1, 1}, padBegin, {8, 10});
    for (int64_t i = 0; i < y.numel(); ++i)
      ASSERT_NEAR(y.data<float>()[i], ref[i] + b.data<float>()[i / 80], 1e-5) << mode;
  }
}

TEST(ConvTransposeKernel, RejectsBadInputs) {
  ThreadPool pool(1);
  Tensor x(DType::F32, {1, 2, 3, 3});
  EXPECT_THROW(runConvKernel("conv_transpose", AttrMap{}, {x, Tensor(DType::F32, {3, 1, 3, 3})},
                             pool),
               Error);
  AttrMap badPadding;
  badPadding.set("output_padding", std::vector<int64_t>{1});
  EXPECT_THROW(runConvKernel("conv_transpose", badPadding,
                             {x, Tensor(DType::F32, {2, 1, 3, 3})}, pool),
               Error);
  AttrMap tooSmall;
  tooSmall.set("pads", std::vector<int64_t>{3, 3, 3, 3});
  EXPECT_THROW(runConvKernel("conv_transpose", tooSmall,
                             {x, Tensor(DType::F32, {2, 1, 3, 3})}, pool),
               Error);
}

TEST(ConvIntegerKernel, SpecExampleAndZeroPoints) {
  // ONNX Operators.md "convinteger_with_padding": x = 2..10 (u8), x_zero_point 1, w ones.
  ThreadPool pool(2);
  Tensor x(DType::U8, {1, 1, 3, 3}), w(DType::U8, {1, 1, 2, 2}), xZp(DType::U8, {});
  for (int i = 0; i < 9; ++i)
    x.mutableData<uint8_t>()[i] = static_cast<uint8_t>(i + 2);
  for (int i = 0; i < 4; ++i)
    w.mutableData<uint8_t>()[i] = 1;
  xZp.mutableData<uint8_t>()[0] = 1;
  AttrMap attrs;
  attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Tensor y = runConvKernel("conv_integer", attrs, {x, w, xZp}, pool)[0];
  ASSERT_EQ(y.dtype(), DType::I32);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  const int32_t expected[16] = {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(y.data<int32_t>()[i], expected[i]);
}

TEST(ConvIntegerKernel, MatchesNaiveLoopWithPerChannelZeroPoints) {
  std::mt19937 rng(17);
  ThreadPool pool(3);
  for (int trial = 0; trial < 12; ++trial) {
    ConvCase cc{1 + trial % 2, 4, 6, trial % 3 == 0 ? 2 : 1, {6, 7}, {3, 2}, {1 + trial % 2, 1},
                {1, 1 + trial % 2}, {1, 0, 0, 1}};
    DType xt = trial % 2 ? DType::U8 : DType::I8, wt = trial % 4 < 2 ? DType::I8 : DType::U8;
    Tensor x = randomTensor(xt, withBatchChannels(cc.n, cc.c, cc.in), rng);
    Tensor w = randomTensor(wt, withBatchChannels(cc.m, cc.c / cc.group, cc.kernel), rng);
    Tensor xZp = randomTensor(xt, {}, rng), wZp = randomTensor(wt, {cc.m}, rng);
    auto asDoubles = [](const Tensor &t) {
      std::vector<double> v(static_cast<size_t>(t.numel()));
      for (int64_t i = 0; i < t.numel(); ++i)
        v[i] = t.getAsDouble(i);
      return v;
    };
    std::vector<double> xd = asDoubles(x), wd = asDoubles(w);
    // ConvInteger pads with the zero point, i.e. zero after subtracting it.
    for (double &v : xd)
      v -= xZp.getAsDouble(0);
    const int64_t perM = w.numel() / cc.m;
    for (int64_t i = 0; i < w.numel(); ++i)
      wd[i] -= wZp.getAsDouble(i / perM);
    std::vector<int64_t> outDims;
    std::vector<double> ref = referenceConv(cc, xd, wd, {}, outDims);
    Tensor y = runConvKernel("conv_integer", convAttrs(cc), {x, w, xZp, wZp}, pool)[0];
    ASSERT_EQ(y.shape(), withBatchChannels(cc.n, cc.m, outDims));
    for (int64_t i = 0; i < y.numel(); ++i)
      ASSERT_EQ(y.data<int32_t>()[i], static_cast<int32_t>(ref[i])) << "trial " << trial;
  }
}

TEST(ConvIntegerKernel, RejectsBadInputs) {
  ThreadPool pool(1);
  Tensor x(DType::U8, {1, 1, 3, 3}), w(DType::U8, {2, 1, 2, 2});
  EXPECT_THROW(runConvKernel("conv_integer", AttrMap{}, {x, w, Tensor(DType::U8, {2})}, pool),
               Error); // x zero point must be scalar
  EXPECT_THROW(runConvKernel("conv_integer", AttrMap{},
                             {x, w, Tensor(DType::U8, {}), Tensor(DType::U8, {3})}, pool),
               Error); // w zero point size
  EXPECT_THROW(runConvKernel("conv_integer", AttrMap{},
                             {Tensor(DType::F32, {1, 1, 3, 3}), w}, pool),
               Error); // float input
}

} // namespace
