//===- RangeObservers.cpp -------------------------------------------------===//
#include "calibrate/RangeObservers.h"

#include <algorithm>
#include <cmath>

namespace ds::calib {

Method parseMethod(const std::string &name) {
  if (name == "minmax") return Method::MinMax;
  if (name == "percentile") return Method::Percentile;
  if (name == "entropy") return Method::Entropy;
  if (name == "mse") return Method::Mse;
  throw rt::Error("calibration method '" + name + "' is not one of: minmax, percentile, entropy, mse");
}

void Histogram::grow(double needed) {
  if (bins_.empty()) {
    bins_.assign(kBins, 0.0);
    halfRange_ = needed > 0 ? needed : 1.0;
    return;
  }
  while (halfRange_ < needed) {
    // [-R, R] -> [-2R, 2R]: old bins 2k and 2k+1 land in new bin kBins/4 + k.
    std::vector<double> merged(kBins, 0.0);
    for (int i = 0; i < kBins; ++i)
      merged[kBins / 4 + i / 2] += bins_[i];
    bins_.swap(merged);
    halfRange_ *= 2;
  }
}

void Histogram::add(const float *values, int64_t n) {
  double absMax = 0;
  for (int64_t i = 0; i < n; ++i)
    absMax = std::max(absMax, std::fabs(static_cast<double>(values[i])));
  grow(absMax);
  double scale = kBins / (2 * halfRange_);
  for (int64_t i = 0; i < n; ++i) {
    int b = static_cast<int>(std::floor((values[i] + halfRange_) * scale));
    bins_[static_cast<size_t>(std::clamp(b, 0, kBins - 1))] += 1;
  }
  total_ += static_cast<double>(n);
}

Range percentileRange(const Histogram &h, double percentile, float min, float max) {
  if (h.total() == 0)
    return {min, max};
  double tail = h.total() * (100.0 - percentile) / 100.0;
  const auto &bins = h.bins();
  double w = h.binWidth(), lo = min, hi = max, acc = 0;
  for (int i = 0; i < Histogram::kBins; ++i) {
    acc += bins[static_cast<size_t>(i)];
    if (acc > tail) {
      lo = -h.halfRange() + i * w;
      break;
    }
  }
  acc = 0;
  for (int i = Histogram::kBins - 1; i >= 0; --i) {
    acc += bins[static_cast<size_t>(i)];
    if (acc > tail) {
      hi = -h.halfRange() + (i + 1) * w;
      break;
    }
  }
  return {static_cast<float>(std::max<double>(lo, min)), static_cast<float>(std::min<double>(hi, max))};
}

namespace {
/// |x| histogram: kBins/2 bins over [0, R].
std::vector<double> absoluteBins(const Histogram &h) {
  int half = Histogram::kBins / 2;
  std::vector<double> a(static_cast<size_t>(half), 0.0);
  for (int i = 0; i < half; ++i)
    a[static_cast<size_t>(i)] = h.bins()[static_cast<size_t>(half + i)] + h.bins()[static_cast<size_t>(half - 1 - i)];
  return a;
}

/// Normalizes `h` and moves a little mass (1e-4 each) onto its empty bins, as
/// ONNX Runtime's and MXNet's entropy calibrators do, so KL stays finite when Q
/// is empty where P is not. Returns false when `h` has no mass.
bool smoothDistribution(std::vector<double> &h) {
  constexpr double kEps = 1e-4;
  double sum = 0;
  size_t zeros = 0;
  for (double v : h) {
    sum += v;
    zeros += v == 0;
  }
  size_t nonZeros = h.size() - zeros;
  if (sum == 0 || nonZeros == 0)
    return false;
  double take = kEps * static_cast<double>(zeros) / static_cast<double>(nonZeros);
  for (double &v : h)
    v = v == 0 ? kEps : v / sum - take;
  return true;
}

double klDivergence(std::vector<double> p, std::vector<double> q) {
  if (!smoothDistribution(p) || !smoothDistribution(q))
    return INFINITY;
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] > 0 && q[i] > 0)
      kl += p[i] * std::log(p[i] / q[i]);
  return kl;
}
} // namespace

