//===- LlmBench.h - ds-benchmark --llm: prefill and decode tokens/s -------===//
//
// llama-bench's two numbers for a decoder LM: pp P (prompt processing: P
// tokens from an empty cache) and tg N (text generation: N tokens, one decode
// step each), as mean +- sd tokens/s over repetitions of the runtime's own
// generation loop (ds_model_generate for an artifact). With ONNX Runtime
// (bench/peers/ort_generate.py) the same loop runs on the same prompt, the two
// sides taking turns repetition by repetition, and the ratio is printed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/support/ModelRunner.h"

#include <string>

namespace ds::tools {

struct LlmBenchOptions {
  int64_t promptTokens = 128, newTokens = 64;
  int repetitions = 5;
  unsigned threads = 1;
  std::string ortModel, python, peerScript; // ortModel empty: ds side only
};

int runLlmBench(ModelRunner &runner, const LlmBenchOptions &options);

} // namespace ds::tools
