//===- GenerateCommand.h - ds-run --generate: tokens from a decoder LM ----===//
//
// The command-line side of generation (ds/runtime/Generation.h): parses the
// prompt and the sampling flags, runs the runner's generation loop (an
// artifact's own ds_model_generate, or the reference executor), and prints
//
//   tokens: 461 461 401 ...
//   prefill: X tok/s, decode: Y tok/s
//
// A byte-vocabulary model (256 logits, like the sample LM) also takes
// `--prompt TEXT` and prints the text as it streams.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/support/ModelRunner.h"

#include <CLI/CLI.hpp>

#include <string>

namespace ds::tools {

struct GenerateFlags {
  int64_t count = 0; // --generate N (0: not generating)
  std::string promptIds, promptText, stopIds;
  rt::SamplingOptions sampling;
};

/// Adds --generate, --prompt-ids, --prompt, --temperature, --top-k, --top-p,
/// --seed and --stop-ids to `app`.
void addGenerateFlags(CLI::App &app, GenerateFlags &flags);

/// Generates with `runner`; returns the exit code. Throws ToolError.
int runGenerate(ModelRunner &runner, const GenerateFlags &flags);

} // namespace ds::tools
