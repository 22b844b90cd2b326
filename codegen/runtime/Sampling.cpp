//===- Sampling.cpp - greedy and temperature/top-k/top-p sampling ---------===//
#include "ds/runtime/Sampling.h"

#include "ds/runtime/Tensor.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ds::rt {

Sampler::Sampler(const SamplingOptions &options) : options_(options), state_(options.seed) {
  DS_CHECK(std::isfinite(options.temperature) && options.temperature >= 0.0f,
           "temperature must be a finite number >= 0 (0 is greedy)");
  DS_CHECK(options.topK >= 0, "top-k must be >= 0 (0 keeps every token)");
  DS_CHECK(std::isfinite(options.topP) && options.topP > 0.0f && options.topP <= 1.0f,
           "top-p must be in (0, 1]");
}

double Sampler::uniform() {
  // SplitMix64 (Steele, Lea, Flood 2014): a full-period 64-bit stream.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

int64_t Sampler::next(const float *logits, int64_t vocab) {
  DS_CHECK(vocab > 0, "the logits have no tokens to choose from");
  int64_t best = -1;
  for (int64_t i = 0; i < vocab; ++i)
    if (std::isfinite(logits[i]) && (best < 0 || logits[i] > logits[best]))
      best = i;
  DS_CHECK(best >= 0, "every logit is NaN or infinite: the model produced no usable scores");
  if (options_.temperature == 0.0f)
    return best;
  // Probabilities of the finite logits at the temperature, most likely first.
  candidates_.clear();
  for (int64_t i = 0; i < vocab; ++i)
    if (std::isfinite(logits[i]))
      candidates_.push_back({logits[i], i});
  auto byLikelihood = [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t keep = candidates_.size();
  if (options_.topK > 0 && static_cast<size_t>(options_.topK) < keep) {
    keep = static_cast<size_t>(options_.topK);
    std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                      candidates_.end(), byLikelihood);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), byLikelihood);
  }
  candidates_.resize(keep);
  const double top = candidates_.front().first;
  std::vector<double> weights(keep);
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i)
    sum += weights[i] = std::exp((candidates_[i].first - top) / options_.temperature);
  if (options_.topP < 1.0f) {
    double mass = 0.0;
    size_t cut = 0;
    while (cut < keep && mass < options_.topP * sum)
      mass += weights[cut++];
    keep = std::max<size_t>(cut, 1);
    sum = 0.0;
    for (size_t i = 0; i < keep; ++i)
      sum += weights[i];
  }
  double target = uniform() * sum;
  for (size_t i = 0; i < keep; ++i) {
    target -= weights[i];
    if (target < 0.0)
      return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

} // namespace ds::rt
