// Tests of the quant_conv kernel against a naive QDQ convolution: exact integer
// sums of (q(x) - zp) * w (padding contributes a quantized 0.0) turned into
// float with the kernel's formula (bit equality), and a float QDQ reference in
// double (tolerance). Pads, strides, dilations, auto_pad, group > 1,
// depthwise, 1x1, shallow "same" convs (the FP32 direct path), static/dynamic,
// relu, bias, per-tensor scale, weights packed ahead of time, errors.
#include "ds/runtime/Kernel.h"
#include "../../codegen/runtime/kernels/ConvCommon.h"
#include "../../codegen/runtime/kernels/QuantConvChannelsLast.h"
#include "../../codegen/runtime/kernels/QuantConvPacking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

using namespace ds::rt;

namespace {

std::vector<Tensor> runConv(const AttrMap &attrs, const std::vector<Tensor> &inputs,
                            unsigned threads = 2) {
  KernelFn fn = findKernel("quant_conv");
  if (!fn)
    throw std::runtime_error("no quant_conv kernel");
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor randomFloats(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor randomWeights(Shape shape, uint32_t seed) {
  Tensor t(DType::I8, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-127, 127);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<int8_t>()[i] = static_cast<int8_t>(dist(rng));
  return t;
}

struct Geometry {
  int64_t group = 1;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  std::string autoPad = "NOTSET";
};

struct ConvCase {
  Shape x;      // N, C, H, W
  Shape w;      // M, C/group, kh, kw
  Geometry geo;
  bool dynamic, perChannel, bias, relu;
};

void checkCase(const ConvCase &c, uint32_t seed) {
  Tensor x = randomFloats(c.x, seed, -1.5f, 2.0f);
  Tensor w = randomWeights(c.w, seed + 1);
  const int64_t M = c.w[0];
  Tensor wScale = c.perChannel ? randomFloats({M}, seed + 2, 0.002f, 0.02f)
                               : randomFloats({}, seed + 2, 0.002f, 0.02f);
  Tensor bias = randomFloats({M}, seed + 3, -1.0f, 1.0f);
  AttrMap attrs;
  attrs.set("group", c.geo.group);
  attrs.set("strides", c.geo.strides);
  attrs.set("dilations", c.geo.dilations);
  attrs.set("auto_pad", c.geo.autoPad);
  if (c.geo.autoPad == "NOTSET")
    attrs.set("pads", c.geo.pads);
  float scale = 0.017f;
  int32_t zp = 90;
  if (c.dynamic) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      lo = std::min(lo, x.data<float>()[i]);
      hi = std::max(hi, x.data<float>()[i]);
    }
    scale = (hi - lo) / 255.0f;
    zp = static_cast<int32_t>(std::nearbyint(std::clamp(-lo / scale, 0.0f, 255.0f)));
  } else {
    attrs.set("x_scale", scale);
    attrs.set("x_zero_point", int64_t{zp});
  }
  if (c.relu)
    attrs.set("activation", std::string("relu"));
  std::vector<Tensor> inputs{x, w, wScale};
  if (c.bias)
    inputs.push_back(bias);
  std::vector<Tensor> y = runConv(attrs, inputs);

  // Naive geometry.
  const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3];
  const int64_t Cg = c.w[1], kh = c.w[2], kw = c.w[3], Mg = M / c.geo.group;
  const auto &s = c.geo.strides, &d = c.geo.dilations;
  int64_t padT = c.geo.pads[0], padL = c.geo.pads[1], OH, OW;
  if (c.geo.autoPad == "SAME_UPPER") {
    OH = (H + s[0] - 1) / s[0];
    OW = (W + s[1] - 1) / s[1];
    padT = std::max<int64_t>(0, (OH - 1) * s[0] + (kh - 1) * d[0] + 1 - H) / 2;
    padL = std::max<int64_t>(0, (OW - 1) * s[1] + (kw - 1) * d[1] + 1 - W) / 2;
  } else {
    OH = (H + c.geo.pads[0] + c.geo.pads[2] - (kh - 1) * d[0] - 1) / s[0] + 1;
    OW = (W + c.geo.pads[1] + c.geo.pads[3] - (kw - 1) * d[1] - 1) / s[1] + 1;
  }
  ASSERT_EQ(y[0].shape(), (Shape{N, M, OH, OW}));
  const float *xs = x.data<float>();
  const int8_t *ws = w.data<int8_t>();
  const float *out = y[0].data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t sum = 0;
          double fsum = 0;
          const float sw = wScale.data<float>()[c.perChannel ? m : 0];
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                int64_t ih = oh * s[0] - padT + ky * d[0], iw = ow * s[1] - padL + kx * d[1];
                int64_t ch = (m / Mg) * Cg + cg;
                float xv = ih < 0 || ih >= H || iw < 0 || iw >= W
                               ? 0.0f
                               : xs[((n * C + ch) * H + ih) * W + iw];
                float q = std::clamp(std::nearbyint(xv / scale) + float(zp), 0.0f, 255.0f);
                int64_t qc = int64_t(q) - zp;
                int8_t wv = ws[((m * Cg + cg) * kh + ky) * kw + kx];
                sum += qc * wv;
                fsum += double(float(qc) * scale) * double(float(wv) * sw);
              }
          const float b = c.bias ? bias.data<float>()[m] : 0.0f;
          float v = float(sum) * (scale * sw);
          v = v + b;
          v = c.relu && v < 0 ? 0.0f : v;
          double fd = fsum + b;
          fd = c.relu && fd < 0 ? 0.0 : fd;
          const float got = out[((n * M + m) * OH + oh) * OW + ow];
          ASSERT_EQ(got, v) << shapeToString(c.x) << " w " << shapeToString(c.w) << " at "
                            << n << "," << m << "," << oh << "," << ow;
          ASSERT_NEAR(got, fd, 1e-4 * (1 + std::fabs(fd)));
        }
  std::vector<Tensor> y1 = runConv(attrs, inputs, 1);
  EXPECT_EQ(0, std::memcmp(y1[0].data<float>(), out, y[0].byteSize())) << "1 vs 2 threads";

  // Weights packed ahead of time (ds-pack-int8-weights' w_packed) run the GEMM
  // path whatever the shape (depthwise and shallow cases included): same bits.
  const conv::ConvProblem problem = conv::readConvProblem(attrs, x.shape(), w.shape(), "x", "w");
  Tensor block(DType::I8, {quant_conv::packedWeightBytes(problem)});
  quant_conv::packWeights(problem, w.data<int8_t>(), block.mutableData<int8_t>());
  AttrMap packedAttrs = attrs;
  packedAttrs.set("w_packed", std::vector<int64_t>(c.w.begin(), c.w.end()));
  std::vector<Tensor> packedInputs = inputs;
  packedInputs[1] = block;
  std::vector<Tensor> yp = runConv(packedAttrs, packedInputs);
  ASSERT_EQ(yp[0].shape(), y[0].shape());
  EXPECT_EQ(0, std::memcmp(yp[0].data<float>(), out, y[0].byteSize())) << "packed weights";
}

