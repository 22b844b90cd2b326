//===- quant_params_test.cpp - INT8 parameters and per-channel weights ----===//
#include "calibrate/QuantParams.h"
#include "calibrate/WeightQuant.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>

using namespace ds;
using namespace ds::calib;

TEST(QuantParams, Uint8AsymmetricIncludesZeroAndRoundsTheZeroPoint) {
  QuantParams p = uint8Asymmetric({-1.0f, 3.0f});
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 64); // 1 / (4/255) = 63.75 -> 64
  EXPECT_EQ(quantizeUint8(0.0f, p), 64);
  EXPECT_EQ(quantizeUint8(3.0f, p), 255);
  EXPECT_EQ(quantizeUint8(-5.0f, p), 0); // saturates
  // A positive-only range is widened to 0: zero point 0.
  QuantParams pos = uint8Asymmetric({2.0f, 5.1f});
  EXPECT_EQ(pos.zeroPoint, 0);
  EXPECT_FLOAT_EQ(pos.scale, 5.1f / 255.0f);
  // A negative-only range: zero point 255.
  EXPECT_EQ(uint8Asymmetric({-4.0f, -1.0f}).zeroPoint, 255);
  // Zero is exactly representable.
  EXPECT_EQ(dequantize(quantizeUint8(0.0f, p), p), 0.0f);
}

TEST(QuantParams, Int8SymmetricUsesTheLargerMagnitude) {
  QuantParams p = int8Symmetric({-2.54f, 1.0f});
  EXPECT_FLOAT_EQ(p.scale, 2.54f / 127.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  EXPECT_EQ(quantizeInt8Symmetric(-100.0f, p.scale), -127); // never -128
  EXPECT_EQ(quantizeInt8Symmetric(0.5f * p.scale, p.scale), 0);  // half to even
  EXPECT_EQ(quantizeInt8Symmetric(1.5f * p.scale, p.scale), 2);
  EXPECT_EQ(quantizeInt8Symmetric(2.5f * p.scale, p.scale), 2);
}

TEST(QuantParams, DegenerateRangesGetAFiniteNonZeroScale) {
  for (Range r : {Range{0, 0}, Range{1e-44f, 1e-44f}, Range{-1e-40f, 0}, Range{3.0f, 3.0f},
                  Range{-FLT_MAX, FLT_MAX}}) {
    for (QuantParams p : {uint8Asymmetric(r), int8Symmetric(r)}) {
      EXPECT_TRUE(std::isfinite(p.scale));
      EXPECT_GE(p.scale, FLT_MIN);
      EXPECT_GE(p.zeroPoint, 0);
      EXPECT_LE(p.zeroPoint, 255);
    }
  }
  EXPECT_EQ(uint8Asymmetric({0, 0}), (QuantParams{1.0f, 0}));
  EXPECT_EQ(int8Symmetric({0, 0}), (QuantParams{1.0f, 0}));
  EXPECT_FLOAT_EQ(uint8Asymmetric({3.0f, 3.0f}).scale, 3.0f / 255.0f); // widened to [0, 3]
}

TEST(QuantParams, RejectsBadRanges) {
  EXPECT_THROW(uint8Asymmetric({1.0f, 0.0f}), rt::Error);
  EXPECT_THROW(int8Symmetric({NAN, 1.0f}), rt::Error);
  EXPECT_THROW(uint8Asymmetric({0.0f, INFINITY}), rt::Error);
}

namespace {
/// The definition, one element at a time.
void naivePerChannel(const rt::Tensor &w, int64_t axis, std::vector<float> &scales,
                     std::vector<int8_t> &q) {
  const float *v = w.data<float>();
  int64_t channels = w.dim(axis);
  auto channelOf = [&](int64_t flat) {
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < w.rank(); ++d)
      inner *= w.dim(d);
    return flat / inner % channels;
  };
  scales.assign(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < w.numel(); ++i)
    scales[static_cast<size_t>(channelOf(i))] =
        std::max(scales[static_cast<size_t>(channelOf(i))], std::fabs(v[i]));
  for (float &s : scales)
    s = s == 0 ? 1.0f : static_cast<float>(static_cast<double>(s) / 127.0);
  q.resize(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) {
    float r = std::nearbyint(v[i] / scales[static_cast<size_t>(channelOf(i))]);
    q[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
  }
}
} // namespace

TEST(WeightQuant, PerChannelMatchesANaiveLoopOnEveryAxis) {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0, 0.2f);
  rt::Tensor w(rt::DType::F32, {4, 3, 5});
  float *v = w.mutableData<float>();
  for (int64_t i = 0; i < w.numel(); ++i)
    v[i] = d(rng);
  for (int64_t i = 15; i < 30; ++i) // channel 1 of axis 0 all zero
    v[i] = 0;
  for (int64_t axis : {0, 1, 2, -1}) {
    PerChannelInt8 got = quantizePerChannelInt8(w, axis);
    int64_t a = axis < 0 ? axis + 3 : axis;
    std::vector<float> scales;
    std::vector<int8_t> q;
    naivePerChannel(w, a, scales, q);
    EXPECT_EQ(got.axis, a);
    EXPECT_EQ(got.scales, scales);
    ASSERT_EQ(got.values.shape(), w.shape());
    EXPECT_EQ(std::vector<int8_t>(got.values.data<int8_t>(), got.values.data<int8_t>() + w.numel()), q);
  }
  EXPECT_EQ(quantizePerChannelInt8(w, 0).scales[1], 1.0f); // all-zero channel
  // The largest magnitude of each channel maps to +-127.
  PerChannelInt8 q0 = quantizePerChannelInt8(w, 0);
  for (int c : {0, 2, 3}) {
    int m = 0;
    for (int i = 0; i < 15; ++i)
      m = std::max(m, std::abs(static_cast<int>(q0.values.data<int8_t>()[c * 15 + i])));
    EXPECT_EQ(m, 127);
  }
}

TEST(WeightQuant, RejectsBadInput) {
  rt::Tensor w(rt::DType::F32, {2, 2});
  EXPECT_THROW(quantizePerChannelInt8(w, 2), rt::Error);
  EXPECT_THROW(quantizePerChannelInt8(rt::Tensor(rt::DType::I8, {2}), 0), rt::Error);
  w.mutableData<float>()[3] = NAN;
  try {
    quantizePerChannelInt8(w, 0);
    FAIL();
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("channel 1"), std::string::npos) << e.what();
  }
}
