//===- RangeObservers.h - streaming activation-range observers ------------===//
//
// Calibration (DESIGN §2 phase 5) feeds every activation a quantized layer
// reads into one observer, batch by batch, and asks it for the range to
// quantize that activation over. Methods:
//
//   minmax      the exact min and max seen
//   percentile  clip each tail at (100 - p)% of the values (p = 99.99 keeps all
//               but 0.01% below the low end and 0.01% above the high end)
//   entropy     TensorRT's KL calibration: the |x| threshold t whose 128-level
//               quantized distribution is closest (KL) to the observed one
//   mse         the |x| threshold minimising the expected uint8 quantization
//               error (clipping error outside, step^2/12 inside)
//
// entropy and mse clip to [max(min, -t), min(max, t)], so a ReLU output keeps
// its zero lower bound. Histogram observers keep 4096 bins over [-R, R]; when
// a value exceeds R, R doubles and adjacent bins merge pairwise (exact), so
// memory is fixed and the result does not depend on how samples are batched
// once R has settled. NaN/Inf are not observed; they are counted.
//
// Plain C++ over rt::Tensor; used by pipeline/Calibrate.cpp.
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ds::calib {

struct Range {
  float min = 0.0f, max = 0.0f;
};

class Observer {
public:
  virtual ~Observer() = default;
  /// Float32 tensors only (throws rt::Error otherwise).
  virtual void observe(const rt::Tensor &values) = 0;
  /// The range to quantize over; {0, 0} before any finite value was seen.
  virtual Range range() const = 0;
  int64_t count() const { return count_; }
  int64_t nonFiniteCount() const { return nonFinite_; }

protected:
  int64_t count_ = 0, nonFinite_ = 0;
};

enum class Method { MinMax, Percentile, Entropy, Mse };

/// "minmax" | "percentile" | "entropy" | "mse"; throws rt::Error listing them.
Method parseMethod(const std::string &name);

struct ObserverOptions {
  double percentile = 99.99; // in (50, 100]
};

std::unique_ptr<Observer> makeObserver(Method method, const ObserverOptions &options = {});

/// The fixed-size signed histogram behind percentile/entropy/mse (exposed for tests).
class Histogram {
public:
  static constexpr int kBins = 4096;
  void add(const float *values, int64_t n); // finite values only
  double halfRange() const { return halfRange_; }
  const std::vector<double> &bins() const { return bins_; }
  double total() const { return total_; }
  /// Bin edges: bin i covers [-R + i*w, -R + (i+1)*w), w = 2R / kBins.
  double binWidth() const { return 2 * halfRange_ / kBins; }

private:
  void grow(double needed);
  std::vector<double> bins_;
  double halfRange_ = 0, total_ = 0;
};

/// The methods' threshold rules over a histogram (exposed for tests).
Range percentileRange(const Histogram &h, double percentile, float min, float max);
double entropyThreshold(const Histogram &h);
double mseThreshold(const Histogram &h, float min, float max);

} // namespace ds::calib
