//===- MseObserver.cpp - the threshold with the least quantization MSE ----===//
//
// The expected squared error of quantizing the histogram over a range, with
// each bin's values at its centre (clamped to the observed [min, max]):
//   inside the grid's clip bounds: step^2 / 12 (uniform rounding error);
//   outside: the squared distance to the nearest bound (clipping error).
// uint8 asymmetric: bounds [min(lo,0), max(hi,0)], step = (hi'-lo')/255.
// int8 symmetric:   bounds [-a, a], a = max(|lo|,|hi|), step = a/127.
// Candidates are every |x| bin edge t = i*w up to the last non-empty bin;
// the smallest error wins (the first on ties). O(bins * non-empty bins).
//
//===----------------------------------------------------------------------===//
#include "calibrate/Observer.h"
#include "calibrate/ThresholdSearch.h"

#include <limits>

namespace ds::calib {

namespace {
struct Mass {
  double x, count;
};

std::vector<Mass> binMasses(const Histogram &h, float min, float max) {
  std::vector<Mass> masses;
  double w = h.binWidth();
  for (int b = 0; b < h.numBins(); ++b)
    if (uint64_t c = h.bins()[static_cast<size_t>(b)])
      masses.push_back({std::clamp(h.binLow(b) + 0.5 * w, static_cast<double>(min),
                                   static_cast<double>(max)),
                        static_cast<double>(c)});
  return masses;
}

double errorOf(const std::vector<Mass> &masses, double total, double lo, double hi,
               bool symmetric) {
  double clipLo, clipHi, step;
  if (symmetric) {
    double a = std::max(std::fabs(lo), std::fabs(hi));
    clipLo = -a;
    clipHi = a;
    step = a / 127.0;
  } else {
    clipLo = std::min(lo, 0.0);
    clipHi = std::max(hi, 0.0);
    step = (clipHi - clipLo) / 255.0;
  }
  double inside = step * step / 12.0, err = 0;
  for (const Mass &m : masses) {
    double d = m.x < clipLo ? clipLo - m.x : m.x > clipHi ? m.x - clipHi : 0.0;
    err += m.count * (d != 0 ? d * d : inside);
  }
  return err / total;
}
} // namespace

double expectedQuantError(const Histogram &h, double lo, double hi, bool symmetric, float min,
                          float max) {
  if (h.total() == 0)
    return 0;
  return errorOf(binMasses(h, min, max), static_cast<double>(h.total()), lo, hi, symmetric);
}

Range mseRange(const Histogram &h, bool symmetric, float min, float max) {
  if (h.total() == 0)
    return {};
  std::vector<Mass> masses = binMasses(h, min, max);
  double total = static_cast<double>(h.total());
  double w = h.binWidth();
  double floor = detail::thresholdFloor(min, max);
  int used = detail::usedBins(h.absoluteBins());
  int first = detail::firstCandidate(floor, w, 1);
  double bestErr = std::numeric_limits<double>::infinity(), best = std::max(used * w, floor);
  for (int i = first; i <= used; ++i) {
    Range r = detail::clipToThreshold(i * w, min, max);
    double err = errorOf(masses, total, r.min, r.max, symmetric);
    if (err < bestErr) {
      bestErr = err;
      best = i * w;
    }
  }
  return detail::clipToThreshold(std::max(best, floor), min, max);
}

} // namespace ds::calib
