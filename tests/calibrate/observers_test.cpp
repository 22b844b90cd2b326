//===- observers_test.cpp - observers vs sorting and brute-force searches -===//
#include "calibrate/Observer.h"

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

std::vector<float> gaussian(size_t n, float sigma, uint32_t seed, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(mean, sigma);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

void observeInBatches(Observer &o, const std::vector<float> &data, size_t batch) {
  for (size_t i = 0; i < data.size(); i += batch)
    o.observe(tensorOf(std::vector<float>(data.begin() + static_cast<std::ptrdiff_t>(i),
                                          data.begin() + static_cast<std::ptrdiff_t>(std::min(i + batch, data.size())))));
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

const Method kAll[] = {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse};
} // namespace

TEST(Observers, MinMaxIsExactAndCountsNonFinite) {
  auto o = makeObserver(Method::MinMax);
  o->observe(tensorOf({1.0f, -2.5f, NAN, 3.0f}));
  o->observe(tensorOf({INFINITY, 0.5f, -INFINITY}));
  EXPECT_EQ(o->range(), (Range{-2.5f, 3.0f}));
  EXPECT_EQ(o->count(), 4);
  EXPECT_EQ(o->nonFiniteCount(), 3);
}

TEST(Observers, NonFiniteValuesAreExcludedFromEveryMethod) {
  auto data = gaussian(5000, 1.0f, 1);
  std::vector<float> dirty = data;
  dirty.insert(dirty.begin() + 10, NAN);
  dirty.push_back(INFINITY);
  dirty.push_back(-INFINITY);
  for (Method m : kAll) {
    auto clean = makeObserver(m), withBad = makeObserver(m);
    clean->observe(tensorOf(data));
    withBad->observe(tensorOf(dirty));
    EXPECT_EQ(withBad->range(), clean->range()) << methodName(m);
    EXPECT_EQ(withBad->nonFiniteCount(), 3);
    EXPECT_EQ(withBad->count(), 5000);
  }
  auto only = makeObserver(Method::Entropy);
  only->observe(tensorOf({NAN, NAN}));
  EXPECT_EQ(only->range(), Range{});
  EXPECT_EQ(only->count(), 0);
}

TEST(Observers, ParseMethodListsTheChoices) {
  EXPECT_EQ(parseMethod("entropy"), Method::Entropy);
  for (Method m : kAll)
    EXPECT_EQ(parseMethod(methodName(m)), m);
  try {
    parseMethod("kl");
    FAIL();
  } catch (const rt::Error &e) {
    EXPECT_STREQ(e.what(), "calibration method 'kl' is not one of: minmax, percentile, entropy, mse");
  }
}

TEST(Observers, RejectsBadOptionsAndDtypes) {
  ObserverOptions o;
  o.percentile = 40;
  EXPECT_THROW(makeObserver(Method::Percentile, o), rt::Error);
  o = {};
  o.numBins = 1000; // not a power of two
  EXPECT_THROW(makeObserver(Method::Entropy, o), rt::Error);
  auto obs = makeObserver(Method::MinMax);
  EXPECT_THROW(obs->observe(rt::Tensor(rt::DType::I32, {3})), rt::Error);
}

TEST(Histogram, GrowsByExactMergesAndStaysBounded) {
  Histogram h;
  std::vector<float> a = {0.1f, -0.2f, 0.3f}, b = {3.5f, -0.05f};
  h.add(a.data(), 3);
  EXPECT_EQ(h.halfRange(), 0.5); // smallest power of two > 0.3
  h.add(b.data(), 2);
  EXPECT_EQ(h.halfRange(), 4.0);
  EXPECT_EQ(h.total(), 5u);
  uint64_t sum = 0;
  for (uint64_t c : h.bins())
    sum += c;
  EXPECT_EQ(sum, 5u);
  // Same as adding everything at once at R = 4.
  Histogram direct;
  std::vector<float> all = {0.1f, -0.2f, 0.3f, 3.5f, -0.05f};
  direct.add(all.data(), 5);
  EXPECT_EQ(direct.bins(), h.bins());
  // Memory: the bin count never changes, whatever is added.
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0, 1);
  for (int batch = 0; batch < 200; ++batch) {
    std::vector<float> v(1000);
    for (auto &x : v)
      x = d(rng) * static_cast<float>(1 + batch);
    h.add(v.data(), 1000);
    ASSERT_EQ(h.bins().size(), static_cast<size_t>(Histogram::kDefaultBins));
  }
  EXPECT_EQ(h.total(), 200005u);
}

