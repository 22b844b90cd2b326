//===- Observer.cpp - method names, the shared scan, the factory ----------===//
#include "calibrate/Observer.h"

#include <cmath>
#include <limits>

namespace ds::calib {

Method parseMethod(const std::string &name) {
  if (name == "minmax") return Method::MinMax;
  if (name == "percentile") return Method::Percentile;
  if (name == "entropy") return Method::Entropy;
  if (name == "mse") return Method::Mse;
  throw rt::Error("calibration method '" + name +
                  "' is not one of: minmax, percentile, entropy, mse");
}

const char *methodName(Method method) {
  switch (method) {
  case Method::MinMax: return "minmax";
  case Method::Percentile: return "percentile";
  case Method::Entropy: return "entropy";
  case Method::Mse: return "mse";
  }
  return "?";
}

PercentileMode parsePercentileMode(const std::string &name) {
  if (name == "abs") return PercentileMode::Abs;
  if (name == "tails") return PercentileMode::Tails;
  throw rt::Error("percentile mode '" + name + "' is not one of: abs, tails");
}

const char *percentileModeName(PercentileMode mode) {
  return mode == PercentileMode::Abs ? "abs" : "tails";
}

void validateOptions(const ObserverOptions &o) {
  DS_CHECK(o.percentile > 50 && o.percentile <= 100,
           "percentile must be in (50, 100], got " + std::to_string(o.percentile));
  Histogram::checkBinCount(o.numBins);
  DS_CHECK(o.entropyLevels >= 2 && o.entropyLevels <= o.numBins / 2,
           "entropy levels must be in [2, " + std::to_string(o.numBins / 2) + "], got " +
               std::to_string(o.entropyLevels));
}

bool Observer::scan(const rt::Tensor &values, std::vector<float> &finite) {
  DS_CHECK(values.dtype() == rt::DType::F32,
           std::string("observers take float tensors, got ") + rt::dtypeName(values.dtype()));
  const float *v = values.data<float>();
  int64_t n = values.numel();
  float lo = count_ ? min_ : std::numeric_limits<float>::infinity();
  float hi = count_ ? max_ : -std::numeric_limits<float>::infinity();
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) {
      ++bad;
      continue;
    }
    lo = std::min(lo, v[i]);
    hi = std::max(hi, v[i]);
  }
  if (bad) {
    finite.clear();
    finite.reserve(static_cast<size_t>(n - bad));
    for (int64_t i = 0; i < n; ++i)
      if (std::isfinite(v[i]))
        finite.push_back(v[i]);
  }
  nonFinite_ += bad;
  count_ += n - bad;
  if (count_) {
    min_ = lo;
    max_ = hi;
  }
  return bad != 0;
}

Range computeRange(Method method, const ObserverOptions &o, const Histogram *h, float min,
                   float max) {
  if (method == Method::MinMax)
    return {min, max};
  DS_CHECK(h, std::string(methodName(method)) + " needs a histogram");
  if (h->total() == 0)
    return {};
  switch (method) {
  case Method::Percentile: return percentileRange(*h, o.percentile, o.percentileMode, min, max);
  case Method::Entropy: return entropyRange(*h, o.entropyLevels, min, max);
  case Method::Mse: return mseRange(*h, o.mseSymmetric, min, max);
  default: return {min, max};
  }
}

namespace {

class MinMaxObserver final : public Observer {
public:
  MinMaxObserver() : Observer(Method::MinMax) {}
  void observe(const rt::Tensor &values) override {
    std::vector<float> unused;
    scan(values, unused);
  }
  Range range() const override { return {observedMin(), observedMax()}; }
};

class HistogramObserver final : public Observer {
public:
  HistogramObserver(Method method, const ObserverOptions &options)
      : Observer(method), options_(options), histogram_(options.numBins) {}
  void observe(const rt::Tensor &values) override {
    std::vector<float> finite;
    if (scan(values, finite))
      histogram_.add(finite.data(), static_cast<int64_t>(finite.size()));
    else
      histogram_.add(values.data<float>(), values.numel());
  }
  Range range() const override {
    return count_ ? computeRange(method_, options_, &histogram_, min_, max_) : Range{};
  }
  const Histogram *histogram() const override { return &histogram_; }

private:
  ObserverOptions options_;
  Histogram histogram_;
};

} // namespace

std::unique_ptr<Observer> makeObserver(Method method, const ObserverOptions &options) {
  validateOptions(options);
  if (method == Method::MinMax)
    return std::make_unique<MinMaxObserver>();
  return std::make_unique<HistogramObserver>(method, options);
}

} // namespace ds::calib
