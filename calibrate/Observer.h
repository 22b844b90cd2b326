//===- Observer.h - streaming activation-range observers ------------------===//
//
// Calibration (DESIGN §2 phase 5) feeds every activation a quantized layer
// reads into one observer, batch by batch, then asks it for the clipping range
// to quantize that activation over (quantizers/Int8Scheme.h turns the range
// into scale/zero point). Methods (one .cpp each):
//
//   minmax      the exact min and max seen (Observer.cpp)
//   percentile  p% of the values inside the range (PercentileObserver.cpp):
//               mode Abs (default, TensorRT / ORT symmetric): t = the p-th
//               percentile of |x|, range [max(min,-t), min(max,t)];
//               mode Tails (ORT asymmetric): cut (100-p)/2 % from each tail
//   entropy     TensorRT's KL calibration over the |x| histogram: the
//               threshold whose `entropyLevels`-level quantization is closest
//               in KL(P||Q) to the observed distribution (EntropyObserver.cpp)
//   mse         the |x| threshold minimising the expected quantization MSE of
//               the histogram (uint8 asymmetric grid, or int8 symmetric with
//               mseSymmetric) (MseObserver.cpp)
//
// Threshold methods clip to [max(min,-t), min(max,t)], so a ReLU output keeps
// its zero lower bound. Histogram methods keep a fixed-size calib::Histogram:
// memory does not grow with the number of samples, and because the histogram
// is exact (see Histogram.h) every method's result depends only on the
// multiset of values seen: the same for any batching and any batch order.
//
// NaN/Inf are excluded from the statistics and counted (nonFiniteCount());
// the caller applies its --calib-nan policy. Used by pipeline/Calibrate.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/Histogram.h"
#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>

namespace ds::calib {

/// A clipping range; finite and min <= max once anything was observed.
struct Range {
  float min = 0.0f, max = 0.0f;
  bool operator==(const Range &) const = default;
};

enum class Method { MinMax, Percentile, Entropy, Mse };

/// "minmax" | "percentile" | "entropy" | "mse"; throws rt::Error listing them.
Method parseMethod(const std::string &name);
const char *methodName(Method method);

enum class PercentileMode { Abs, Tails };
/// "abs" | "tails"; throws rt::Error listing them.
PercentileMode parsePercentileMode(const std::string &name);
const char *percentileModeName(PercentileMode mode);

struct ObserverOptions {
  double percentile = 99.99; // in (50, 100]; first, so `{p}` initializes it
  PercentileMode percentileMode = PercentileMode::Abs;
  int numBins = Histogram::kDefaultBins; // signed bins: numBins/2 bins of |x|
  int entropyLevels = 128;               // int8 magnitudes, as TensorRT
  bool mseSymmetric = false;             // MSE models int8 symmetric, not uint8 asymmetric
  bool operator==(const ObserverOptions &) const = default;
};

/// Throws rt::Error with one line naming the bad option.
void validateOptions(const ObserverOptions &options);

class Observer {
public:
  virtual ~Observer() = default;
  /// Float32 tensors only (throws rt::Error otherwise).
  virtual void observe(const rt::Tensor &values) = 0;
  /// The range to quantize over; {0, 0} before any finite value was seen.
  virtual Range range() const = 0;
  /// The histogram behind the range (null for minmax): what the cache stores.
  virtual const Histogram *histogram() const { return nullptr; }

  Method method() const { return method_; }
  /// Finite values seen / NaN and Inf values skipped.
  int64_t count() const { return count_; }
  int64_t nonFiniteCount() const { return nonFinite_; }
  /// Exact extremes of the finite values (0 when none).
  float observedMin() const { return count_ ? min_ : 0.0f; }
  float observedMax() const { return count_ ? max_ : 0.0f; }

protected:
  explicit Observer(Method method) : method_(method) {}
  /// Updates count/min/max; returns the finite values when some were not
  /// (`finite` untouched and false returned when all were finite).
  bool scan(const rt::Tensor &values, std::vector<float> &finite);

  Method method_;
  int64_t count_ = 0, nonFinite_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
};

std::unique_ptr<Observer> makeObserver(Method method, const ObserverOptions &options = {});

/// The methods' rules over a histogram and the exact observed [min, max]
/// (min <= max; the result always lies inside it). Exposed for the cache
/// (recompute with other options) and for tests.
Range percentileRange(const Histogram &h, double percentile, PercentileMode mode, float min,
                      float max);
Range entropyRange(const Histogram &h, int levels, float min, float max);
Range mseRange(const Histogram &h, bool symmetric, float min, float max);
/// Dispatches on `method`; `h` may be null only for minmax. {0,0} when h is empty.
Range computeRange(Method method, const ObserverOptions &options, const Histogram *h, float min,
                   float max);

/// The KL divergence TensorRT's calibration minimises for keeping the first
/// `bins` of `absBins` quantized to `levels` levels (+inf where undefined).
/// Exposed so tests can brute-force the search.
double entropyDivergence(const std::vector<uint64_t> &absBins, int bins, int levels);
/// The expected squared error per value of quantizing histogram `h` over
/// [lo, hi] (see MseObserver.cpp for the model). Exposed for tests.
double expectedQuantError(const Histogram &h, double lo, double hi, bool symmetric, float min,
                          float max);

} // namespace ds::calib