/// checkCase on each case, the seeds firstSeed, firstSeed + 10, ...
template <size_t N> void checkCases(const ConvCase (&cases)[N], uint32_t firstSeed) {
  uint32_t seed = firstSeed;
  for (const ConvCase &c : cases) {
    SCOPED_TRACE(shapeToString(c.x) + " w " + shapeToString(c.w));
    checkCase(c, seed);
    seed += 10;
  }
}

TEST(QuantConv, MatchesQdqReference) {
  Geometry plain;
  Geometry padded;
  padded.pads = {1, 2, 2, 1};
  Geometry strided;
  strided.strides = {2, 3};
  strided.pads = {1, 1, 1, 1};
  Geometry dilated;
  dilated.dilations = {2, 3};
  dilated.pads = {2, 0, 1, 3};
  Geometry grouped = padded;
  grouped.group = 3;
  Geometry grouped4 = padded;
  grouped4.group = 2;
  Geometry same;
  same.autoPad = "SAME_UPPER";
  same.strides = {2, 2};
  Geometry depthwise;
  depthwise.group = 8;
  depthwise.pads = {1, 1, 1, 1};
  Geometry depthwiseStrided = depthwise;
  depthwiseStrided.strides = {2, 1};
  depthwiseStrided.dilations = {1, 2};
  const ConvCase cases[] = {
      {{1, 3, 7, 9}, {5, 3, 3, 3}, plain, false, true, true, false},
      {{2, 4, 8, 6}, {7, 4, 3, 2}, padded, true, true, true, true},
      {{1, 5, 11, 13}, {33, 5, 3, 3}, strided, false, false, false, false},
      {{1, 2, 12, 12}, {4, 2, 3, 2}, dilated, true, true, false, true},
      {{2, 6, 9, 7}, {9, 2, 3, 3}, grouped, false, true, true, true},
      {{1, 3, 10, 9}, {4, 3, 3, 3}, same, true, true, true, false},
      {{2, 8, 9, 10}, {8, 1, 3, 3}, depthwise, false, true, true, true},
      {{1, 8, 9, 10}, {16, 1, 3, 3}, depthwiseStrided, true, false, true, false},
      {{1, 16, 5, 5}, {20, 16, 1, 1}, plain, false, true, true, false},
      {{1, 32, 40, 40}, {64, 32, 3, 3}, padded, false, true, true, true}, // parallel GEMM
      // Small planes use a per-call im2col offset table; this one's table
      // would pass 2^20 entries, so it takes the generic im2col loop.
      {{1, 30, 66, 66}, {4, 30, 3, 3}, padded, true, true, true, false},
      // Groups of 4k channels run channels-last (QuantConvChannelsLast.h); its
      // dword table is 4x smaller, so only a larger plane takes its generic loop.
      {{1, 12, 200, 200}, {4, 12, 3, 3}, padded, false, true, true, true},
      {{2, 8, 6, 7}, {6, 4, 3, 3}, grouped4, true, true, false, true},
      {{5, 16, 4, 4}, {32, 16, 3, 3}, strided, false, true, true, true}, // many images
  };
  checkCases(cases, 100);
}