double entropyThreshold(const Histogram &h) {
  constexpr int kLevels = 128; // int8 magnitudes, as TensorRT
  std::vector<double> abs = absoluteBins(h);
  int n = static_cast<int>(abs.size());
  double w = h.binWidth();
  double bestKl = INFINITY;
  int best = n;
  for (int i = kLevels; i <= n; ++i) {
    // P: the first i bins, with the clipped tail folded into the last one.
    std::vector<double> p(abs.begin(), abs.begin() + i);
    for (int j = i; j < n; ++j)
      p.back() += abs[static_cast<size_t>(j)];
    // Q: the first i bins merged into kLevels levels, each level's mass spread
    // evenly over its non-empty bins.
    std::vector<double> q(static_cast<size_t>(i), 0.0);
    for (int level = 0; level < kLevels; ++level) {
      int begin = level * i / kLevels, end = (level + 1) * i / kLevels;
      double mass = 0;
      int nonEmpty = 0;
      for (int j = begin; j < end; ++j) {
        mass += abs[static_cast<size_t>(j)];
        nonEmpty += abs[static_cast<size_t>(j)] > 0;
      }
      for (int j = begin; j < end; ++j)
        if (abs[static_cast<size_t>(j)] > 0)
          q[static_cast<size_t>(j)] = mass / nonEmpty;
    }
    double kl = klDivergence(p, q);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best * w;
}

double mseThreshold(const Histogram &h, float min, float max) {
  std::vector<double> abs = absoluteBins(h);
  int n = static_cast<int>(abs.size());
  double w = h.binWidth();
  const auto &bins = h.bins();
  double bestErr = INFINITY, best = n * w;
  for (int i = 16; i <= n; i += 8) {
    double t = i * w;
    double lo = std::max<double>(min, -t), hi = std::min<double>(max, t);
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
    double step = (hi - lo) / 255.0;
    double err = 0;
    for (int b = 0; b < Histogram::kBins; ++b) {
      double c = bins[static_cast<size_t>(b)];
      if (c == 0)
        continue;
      double x = -h.halfRange() + (b + 0.5) * w;
      if (x < lo)
        err += c * (lo - x) * (lo - x);
      else if (x > hi)
        err += c * (x - hi) * (x - hi);
      else
        err += c * step * step / 12.0;
    }
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return best;
}

namespace {

class MinMaxObserver : public Observer {
public:
  void observe(const rt::Tensor &t) override {
    const float *v = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (!std::isfinite(v[i])) {
        ++nonFinite_;
        continue;
      }
      min_ = std::min(min_, v[i]);
      max_ = std::max(max_, v[i]);
      ++count_;
    }
  }
  Range range() const override { return count_ ? Range{min_, max_} : Range{}; }

protected:
  float min_ = INFINITY, max_ = -INFINITY;
};

class HistogramObserver : public MinMaxObserver {
public:
  HistogramObserver(Method method, const ObserverOptions &options)
      : method_(method), options_(options) {
    if (!(options.percentile > 50 && options.percentile <= 100))
      throw rt::Error("--percentile must be in (50, 100], got " + std::to_string(options.percentile));
  }
  void observe(const rt::Tensor &t) override {
    int64_t before = nonFinite_;
    MinMaxObserver::observe(t);
    const float *v = t.data<float>();
    if (nonFinite_ == before) {
      histogram_.add(v, t.numel());
      return;
    }
    std::vector<float> finite;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::isfinite(v[i]))
        finite.push_back(v[i]);
    histogram_.add(finite.data(), static_cast<int64_t>(finite.size()));
  }
  Range range() const override {
    if (!count_)
      return {};
    if (method_ == Method::Percentile)
      return percentileRange(histogram_, options_.percentile, min_, max_);
    double t = method_ == Method::Entropy ? entropyThreshold(histogram_)
                                          : mseThreshold(histogram_, min_, max_);
    return {static_cast<float>(std::max<double>(min_, -t)), static_cast<float>(std::min<double>(max_, t))};
  }

private:
  Method method_;
  ObserverOptions options_;
  Histogram histogram_;
};

} // namespace

std::unique_ptr<Observer> makeObserver(Method method, const ObserverOptions &options) {
  if (method == Method::MinMax)
    return std::make_unique<MinMaxObserver>();
  return std::make_unique<HistogramObserver>(method, options);
}

} // namespace ds::calib
