//===- NormalizationStats.h - mean and variance of contiguous runs --------===//
//
// Shared by the layer, instance, group and mean-variance normalization kernels:
// two-pass mean and (biased) variance in double with independent partial sums,
// so a long run is neither latency bound nor cancellation prone. The order of
// the sums depends on the run length only.
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstdint>

namespace ds::rt {

struct RunStats {
  double mean = 0;
  double variance = 0;
};

template <typename T> RunStats computeRunStats(const T *x, int64_t n) {
  constexpr int kLanes = 8;
  RunStats stats;
  if (n == 0)
    return stats;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      lanes[l] += static_cast<double>(x[i + l]);
  for (int l = 0; i < n; ++i, ++l)
    lanes[l] += static_cast<double>(x[i]);
  double sum = 0;
  for (int l = 0; l < kLanes; ++l)
    sum += lanes[l];
  stats.mean = sum / static_cast<double>(n);

  double sq[kLanes] = {};
  i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      double d = static_cast<double>(x[i + l]) - stats.mean;
      sq[l] += d * d;
    }
  for (int l = 0; i < n; ++i, ++l) {
    double d = static_cast<double>(x[i]) - stats.mean;
    sq[l] += d * d;
  }
  double total = 0;
  for (int l = 0; l < kLanes; ++l)
    total += sq[l];
  stats.variance = total / static_cast<double>(n);
  return stats;
}

} // namespace ds::rt
