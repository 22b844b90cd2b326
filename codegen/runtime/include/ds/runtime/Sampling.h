//===- Sampling.h - next-token choice from logits -------------------------===//
//
// Greedy (temperature 0), or temperature / top-k / top-p (nucleus) sampling
// as llama.cpp and Hugging Face apply them: temperature first, then the k
// most likely tokens, then the smallest prefix of those whose probability
// reaches p, renormalized. The random stream is a SplitMix64 of the seed with
// the draw made from its top 53 bits, so the same seed gives the same tokens
// on every platform and standard library (std::uniform_real_distribution does
// not promise that).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace ds::rt {

struct SamplingOptions {
  float temperature = 0.0f; // 0: greedy (argmax, first index on ties)
  int64_t topK = 0;         // 0: all tokens
  float topP = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
public:
  /// Throws rt::Error for a negative temperature, top-k or a top-p outside (0, 1].
  explicit Sampler(const SamplingOptions &options);
  /// The next token from `vocab` float logits. Non-finite logits never win.
  int64_t next(const float *logits, int64_t vocab);

private:
  double uniform(); // [0, 1)
  SamplingOptions options_;
  uint64_t state_;
  std::vector<std::pair<float, int64_t>> candidates_; // reused across calls
};

} // namespace ds::rt
