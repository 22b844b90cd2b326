//===- LlmBench.cpp - ds-benchmark --llm ----------------------------------===//
#include "tools/support/LlmBench.h"

#include "tools/support/LinePeer.h"
#include "tools/support/ToolSupport.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>

namespace ds::tools {

namespace {

struct Rates {
  std::vector<double> prefill, decode; // tokens/s per repetition
};

std::pair<double, double> meanSd(const std::vector<double> &v) {
  double mean = 0, sq = 0;
  for (double x : v)
    mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v)
    sq += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(sq / static_cast<double>(v.size() - 1)) : 0.0};
}

/// A fixed prompt of `n` ids in [1, vocab): the same bytes in every run and on both sides.
std::vector<int64_t> benchPrompt(int64_t n, int64_t vocab) {
  std::vector<int64_t> ids;
  uint64_t state = 0x5EEDull;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    ids.push_back(1 + static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(vocab - 1)));
  }
  return ids;
}

/// The empty cache shapes as JSON for the peer.
std::string cacheJson(const rt::GenerationSignature &sig, const std::vector<exec::TensorSpec> &inputs) {
  std::ostringstream os;
  os << "{";
  for (size_t i = 0; i < sig.cache.size(); ++i) {
    os << (i ? ", " : "") << "\"" << inputs[sig.cache[i].input].name << "\": [";
    for (size_t d = 0; d < sig.cache[i].emptyDims.size(); ++d)
      os << (d ? ", " : "") << sig.cache[i].emptyDims[d];
    os << "]";
  }
  os << "}";
  return os.str();
}

std::string idList(const std::vector<int64_t> &ids) {
  std::string s;
  for (int64_t id : ids)
    s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

} // namespace

int runLlmBench(ModelRunner &runner, const LlmBenchOptions &o) {
  rt::GenerationSignature sig;
  try {
    sig = rt::GenerationSignature::find(runner.inputs(), runner.outputs());
  } catch (const rt::Error &e) {
    throw ToolError(runner.description() + ": --llm: " + e.what());
  }
  const auto &logits = runner.outputs()[sig.logits];
  const int64_t vocab = logits.ranked && !logits.dims.empty() && logits.dims.back() > 1
                            ? logits.dims.back() : 256;
  const std::vector<int64_t> prompt = benchPrompt(o.promptTokens, vocab);
  rt::GenerationOptions gen;
  gen.maxNewTokens = o.newTokens;
  std::unique_ptr<LinePeer> peer;
  const char *what = "the ONNX Runtime generation loop (bench/peers/ort_generate.py)";
  if (!o.ortModel.empty()) {
    peer = std::make_unique<LinePeer>(std::vector<std::string>{
        o.python, o.peerScript, o.ortModel, "--threads", std::to_string(o.threads),
        "--prompt-ids", idList(prompt), "--new-tokens", std::to_string(o.newTokens), "--cache",
        cacheJson(sig, runner.inputs())});
    if (peer->readLine(what) != "ready")
      throw ToolError(std::string(what) + " did not start");
  }
  rt::GenerationStats stats;
  rt::GenerationOptions warm = gen;
  warm.maxNewTokens = std::min<int64_t>(2, o.newTokens);
  runner.generate(prompt, warm, {}, stats); // first runs allocate and fault pages in
  Rates ours, theirs;
  auto record = [&](Rates &r, double prefillSeconds, double decodeSeconds, int64_t generated) {
    r.prefill.push_back(static_cast<double>(o.promptTokens) / std::max(prefillSeconds, 1e-12));
    if (generated > 1)
      r.decode.push_back(static_cast<double>(generated - 1) / std::max(decodeSeconds, 1e-12));
  };
  // Turns alternate who goes first, after a pause for ORT's spinning workers.
  for (int rep = 0; rep < o.repetitions; ++rep) {
    auto dsTurn = [&] {
      runner.generate(prompt, gen, {}, stats);
      record(ours, stats.prefillSeconds, stats.decodeSeconds, stats.generatedTokens);
    };
    auto peerTurn = [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      peer->writeLine("1");
      std::istringstream line(peer->readLine(what));
      double p = 0, d = 0;
      int64_t g = 0;
      if (!(line >> p >> d >> g))
        throw ToolError(std::string(what) + " answered something other than its timings");
      record(theirs, p, d, g);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    };
    if (peer && rep % 2 == 1)
      peerTurn();
    dsTurn();
    if (peer && rep % 2 == 0)
      peerTurn();
  }
  std::printf("%s: %s, %u threads, %d repetitions (mean +- sd; higher is better)\n",
              runner.description().c_str(), sig.cache.empty() ? "no KV cache (whole sequence per token)"
                                                               : "decoder with past",
              o.threads, o.repetitions);
  std::printf("  %-8s %-24s %-24s %s\n", "test", "ds tok/s", peer ? "onnxruntime tok/s" : "",
              peer ? "ratio ds/onnxruntime" : "");
  auto row = [&](const std::string &name, const std::vector<double> &a, const std::vector<double> &b) {
    if (a.empty())
      return;
    auto [ma, sa] = meanSd(a);
    char left[64], right[64] = "";
    std::snprintf(left, sizeof left, "%.1f +- %.1f", ma, sa);
    std::printf("  %-8s %-24s", name.c_str(), left);
    if (!b.empty()) {
      auto [mb, sb] = meanSd(b);
      std::snprintf(right, sizeof right, "%.1f +- %.1f", mb, sb);
      std::printf(" %-24s %.2fx", right, ma / mb);
    }
    std::printf("\n");
  };
  row("pp" + std::to_string(o.promptTokens), ours.prefill, theirs.prefill);
  row("tg" + std::to_string(o.newTokens), ours.decode, theirs.decode);
  return int(kExitOk);
}

} // namespace ds::tools