TEST(Histogram, BinsMatchANaiveCountAndMergeIsExact) {
  auto data = gaussian(20000, 2.0f, 4);
  Histogram h(1024);
  h.add(data.data(), static_cast<int64_t>(data.size()));
  std::vector<uint64_t> naive(1024, 0);
  for (float x : data) {
    int b = static_cast<int>(std::floor((x + h.halfRange()) / h.binWidth()));
    ++naive[static_cast<size_t>(b)];
  }
  EXPECT_EQ(h.bins(), naive);
  Histogram left(1024), right(1024);
  left.add(data.data(), 7000);
  right.add(data.data() + 7000, 13000);
  right.merge(left);
  EXPECT_EQ(right.bins(), h.bins());
  EXPECT_EQ(right.halfRange(), h.halfRange());
  // |x| folding.
  auto abs = h.absoluteBins();
  std::vector<uint64_t> naiveAbs(512, 0);
  for (float x : data) {
    double a = std::fabs(static_cast<double>(x));
    size_t b = static_cast<size_t>(std::floor(a / h.binWidth()));
    if (x < 0 && std::floor(a / h.binWidth()) == a / h.binWidth() && a != 0)
      --b; // -k*w lies in the negative bin [-(k)w, -(k-1)w): folded to |x| bin k-1
    ++naiveAbs[b];
  }
  EXPECT_EQ(abs, naiveAbs);
}

TEST(Observers, IndependentOfBatchingAndBatchOrder) {
  auto data = gaussian(30000, 1.0f, 9);
  data[29999] = 9.0f; // the largest value arrives last
  for (Method m : kAll) {
    auto whole = makeObserver(m), split = makeObserver(m), reversed = makeObserver(m);
    whole->observe(tensorOf(data));
    observeInBatches(*split, data, 1000);
    for (size_t i = data.size(); i > 0; i -= 3000)
      reversed->observe(tensorOf(std::vector<float>(data.begin() + static_cast<std::ptrdiff_t>(i - 3000),
                                                    data.begin() + static_cast<std::ptrdiff_t>(i))));
    EXPECT_EQ(whole->range(), split->range()) << methodName(m);
    EXPECT_EQ(whole->range(), reversed->range()) << methodName(m);
    if (m != Method::MinMax) {
      EXPECT_EQ(whole->histogram()->bins(), reversed->histogram()->bins());
    }
  }
}

TEST(Observers, PercentileAbsMatchesSortedMagnitudesWithinABin) {
  auto data = gaussian(200000, 1.0f, 7, 0.3f);
  ObserverOptions opts;
  opts.percentile = 99.9;
  auto o = makeObserver(Method::Percentile, opts);
  observeInBatches(*o, data, 10000);
  std::vector<float> mags(data.size());
  std::transform(data.begin(), data.end(), mags.begin(), [](float x) { return std::fabs(x); });
  std::sort(mags.begin(), mags.end());
  size_t keep = static_cast<size_t>(std::ceil(data.size() * 0.999));
  float t = mags[keep - 1];
  double w = o->histogram()->binWidth();
  Range r = o->range();
  float mn = *std::min_element(data.begin(), data.end());
  EXPECT_GE(r.max, t); // outer bin edge: never narrower
  EXPECT_LE(r.max, t + w);
  EXPECT_EQ(r.min, std::max(mn, -r.max));
}

