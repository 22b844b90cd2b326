//===- GenerateCommand.cpp - ds-run --generate ----------------------------===//
#include "tools/support/GenerateCommand.h"

#include "tools/support/CliSupport.h"
#include "tools/support/Numbers.h"

#include <cstdio>

namespace ds::tools {

/// Vocabulary size of models whose tokens are bytes (samples/lm).
constexpr int64_t kByteVocab = 256;

void addGenerateFlags(CLI::App &app, GenerateFlags &f) {
  app.add_option("--generate", f.count, "generate N tokens after the prompt (decoder LMs)")
      ->check(integerIn(1, int64_t{1} << 20));
  app.add_option("--prompt-ids", f.promptIds, "the prompt as token ids, e.g. 1,461,401");
  app.add_option("--prompt", f.promptText,
                 "the prompt as text (models whose vocabulary is the 256 bytes)");
  app.add_option("--temperature", f.sampling.temperature, "0 (default): greedy")
      ->check(numberAtLeast(0, false));
  app.add_option("--top-k", f.sampling.topK, "sample from the K most likely tokens (0: all)")
      ->check(integerIn(0, int64_t{1} << 31));
  app.add_option("--top-p", f.sampling.topP, "nucleus sampling: the most likely tokens up to "
                                             "probability P (1: all)")
      ->check(realIn(0.0, 1.0));
  app.add_option("--seed", f.sampling.seed, "seed of the sampling stream");
  app.add_option("--stop-ids", f.stopIds, "stop after generating one of these ids, e.g. 2");
  // --seed takes any 64-bit value; CLI11 refuses what does not parse as one.
}

int runGenerate(ModelRunner &runner, const GenerateFlags &f) {
  if (f.promptIds.empty() == f.promptText.empty())
    throw ToolError("--generate needs the prompt: pass --prompt-ids 1,2,3 or --prompt TEXT (one of them)");
  rt::GenerationOptions options;
  options.maxNewTokens = f.count;
  options.sampling = f.sampling;
  if (!f.stopIds.empty())
    for (int64_t id : parseIntegerList(f.stopIds, "--stop-ids", 0, INT64_MAX))
      options.stopTokens.insert(id);
  const auto &outputs = runner.outputs();
  bool bytes = false;
  std::vector<int64_t> prompt;
  if (!f.promptText.empty()) {
    int64_t vocab = -1;
    for (const auto &o : outputs)
      if (o.name == "logits" && o.ranked && !o.dims.empty())
        vocab = o.dims.back();
    if (vocab != kByteVocab)
      throw ToolError(runner.description() + ": --prompt needs a model whose vocabulary is the 256 "
                      "bytes (its logits have " + (vocab < 0 ? std::string("a dynamic number of") : std::to_string(vocab)) +
                      " entries); pass token ids with --prompt-ids");
    bytes = true;
    for (unsigned char c : f.promptText)
      prompt.push_back(c);
    std::fputs(f.promptText.c_str(), stdout);
  } else {
    prompt = parseIntegerList(f.promptIds, "--prompt-ids", 0, INT64_MAX);
  }
  rt::GenerationStats stats;
  auto tokens = runner.generate(prompt, options, [&](int64_t token) {
    if (bytes && token >= 0 && token < kByteVocab) {
      std::fputc(static_cast<int>(token), stdout);
      std::fflush(stdout);
    }
    return true;
  }, stats);
  if (bytes)
    std::fputc('\n', stdout);
  std::printf("tokens:");
  for (int64_t t : tokens)
    std::printf(" %lld", static_cast<long long>(t));
  std::printf("\n");
  // The first new token comes out of the prefill run; the rest are decode steps.
  double prefill = stats.prefillSeconds > 0 ? stats.promptTokens / stats.prefillSeconds : 0;
  int64_t decoded = std::max<int64_t>(stats.generatedTokens - 1, 0);
  double decode = stats.decodeSeconds > 0 ? decoded / stats.decodeSeconds : 0;
  std::printf("prefill: %.1f tok/s (%lld tokens), decode: %.1f tok/s (%lld tokens)\n", prefill,
              static_cast<long long>(stats.promptTokens), decode, static_cast<long long>(decoded));
  return int(kExitOk);
}

} // namespace ds::tools
