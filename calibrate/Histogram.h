//===- Histogram.h - fixed-size histogram with exact, order-free growth ----===//
//
// The one piece of state behind the percentile, entropy and MSE observers
// (calibrate/Observer.h): a signed histogram of `numBins` equal bins over
// [-R, R). R is always a power of two (at least 2^-126), the smallest one with
// R > max|x| of everything added so far. Growing R by 2^k maps old bin j to new
// bin half + floor((j - half) / 2^k) exactly (the grids are nested), and a
// value's bin is floor(x * 2^e) + half with e an integer, computed exactly.
// Hence the counts are a function of the multiset of values alone: the same
// values give the same bits whatever the batching or the order of batches.
//
// Memory is fixed (numBins counters) however many values are added. The cost
// of the power-of-two grid: the data covers between half and all of the bins.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace ds::calib {

class Histogram {
public:
  static constexpr int kDefaultBins = 4096;

  /// `numBins`: a power of two in [256, 1 << 20]; throws rt::Error otherwise.
  explicit Histogram(int numBins = kDefaultBins);
  /// Throws rt::Error unless `numBins` is a valid bin count (see above).
  static void checkBinCount(int numBins);

  /// Adds finite values (throws rt::Error on NaN/Inf: observers filter them).
  void add(const float *values, int64_t n);
  /// Adds another histogram's counts (same numBins). Exact and commutative, so
  /// per-thread histograms merge deterministically.
  void merge(const Histogram &other);

  /// Rebuilds a histogram from stored counts (the calibration cache): `bins`
  /// has numBins entries; halfRange is 0 (nothing added) or a power of two.
  static Histogram fromCounts(double halfRange, std::vector<uint64_t> bins);

  int numBins() const { return static_cast<int>(bins_.size()); }
  /// R; 0 until the first value is added.
  double halfRange() const { return halfRange_; }
  double binWidth() const { return 2 * halfRange_ / numBins(); }
  /// Bin i covers [binLow(i), binLow(i) + binWidth()).
  double binLow(int i) const { return -halfRange_ + i * binWidth(); }
  const std::vector<uint64_t> &bins() const { return bins_; }
  uint64_t total() const { return total_; }

  /// The histogram of |x|: numBins/2 bins over [0, R), bin i = [i*w, (i+1)*w).
  std::vector<uint64_t> absoluteBins() const;

private:
  /// Makes R a power of two > absMax (never shrinks), merging bins exactly.
  void growTo(double absMax);
  std::vector<uint64_t> bins_;
  double halfRange_ = 0;
  uint64_t total_ = 0;
};

} // namespace ds::calib
