//===- range_observers_test.cpp - calibration observers vs brute force ----===//
#include "calibrate/RangeObservers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace ds;
using namespace ds::calib;

namespace {
rt::Tensor tensorOf(const std::vector<float> &v) {
  rt::Tensor t(rt::DType::F32, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.mutableData<float>());
  return t;
}

std::vector<float> gaussian(size_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

/// Mean squared uint8 quantization error of `data` over [lo, hi] (widened to 0).
double quantMse(const std::vector<float> &data, double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  double scale = (hi - lo) / 255.0, zp = std::nearbyint(-lo / scale), err = 0;
  for (float x : data) {
    double q = std::clamp(std::nearbyint(x / scale) + zp, 0.0, 255.0);
    double back = (q - zp) * scale;
    err += (back - x) * (back - x);
  }
  return err / static_cast<double>(data.size());
}
} // namespace

TEST(RangeObservers, MinMaxIsExactAndCountsNonFinite) {
  auto o = makeObserver(Method::MinMax);
  o->observe(tensorOf({1.0f, -2.5f, NAN, 3.0f}));
  o->observe(tensorOf({INFINITY, 0.5f}));
  EXPECT_EQ(o->range().min, -2.5f);
  EXPECT_EQ(o->range().max, 3.0f);
  EXPECT_EQ(o->count(), 4);
  EXPECT_EQ(o->nonFiniteCount(), 2);
}

TEST(RangeObservers, ParseMethodListsTheChoices) {
  EXPECT_EQ(parseMethod("entropy"), Method::Entropy);
  try {
    parseMethod("kl");
    FAIL();
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("minmax, percentile, entropy, mse"), std::string::npos);
  }
}

TEST(RangeObservers, HistogramGrowsByExactPairwiseMerges) {
  Histogram h;
  std::vector<float> a = {0.1f, -0.2f, 0.3f}, b = {3.5f, -0.05f};
  h.add(a.data(), 3);
  double r0 = h.halfRange();
  h.add(b.data(), 2); // exceeds R: the range doubles until 3.5 fits
  EXPECT_GE(h.halfRange(), 3.5);
  EXPECT_EQ(h.halfRange() / r0, std::exp2(std::round(std::log2(h.halfRange() / r0))));
  EXPECT_EQ(h.total(), 5);
  double sum = 0;
  for (double c : h.bins())
    sum += c;
  EXPECT_EQ(sum, 5);
  EXPECT_EQ(h.bins().size(), static_cast<size_t>(Histogram::kBins)); // bounded memory
}

TEST(RangeObservers, PercentileMatchesSortedQuantilesWithinABin) {
  auto data = gaussian(200000, 1.0f, 7);
  ObserverOptions opts;
  opts.percentile = 99.9;
  auto o = makeObserver(Method::Percentile, opts);
  for (size_t i = 0; i < data.size(); i += 10000)
    o->observe(tensorOf(std::vector<float>(data.begin() + i, data.begin() + i + 10000)));
  std::vector<float> sorted = data;
  std::sort(sorted.begin(), sorted.end());
  size_t tail = static_cast<size_t>(data.size() * 0.001);
  float lo = sorted[tail], hi = sorted[sorted.size() - 1 - tail];
  double bin = 2 * 8.0 / Histogram::kBins; // R is at most 8 for this data
  EXPECT_NEAR(o->range().min, lo, 2 * bin);
  EXPECT_NEAR(o->range().max, hi, 2 * bin);
  EXPECT_LT(o->range().max, *std::max_element(data.begin(), data.end()));
}

TEST(RangeObservers, MseThresholdIsNearTheBruteForceOptimum) {
  // Many well-behaved values and one far outlier: for uint8 the step error of
  // the bulk outweighs clipping the outlier, so the optimum is inside the range.
  auto data = gaussian(500000, 1.0f, 11);
  data[123] = 30.0f;
  auto o = makeObserver(Method::Mse);
  o->observe(tensorOf(data));
  Range chosen = o->range();
  float mn = *std::min_element(data.begin(), data.end()), mx = *std::max_element(data.begin(), data.end());
  double best = INFINITY;
  for (double t = 0.5; t < std::max(-mn, mx); t += 0.25)
    best = std::min(best, quantMse(data, std::max<double>(mn, -t), std::min<double>(mx, t)));
  double full = quantMse(data, mn, mx);
  double got = quantMse(data, chosen.min, chosen.max);
  EXPECT_LT(chosen.max, mx);
  EXPECT_LT(got, full);             // better than not clipping
  EXPECT_LT(got, best * 1.10);      // within 10% of the brute-force optimum
}

TEST(RangeObservers, EntropyClipsOutliersButKeepsTheBulk) {
  auto data = gaussian(100000, 1.0f, 3);
  data[0] = 40.0f; // one far outlier
  auto o = makeObserver(Method::Entropy);
  o->observe(tensorOf(data));
  Range r = o->range();
  EXPECT_GT(r.max, 2.0f);  // keeps more than two sigma
  EXPECT_LT(r.max, 20.0f); // and drops the outlier
  EXPECT_LT(r.min, -2.0f);
}

TEST(RangeObservers, ReluOutputsKeepAZeroLowerBound) {
  auto data = gaussian(20000, 1.0f, 5);
  for (auto &x : data)
    x = std::max(x, 0.0f);
  for (Method m : {Method::Percentile, Method::Entropy, Method::Mse}) {
    auto o = makeObserver(m);
    o->observe(tensorOf(data));
    EXPECT_EQ(o->range().min, 0.0f);
    EXPECT_GT(o->range().max, 1.0f);
  }
}

TEST(RangeObservers, ConstantAndEmptyInputsGiveFiniteRanges) {
  for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse}) {
    auto o = makeObserver(m);
    EXPECT_EQ(o->range().min, 0.0f); // nothing seen yet
    o->observe(tensorOf(std::vector<float>(100, 0.0f)));
    Range r = o->range();
    EXPECT_TRUE(std::isfinite(r.min) && std::isfinite(r.max));
    EXPECT_LE(r.min, r.max);
    auto c = makeObserver(m);
    c->observe(tensorOf(std::vector<float>(100, 2.5f)));
    EXPECT_TRUE(std::isfinite(c->range().max));
    EXPECT_LE(c->range().max, 2.5f);
  }
}

TEST(RangeObservers, DeterministicAcrossBatchingOnceTheRangeIsSet) {
  auto data = gaussian(30000, 1.0f, 9);
  data[0] = 6.0f; // the first batch fixes R
  auto whole = makeObserver(Method::Entropy), split = makeObserver(Method::Entropy);
  whole->observe(tensorOf(data));
  for (size_t i = 0; i < data.size(); i += 3000)
    split->observe(tensorOf(std::vector<float>(data.begin() + i, data.begin() + i + 3000)));
  EXPECT_EQ(whole->range().min, split->range().min);
  EXPECT_EQ(whole->range().max, split->range().max);
}
