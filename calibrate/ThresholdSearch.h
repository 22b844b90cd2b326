//===- ThresholdSearch.h - helpers shared by the |x|-threshold methods ----===//
//
// Internal to calibrate/: entropy and MSE both search a threshold t over the
// |x| histogram and clip to [max(min,-t), min(max,t)].
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/Observer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace ds::calib::detail {

/// The clipping range of threshold t over the observed [min, max].
inline Range clipToThreshold(double t, float min, float max) {
  float tf = static_cast<float>(t);
  return {std::max(min, -tf), std::min(max, tf)};
}

/// The smallest t for which clipToThreshold is non-empty: max(0, min, -max).
inline double thresholdFloor(float min, float max) {
  return std::max({0.0, static_cast<double>(min), -static_cast<double>(max)});
}

/// One past the last non-empty |x| bin (0 when all are empty).
inline int usedBins(const std::vector<uint64_t> &absBins) {
  int n = static_cast<int>(absBins.size());
  while (n > 0 && absBins[static_cast<size_t>(n - 1)] == 0)
    --n;
  return n;
}

/// The first bin count i with i*w >= floor (at least `atLeast`).
inline int firstCandidate(double floor, double w, int atLeast) {
  int i = static_cast<int>(std::ceil(floor / w));
  return std::max(i, atLeast);
}

} // namespace ds::calib::detail