TEST(QuantConv, ShallowSameConvsMatchBitForBit) {
  // "Same" stride-1 convs with K = C/group * kh * kw <= 32 run the FP32 direct
  // kernel on integer-valued floats on AVX-512 CPUs (exact integer sums): the
  // digits CNN's first layer, RGB 3x3, a 5x5 on one channel, groups, dilation,
  // 1x1, channel counts that leave every register-tile remainder, many images.
  Geometry same1;
  same1.pads = {1, 1, 1, 1};
  Geometry same2 = same1;
  same2.pads = {2, 2, 2, 2};
  Geometry sameGrouped = same1;
  sameGrouped.group = 2;
  Geometry sameDilated;
  sameDilated.dilations = {2, 2};
  sameDilated.pads = {2, 2, 2, 2};
  const ConvCase cases[] = {
      {{64, 1, 8, 8}, {16, 1, 3, 3}, same1, false, true, true, true},
      {{3, 3, 10, 9}, {29, 3, 3, 3}, same1, true, true, true, false},
      {{2, 1, 13, 17}, {7, 1, 5, 5}, same2, false, false, true, true},
      {{2, 4, 6, 7}, {10, 2, 3, 3}, sameGrouped, true, true, false, true},
      {{1, 2, 9, 9}, {5, 2, 3, 3}, sameDilated, false, true, true, true},
      {{5, 20, 4, 4}, {3, 20, 1, 1}, Geometry{}, true, true, true, false},
  };
  checkCases(cases, 900);
}

TEST(QuantConv, BytesToChannelsLast) {
  ThreadPool pool(2);
  for (auto [batch, channels, plane] : {std::tuple<int64_t, int64_t, int64_t>{3, 16, 16},
                                        {2, 32, 48}, {2, 20, 19}, {1, 4, 7}, {2, 48, 33}}) {
    std::vector<uint8_t> x(static_cast<size_t>(batch * channels * plane)), got(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<uint8_t>(i * 7 + i / 256);
    quant_conv::bytesToChannelsLast(pool, x.data(), batch, channels, plane, got.data());
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < plane; ++i)
          ASSERT_EQ(got[static_cast<size_t>((n * plane + i) * channels + c)],
                    x[static_cast<size_t>((n * channels + c) * plane + i)])
              << batch << "x" << channels << "x" << plane << " at " << n << "," << c << "," << i;
  }
}

void expectError(const AttrMap &attrs, const std::vector<Tensor> &inputs, const char *needle) {
  try {
    runConv(attrs, inputs);
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(QuantConv, Errors) {
  Tensor x = randomFloats({1, 4, 6, 6}, 1, -1, 1);
  Tensor w = randomWeights({2, 4, 3, 3}, 2);
  Tensor s = randomFloats({2}, 3, 0.01f, 0.02f);
  AttrMap none;
  expectError(none, {randomFloats({1, 4, 6}, 1, -1, 1), randomWeights({2, 4, 3}, 2), s},
              "2-D convolution only");
  expectError(none, {x, Tensor(DType::U8, {2, 4, 3, 3}), s}, "w must be int8");
  expectError(none, {x, randomWeights({2, 3, 3, 3}, 2), s}, "input channels per group");
  AttrMap group3;
  group3.set("group", int64_t{3});
  expectError(group3, {x, w, s}, "not divisible by group");
  expectError(none, {x, w, randomFloats({3}, 3, 0.01f, 0.02f)}, "w_scale must be [2]");
  AttrMap badZp;
  badZp.set("x_scale", 0.1f);
  badZp.set("x_zero_point", int64_t{-1});
  expectError(badZp, {x, w, s}, "x_zero_point must be in [0, 255]");
  AttrMap bigKernel;
  expectError(bigKernel, {x, randomWeights({2, 4, 7, 7}, 2), s}, "larger than the padded input");
  AttrMap packed; // [2, 4, 3, 3]: K = 36 (40 padded + 4 sums) x one 32-column panel
  packed.set("w_packed", std::vector<int64_t>{2, 4, 3, 3});
  expectError(packed, {x, w, s}, "packed w for [2, 4, 3, 3] must be 1280 bytes, got [2, 4, 3, 3]");
  packed.set("w_packed", std::vector<int64_t>{2, 4, 3});
  expectError(packed, {x, Tensor(DType::I8, {1280}), s}, "w_packed must be [M, C/group, kh, kw]");
}

} // namespace
