//===- EntropyObserver.cpp - TensorRT's KL-divergence calibration ---------===//
//
// The algorithm of TensorRT's entropy calibrator (Migacz, "8-bit Inference
// with TensorRT", GTC 2017), as MXNet and ONNX Runtime implement it, over the
// histogram of |x|: for each candidate i (from `levels` up to the last
// non-empty bin),
//   P = the first i bins, the mass of the clipped bins folded into bin i-1;
//   Q = the first i bins (without the folded mass) merged into `levels`
//       groups of i/levels bins (the remainder joins the last group), each
//       group's mass spread evenly over the bins where P is non-zero;
//   both smoothed as MXNet/ORT do (eps = 1e-4 moved onto empty bins of the raw
//   counts), normalized, and KL(P||Q) = sum p log(p/q).
// The threshold is i*w for the i with the smallest KL (the first on ties).
// Where smoothing would make a count non-positive (ORT asserts there) the
// candidate is skipped. Cost: O(bins^2) per range() call, ~10 ms at 2048.
//
//===----------------------------------------------------------------------===//
#include "calibrate/Observer.h"
#include "calibrate/ThresholdSearch.h"

#include <limits>

namespace ds::calib {

namespace {
constexpr double kSmoothingEps = 1e-4;

/// Smooths raw counts in place and normalizes them; false when impossible.
bool smoothAndNormalize(std::vector<double> &v) {
  size_t zeros = 0;
  for (double x : v)
    zeros += x == 0;
  size_t nonZeros = v.size() - zeros;
  if (nonZeros == 0)
    return false;
  double take = kSmoothingEps * static_cast<double>(zeros) / static_cast<double>(nonZeros);
  double sum = 0;
  for (double &x : v) {
    x = x == 0 ? kSmoothingEps : x - take;
    if (x <= 0)
      return false;
    sum += x;
  }
  for (double &x : v)
    x /= sum;
  return true;
}
} // namespace

double entropyDivergence(const std::vector<uint64_t> &absBins, int bins, int levels) {
  const double inf = std::numeric_limits<double>::infinity();
  if (bins < levels || levels < 1 || bins > static_cast<int>(absBins.size()))
    return inf;
  size_t n = static_cast<size_t>(bins);
  std::vector<double> p(n), q(n, 0.0);
  for (size_t j = 0; j < n; ++j)
    p[j] = static_cast<double>(absBins[j]);
  for (size_t j = n; j < absBins.size(); ++j)
    p[n - 1] += static_cast<double>(absBins[j]);
  size_t merged = n / static_cast<size_t>(levels);
  for (int g = 0; g < levels; ++g) {
    size_t begin = static_cast<size_t>(g) * merged;
    size_t end = g == levels - 1 ? n : begin + merged;
    double mass = 0;
    size_t nonZero = 0;
    for (size_t j = begin; j < end; ++j) {
      mass += static_cast<double>(absBins[j]);
      nonZero += p[j] != 0;
    }
    if (nonZero == 0)
      continue;
    for (size_t j = begin; j < end; ++j)
      if (p[j] != 0)
        q[j] = mass / static_cast<double>(nonZero);
  }
  if (!smoothAndNormalize(p) || !smoothAndNormalize(q))
    return inf;
  double kl = 0;
  for (size_t j = 0; j < n; ++j)
    kl += p[j] * std::log(p[j] / q[j]);
  return kl;
}

Range entropyRange(const Histogram &h, int levels, float min, float max) {
  if (h.total() == 0)
    return {};
  std::vector<uint64_t> abs = h.absoluteBins();
  double w = h.binWidth();
  int used = detail::usedBins(abs);
  int first = detail::firstCandidate(detail::thresholdFloor(min, max), w, levels);
  double bestKl = std::numeric_limits<double>::infinity();
  int best = used; // no candidate (too few bins in use): keep everything
  for (int i = first; i <= used; ++i) {
    double kl = entropyDivergence(abs, i, levels);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  double t = std::max(best * w, detail::thresholdFloor(min, max));
  return detail::clipToThreshold(t, min, max);
}

} // namespace ds::calib
