//===- Generation.h - prefill + decode loop over a decoder LM graph -------===//
//
// Text generation over any step function (the artifact's Program, or the
// reference executor) of a decoder graph as exporters write them:
//
//   - decoder-with-past (Optimum, onnxruntime-genai, our llama2.c converter's
//     decode.onnx): token ids in; logits and the new KV cache out; the cache
//     goes back in as `past_*` on the next step (named past_key_values.N.key ->
//     present.N.key, past_key_N -> present_key_N, past.* -> present.*), from
//     an empty cache ([1, heads, 0, head_dim]) on the first;
//   - a graph without a cache (a prefill graph): the whole sequence each step.
//
// attention_mask (all ones over past + new tokens) and position_ids (the
// tokens' positions) are filled in when the graph has them. The prompt goes
// in one run when the token input's sequence dim is dynamic, one token per
// run when it is fixed at 1. Batch 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Program.h"
#include "ds/runtime/Sampling.h"

#include <functional>
#include <optional>
#include <set>
#include <vector>

namespace ds::rt {

/// Which graph inputs and outputs play which part; found by name and shape.
struct GenerationSignature {
  struct Cache {
    size_t input = 0, output = 0;
    int64_t seqAxis = 0;           // the axis the cache grows along
    std::vector<int64_t> emptyDims; // batch 1, seqAxis 0
    DType dtype = DType::F32;
  };
  size_t tokens = 0;
  std::optional<size_t> attentionMask, positions;
  size_t logits = 0;
  std::vector<Cache> cache;
  bool oneTokenPerRun = false; // the token input is [batch, 1]

  /// Throws rt::Error naming the input or output that has no place in generation.
  static GenerationSignature find(const std::vector<ValueSpec> &inputs,
                                  const std::vector<ValueSpec> &outputs);
};

struct GenerationOptions {
  int64_t maxNewTokens = 0;
  SamplingOptions sampling;
  std::set<int64_t> stopTokens; // generation ends after one of these
};

struct GenerationStats {
  int64_t promptTokens = 0, generatedTokens = 0;
  double prefillSeconds = 0, decodeSeconds = 0; // the first token counts as prefill
};

using StepFn = std::function<std::vector<Tensor>(std::vector<Tensor> &inputs)>;
/// Called with each new token; returns false to stop.
using TokenFn = std::function<bool(int64_t token)>;

class Generator {
public:
  Generator(StepFn step, const std::vector<ValueSpec> &inputs, const std::vector<ValueSpec> &outputs);

  const GenerationSignature &signature() const { return sig_; }
  /// The vocabulary size (the logits' last dim), or -1 when the graph leaves it dynamic.
  int64_t vocabSize() const { return vocab_; }

  /// Generates up to options.maxNewTokens tokens after `prompt` (at least one
  /// token); returns them. Throws rt::Error (or what `step` throws).
  std::vector<int64_t> generate(const std::vector<int64_t> &prompt, const GenerationOptions &options,
                                const TokenFn &onToken = {}, GenerationStats *stats = nullptr);

private:
  /// Runs `tokens` at positions pos.. with the cache in `inputs_`; returns the
  /// last position's logits.
  const float *run(const int64_t *tokens, int64_t count, int64_t pos, int64_t &vocab);

  StepFn step_;
  GenerationSignature sig_;
  size_t numInputs_;
  DType tokenType_ = DType::I64;
  int64_t vocab_ = -1;
  std::vector<Tensor> inputs_, outputs_;
  std::vector<float> lastRow_; // half-precision logits, widened
};

} // namespace ds::rt