TEST(Observers, PercentileTailsMatchesSortedQuantilesWithinABin) {
  auto data = gaussian(200000, 1.0f, 8, 1.0f);
  ObserverOptions opts;
  opts.percentile = 99.0;
  opts.percentileMode = PercentileMode::Tails;
  auto o = makeObserver(Method::Percentile, opts);
  observeInBatches(*o, data, 7777);
  std::vector<float> sorted = data;
  std::sort(sorted.begin(), sorted.end());
  size_t cut = static_cast<size_t>(data.size() * 0.005); // (100 - 99) / 2 % per tail
  double w = o->histogram()->binWidth();
  Range r = o->range();
  EXPECT_LE(r.min, sorted[cut]);
  EXPECT_GE(r.min, sorted[cut] - w);
  EXPECT_GE(r.max, sorted[sorted.size() - 1 - cut]);
  EXPECT_LE(r.max, sorted[sorted.size() - 1 - cut] + w);
}

TEST(Observers, EntropyPicksTheBruteForceMinimumOfKl) {
  auto data = gaussian(100000, 1.0f, 3);
  data[0] = 40.0f; // one far outlier
  auto o = makeObserver(Method::Entropy);
  o->observe(tensorOf(data));
  const Histogram &h = *o->histogram();
  auto abs = h.absoluteBins();
  // Brute force over every candidate bin count.
  int lastUsed = 0;
  for (int i = 0; i < static_cast<int>(abs.size()); ++i)
    if (abs[static_cast<size_t>(i)])
      lastUsed = i + 1;
  double best = INFINITY;
  int bestI = -1;
  for (int i = 128; i <= lastUsed; ++i) {
    double kl = entropyDivergence(abs, i, 128);
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  ASSERT_GT(bestI, 0);
  Range r = o->range();
  EXPECT_FLOAT_EQ(r.max, static_cast<float>(bestI * h.binWidth()));
  EXPECT_GT(r.max, 2.0f);  // keeps more than two sigma
  EXPECT_LT(r.max, 20.0f); // and drops the outlier
  EXPECT_LT(r.min, -2.0f);
}

TEST(Observers, EntropyDivergenceMatchesAHandComputedCase) {
  // 4 bins quantized to 2 levels, no clipping: P = [1, 3, 0, 4].
  // Groups {0,1}: mass 4 over 2 non-zero bins -> 2, 2; {2,3}: mass 4 over 1 -> 0, 4.
  // Smoothing (eps 1e-4, one zero bin, three non-zero):
  //   p = [1-e/3, 3-e/3, e, 4-e/3], q = [2-e/3, 2-e/3, e, 4-e/3], then normalized.
  std::vector<uint64_t> abs = {1, 3, 0, 4};
  double e = 1e-4, t = e / 3;
  std::vector<double> p = {1 - t, 3 - t, e, 4 - t}, q = {2 - t, 2 - t, e, 4 - t};
  double sp = 0, sq = 0, kl = 0;
  for (int i = 0; i < 4; ++i) {
    sp += p[i];
    sq += q[i];
  }
  for (int i = 0; i < 4; ++i)
    kl += p[i] / sp * std::log((p[i] / sp) / (q[i] / sq));
  EXPECT_NEAR(entropyDivergence(abs, 4, 2), kl, 1e-12);
  // Clipping to 2 bins folds the tail into the last kept bin of P only.
  EXPECT_GT(entropyDivergence(abs, 2, 2), 0.0);
  EXPECT_TRUE(std::isinf(entropyDivergence(abs, 1, 2))); // fewer bins than levels
}

TEST(Observers, MseIsTheBruteForceOptimumOfItsModelAndNearTheTrueOne) {
  auto data = gaussian(300000, 1.0f, 11);
  data[123] = 30.0f;
  auto o = makeObserver(Method::Mse);
  o->observe(tensorOf(data));
  const Histogram &h = *o->histogram();
  float mn = o->observedMin(), mx = o->observedMax();
  // Brute force of the same model over every bin edge.
  double best = INFINITY, bestT = 0;
  for (int i = 1; i <= h.numBins() / 2; ++i) {
    double t = i * h.binWidth();
    double lo = std::max<double>(mn, -t), hi = std::min<double>(mx, t);
    double err = expectedQuantError(h, lo, hi, false, mn, mx);
    if (err < best) {
      best = err;
      bestT = t;
    }
  }
  Range r = o->range();
  EXPECT_FLOAT_EQ(r.max, std::min(mx, static_cast<float>(bestT)));
  // The model's optimum is near the true optimum of quantizing the raw data.
  double trueBest = INFINITY;
  for (double t = 0.5; t < 30; t += 0.05)
    trueBest = std::min(trueBest, quantMse(data, std::max<double>(mn, -t), std::min<double>(mx, t)));
  double got = quantMse(data, r.min, r.max);
  EXPECT_LT(r.max, mx);
  EXPECT_LT(got, quantMse(data, mn, mx)); // better than not clipping
  EXPECT_LT(got, trueBest * 1.05);
}

TEST(Observers, MseSymmetricModelsTheInt8Grid) {
  auto data = gaussian(50000, 1.0f, 12);
  ObserverOptions opts;
  opts.mseSymmetric = true;
  auto o = makeObserver(Method::Mse, opts);
  o->observe(tensorOf(data));
  Range r = o->range();
  // Brute force on the raw data with real int8 symmetric rounding.
  auto symMse = [&](double a) {
    double s = a / 127, err = 0;
    for (float x : data) {
      double q = std::clamp(std::nearbyint(x / s), -127.0, 127.0);
      err += (q * s - x) * (q * s - x);
    }
    return err / static_cast<double>(data.size());
  };
  double trueBest = INFINITY;
  for (double a = 1.0; a < 6; a += 0.02)
    trueBest = std::min(trueBest, symMse(a));
  EXPECT_LT(symMse(std::max(std::fabs(r.min), std::fabs(r.max))), trueBest * 1.05);
}

TEST(Observers, ReluOutputsKeepAZeroLowerBound) {
  auto data = gaussian(20000, 1.0f, 5);
  for (auto &x : data)
    x = std::max(x, 0.0f);
  for (Method m : kAll) {
    auto o = makeObserver(m);
    o->observe(tensorOf(data));
    EXPECT_EQ(o->range().min, 0.0f) << methodName(m);
    EXPECT_GT(o->range().max, 1.0f) << methodName(m);
  }
}

TEST(Observers, ConstantAndEmptyInputsGiveFiniteOrderedRanges) {
  for (Method m : kAll) {
    auto o = makeObserver(m);
    EXPECT_EQ(o->range(), Range{}); // nothing seen yet
    o->observe(tensorOf(std::vector<float>(100, 0.0f)));
    EXPECT_EQ(o->range(), Range{}) << methodName(m);
    for (float c : {2.5f, -7.0f, 1e-30f}) {
      auto k = makeObserver(m);
      k->observe(tensorOf(std::vector<float>(100, c)));
      EXPECT_EQ(k->range(), (Range{c, c})) << methodName(m) << " " << c;
    }
    auto positive = makeObserver(m); // all values far from 0: range must not be empty
    positive->observe(tensorOf({5.0f, 5.5f, 6.0f, 9.0f}));
    EXPECT_LE(positive->range().min, positive->range().max);
    EXPECT_GE(positive->range().min, 5.0f);
  }
}

TEST(Observers, ComputeRangeReproducesTheObserver) {
  auto data = gaussian(10000, 1.0f, 21);
  ObserverOptions opts;
  opts.percentile = 99.5;
  for (Method m : kAll) {
    auto o = makeObserver(m, opts);
    o->observe(tensorOf(data));
    EXPECT_EQ(computeRange(m, opts, o->histogram(), o->observedMin(), o->observedMax()), o->range());
  }
}
