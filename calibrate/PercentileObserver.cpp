//===- PercentileObserver.cpp - keep p% of the values ---------------------===//
//
// Works on whole histogram bins and returns the outer edge of the bin where
// the cut falls, so the range is at most one bin width wider than the exact
// quantiles of the data (never narrower), then clamps to the observed range.
//
//===----------------------------------------------------------------------===//
#include "calibrate/Observer.h"
#include "calibrate/ThresholdSearch.h"

namespace ds::calib {

Range percentileRange(const Histogram &h, double percentile, PercentileMode mode, float min,
                      float max) {
  if (h.total() == 0)
    return {};
  double total = static_cast<double>(h.total());
  double w = h.binWidth();
  if (mode == PercentileMode::Abs) {
    // t: upper edge of the first |x| bin after which at most `cut` values remain.
    double keep = total - total * (100.0 - percentile) / 100.0;
    std::vector<uint64_t> abs = h.absoluteBins();
    double acc = 0, t = static_cast<double>(abs.size()) * w;
    for (size_t i = 0; i < abs.size(); ++i) {
      acc += static_cast<double>(abs[i]);
      if (acc >= keep) {
        t = static_cast<double>(i + 1) * w;
        break;
      }
    }
    return detail::clipToThreshold(std::max(t, detail::thresholdFloor(min, max)), min, max);
  }
  // Tails: at most cutEach values below lo and at most cutEach above hi.
  double cutEach = total * (100.0 - percentile) / 200.0;
  const std::vector<uint64_t> &bins = h.bins();
  int n = h.numBins();
  double lo = min, hi = max, acc = 0;
  for (int i = 0; i < n; ++i) {
    acc += static_cast<double>(bins[static_cast<size_t>(i)]);
    if (acc > cutEach) {
      lo = h.binLow(i);
      break;
    }
  }
  acc = 0;
  for (int i = n - 1; i >= 0; --i) {
    acc += static_cast<double>(bins[static_cast<size_t>(i)]);
    if (acc > cutEach) {
      hi = h.binLow(i) + w;
      break;
    }
  }
  Range r{std::max(min, static_cast<float>(lo)), std::min(max, static_cast<float>(hi))};
  if (r.min > r.max) // only with all values in one bin: keep the exact extremes
    r = {min, max};
  return r;
}

} // namespace ds::calib
