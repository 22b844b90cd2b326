//===- Histogram.cpp ------------------------------------------------------===//
#include "calibrate/Histogram.h"

#include "ds/runtime/Tensor.h"

#include <cmath>
#include <string>

namespace ds::calib {

namespace {
constexpr int kMinExponent = -126; // R >= 2^-126 (FLT_MIN): every float fits a grid
constexpr int kMaxExponent = 129;  // R <= 2^129 > FLT_MAX

bool isPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

/// The exponent e of the smallest power of two 2^e > absMax (clamped below).
int exponentAbove(double absMax) {
  int e;
  std::frexp(absMax, &e); // absMax = m * 2^e, m in [0.5, 1): 2^e > absMax
  if (absMax == 0)
    e = kMinExponent;
  return std::max(e, kMinExponent);
}

/// floor(a / 2^k) for a possibly negative a.
int64_t floorShift(int64_t a, int k) {
  if (k >= 62)
    return a < 0 ? -1 : 0;
  return a >= 0 ? (a >> k) : -((-a + (int64_t{1} << k) - 1) >> k);
}
} // namespace

void Histogram::checkBinCount(int numBins) {
  DS_CHECK(isPowerOfTwo(numBins) && numBins >= 256 && numBins <= (1 << 20),
           "histogram bin count must be a power of two in [256, 1048576], got " +
               std::to_string(numBins));
}

Histogram::Histogram(int numBins) {
  checkBinCount(numBins);
  bins_.assign(static_cast<size_t>(numBins), 0);
}

void Histogram::growTo(double absMax) {
  int e = exponentAbove(absMax);
  if (halfRange_ == 0) {
    halfRange_ = std::ldexp(1.0, e);
    return;
  }
  int current;
  std::frexp(halfRange_, &current);
  --current; // halfRange_ == 2^current exactly
  if (e <= current)
    return;
  int k = e - current;
  int64_t half = numBins() / 2;
  std::vector<uint64_t> merged(bins_.size(), 0);
  for (int64_t j = 0; j < numBins(); ++j)
    merged[static_cast<size_t>(half + floorShift(j - half, k))] += bins_[static_cast<size_t>(j)];
  bins_.swap(merged);
  halfRange_ = std::ldexp(1.0, e);
}

void Histogram::add(const float *values, int64_t n) {
  if (n <= 0)
    return;
  double absMax = 0;
  for (int64_t i = 0; i < n; ++i) {
    DS_CHECK(std::isfinite(values[i]), "histogram: non-finite value (filter NaN/Inf first)");
    absMax = std::max(absMax, std::fabs(static_cast<double>(values[i])));
  }
  growTo(absMax);
  // scale = numBins / (2R) is a power of two, so x * scale is exact in double.
  double scale = numBins() / (2 * halfRange_);
  int64_t half = numBins() / 2;
  for (int64_t i = 0; i < n; ++i) {
    int64_t b = static_cast<int64_t>(std::floor(static_cast<double>(values[i]) * scale)) + half;
    ++bins_[static_cast<size_t>(b)]; // |x| < R, so b is in [0, numBins)
  }
  total_ += static_cast<uint64_t>(n);
}

void Histogram::merge(const Histogram &other) {
  DS_CHECK(other.numBins() == numBins(), "histogram: merging " + std::to_string(other.numBins()) +
                                             " bins into " + std::to_string(numBins()));
  if (other.total_ == 0)
    return;
  Histogram aligned = other;
  double r = std::max(halfRange_, other.halfRange_);
  // growTo(x) picks the power of two above x; just below r keeps r itself.
  growTo(std::nextafter(r, 0.0));
  aligned.growTo(std::nextafter(r, 0.0));
  for (size_t i = 0; i < bins_.size(); ++i)
    bins_[i] += aligned.bins_[i];
  total_ += other.total_;
}

Histogram Histogram::fromCounts(double halfRange, std::vector<uint64_t> bins) {
  Histogram h(static_cast<int>(bins.size()));
  int e = 0;
  double m = std::frexp(halfRange, &e);
  DS_CHECK(halfRange == 0 || (std::isfinite(halfRange) && m == 0.5 && e - 1 >= kMinExponent &&
                              e - 1 <= kMaxExponent),
           "histogram half range must be 0 or a power of two in [2^-126, 2^129]");
  uint64_t total = 0;
  for (uint64_t c : bins)
    total += c;
  DS_CHECK(halfRange != 0 || total == 0, "histogram has counts but no range");
  h.bins_ = std::move(bins);
  h.halfRange_ = halfRange;
  h.total_ = total;
  return h;
}

std::vector<uint64_t> Histogram::absoluteBins() const {
  size_t half = bins_.size() / 2;
  std::vector<uint64_t> abs(half, 0);
  // Bin half+i is [i*w, (i+1)*w); bin half-1-i is [-(i+1)*w, -i*w): same |x| bin.
  for (size_t i = 0; i < half; ++i)
    abs[i] = bins_[half + i] + bins_[half - 1 - i];
  return abs;
}

} // namespace ds::calib
