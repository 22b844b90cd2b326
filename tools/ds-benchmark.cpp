//===- ds-benchmark.cpp - latency of a model or an artifact (vs ONNX Runtime) ===//
//
//   ds-benchmark MODEL.onnx|ARTIFACT_DIR --inputs X [--threads N] [--warmup W]
//                [--iterations I] [--batch-sizes 1,4,16] [--vs-onnxruntime [MODEL.onnx]]
//                [--blocks K] [--profile]
//
// Times the reference executor (a model) or the artifact's own runtime (an
// artifact directory, through its C API) per batch size: latency percentiles,
// samples/s, tokens/s for LMs (prefill: batch*seq per run; decode graphs with
// past_* inputs: batch per run) and peak RSS. With --vs-onnxruntime, ONNX
// Runtime (bench/peers/ort_latency.py in the test venv) runs the same inputs
// with the same thread count and iteration plan in the same run, and the
// ratio is printed. The two sides take turns in K blocks of iterations (the
// peer stays up between them), so a shared machine's slow spells, which last
// longer than one block, fall on both; each turn starts after a pause and
// --warmup untimed runs. MODEL.onnx may be FP32 or a QDQ model (INT8 peer).
//===----------------------------------------------------------------------===//
#include "tools/support/CliSupport.h"
#include "ds/runtime/FileHelpers.h"
#include "tools/support/LinePeer.h"
#include "tools/support/LlmBench.h"
#include "tools/support/ModelRunner.h"
#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <sys/resource.h>
#include <unistd.h>

using namespace ds;
namespace fs = std::filesystem;

namespace {
struct Latency {
  double median = 0, p90 = 0, p99 = 0, min = 0;
};

Latency summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  size_t n = ms.size();
  auto at = [&](double q) { return ms[std::min(n - 1, static_cast<size_t>(q * static_cast<double>(n)))]; };
  double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return {median, at(0.9), at(0.99), ms[0]};
}

/// ONNX Runtime's side, kept running (bench/peers/ort_latency.py --serve).
class OrtPeer {
public:
  OrtPeer(const std::string &python, const std::string &script, const std::string &model,
          const std::string &inputs, int threads, int warmup)
      : peer_({python, script, model, inputs, "--threads", std::to_string(threads), "--warmup",
               std::to_string(warmup), "--serve"}) {
    if (peer_.readLine(kWhat) != "ready")
      throw tools::ToolError(std::string(kWhat) + " did not start");
  }
  /// Runs `warmup` times untimed, then times `count` runs; appends their
  /// milliseconds to `ms`.
  void time(int warmup, int count, std::vector<double> &ms) {
    peer_.writeLine(std::to_string(warmup) + " " + std::to_string(count));
    std::string line = peer_.readLine(kWhat);
    size_t before = ms.size();
    for (size_t at = 0; at < line.size();) {
      size_t used = 0;
      ms.push_back(std::stod(line.substr(at), &used));
      at += used;
    }
    if (ms.size() - before != static_cast<size_t>(count))
      throw tools::ToolError(std::string(kWhat) + " answered " + std::to_string(ms.size() - before) +
                             " times for " + std::to_string(count) + " runs");
  }

private:
  static constexpr const char *kWhat =
      "the ONNX Runtime runner (is the test venv set up? run scripts/setup.sh)";
  tools::LinePeer peer_;
};

/// `t` with `rows` rows along axis 0, cycling through the given ones.
rt::Tensor rebatch(const rt::Tensor &t, int64_t rows) {
  rt::Shape shape = t.shape();
  int64_t have = shape[0];
  shape[0] = rows;
  rt::Tensor out(t.dtype(), shape);
  size_t rowBytes = have ? t.byteSize() / static_cast<size_t>(have) : 0;
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char *>(out.mutableRawData()) + r * rowBytes,
                static_cast<const char *>(t.rawData()) + (r % have) * rowBytes, rowBytes);
  return out;
}

/// The largest --batch-sizes entry: rows are copied into one tensor per input.
constexpr int64_t kMaxBatch = int64_t{1} << 24;
} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Latency of a model (reference executor) or an artifact, optionally next to ONNX "
               "Runtime in the same run"};
  std::string model, inputs, batchSizes, ortModel;
  bool profile = false;
  int threads = 0, warmup = 3, iterations = 20, blocks = 10;
  std::string python = DS_DEFAULT_PYTHON, peerScript = DS_ORT_PEER_SCRIPT;
  app.add_option("model", model, "model.onnx or an artifact directory (OUT/<profile>)")->required();
  app.add_option("--inputs", inputs, "inputs as for ds-run (not with --llm)");
  bool llm = false;
  tools::LlmBenchOptions llmOptions;
  app.add_flag("--llm", llm, "decoder LM: prefill and decode tokens/s of the generation loop, "
                             "as llama-bench reports them (pp P / tg N)");
  app.add_option("-p,--prompt-tokens", llmOptions.promptTokens, "--llm: prompt length P")
      ->capture_default_str()->check(tools::integerIn(1, 1 << 20));
  app.add_option("-n,--gen-tokens", llmOptions.newTokens, "--llm: tokens to generate N")
      ->capture_default_str()->check(tools::integerIn(1, 1 << 20));
  app.add_option("-r,--repetitions", llmOptions.repetitions, "--llm: repetitions")
      ->capture_default_str()->check(tools::integerIn(1, 1 << 16));
  app.add_option("--threads", threads, "threads for both (0: all cores)")->check(tools::threadCount());
  app.add_option("--warmup", warmup)->capture_default_str()->check(tools::integerIn(0, 1 << 24));
  app.add_option("--iterations", iterations)
      ->capture_default_str()
      ->check(tools::integerIn(1, 1 << 24));
  app.add_option("--batch-sizes", batchSizes,
                 "re-batch the inputs along axis 0 to these sizes (dynamic batch only), e.g. 1,4,16");
  auto *vsOrt = app.add_option("--vs-onnxruntime", ortModel,
                               "also time ONNX Runtime on MODEL.onnx (default: the model given)")
                    ->expected(0, 1);
  app.add_option("--python", python, "Python with onnxruntime")->capture_default_str();
  app.add_option("--blocks", blocks,
                 "with --vs-onnxruntime: ds and ONNX Runtime take turns in this many blocks of "
                 "the iterations")
      ->capture_default_str()
      ->check(tools::integerIn(1, 1 << 20));
  app.add_flag("--profile", profile,
               "also print time per kernel (reference executor only: for an artifact's graph, "
               "benchmark the .mlir that ds-optimize --compile-to=quantize prints)");
  if (auto code = tools::parseCommandLine(app, argc, argv, "ds-benchmark"))
    return *code;

  return tools::runTool("ds-benchmark", [&] {
    tools::checkArtifactFiles(model);
    auto runner = tools::openRunner(model, static_cast<unsigned>(threads));
    unsigned usedThreads = threads > 0 ? static_cast<unsigned>(threads)
                                       : std::max(1u, std::thread::hardware_concurrency());
    bool withOrt = vsOrt->count() > 0;
    if (withOrt && ortModel.empty()) {
      if (tools::isArtifactDir(model))
        throw tools::ToolError("--vs-onnxruntime needs MODEL.onnx when benchmarking an artifact");
      ortModel = model;
    }
    if (llm) {
      if (!inputs.empty() || !batchSizes.empty() || profile)
        throw tools::ToolError("--llm makes its own prompt: drop --inputs, --batch-sizes and --profile");
      llmOptions.threads = usedThreads;
      llmOptions.python = python;
      llmOptions.peerScript = DS_ORT_GENERATE_SCRIPT;
      llmOptions.ortModel = withOrt ? ortModel : "";
      return tools::runLlmBench(*runner, llmOptions);
    }
    if (inputs.empty())
      throw tools::ToolError("--inputs is required (or --llm for a decoder LM)");
    auto given = tools::bindInputs(inputs, runner->inputs());
    const auto &specs = runner->inputs();
    bool batchable = !given.empty();
    for (size_t i = 0; i < specs.size(); ++i)
      batchable &= specs[i].ranked && !specs[i].dims.empty() && specs[i].dims[0] < 0 && given[i].rank() > 0;
    std::vector<int64_t> sizes;
    if (!batchSizes.empty()) {
      if (!batchable)
        throw tools::ToolError(model + ": the inputs have no dynamic leading (batch) dim; drop "
                               "--batch-sizes (the model's batch is fixed)");
      sizes = tools::parseIntegerList(batchSizes, "--batch-sizes", 1, kMaxBatch);
      for (size_t i = 0; i < specs.size(); ++i)
        if (given[i].dim(0) == 0) // nothing to cycle through
          throw tools::ToolError(inputs + ": input '" + specs[i].name + "' has 0 rows; --batch-sizes "
                                 "re-batches the rows given, so give at least one (or drop it)");
    } else {
      sizes.push_back(given.empty() || given[0].rank() == 0 ? 1 : given[0].dim(0));
    }
    bool tokenLm = !specs.empty() && specs[0].dtype == rt::DType::I64 && given[0].rank() == 2;
    // A decode step: one new token per row against a cache (a 128-token prompt
    // through the same decoder-with-past graph is a prefill).
    bool hasPast = false;
    for (const auto &s : specs)
      hasPast |= s.name.rfind("past", 0) == 0;
    bool decode = hasPast && tokenLm && given[0].dim(1) == 1;

    const int turns = withOrt ? std::min(blocks, iterations) : 1;
    std::printf("%s: %s, %u threads, %d iterations, %d warmup", model.c_str(),
                runner->description().c_str(), usedThreads, iterations, warmup);
    if (withOrt)
      std::printf(", ds and onnxruntime in %d alternating blocks", turns);
    std::printf(" (medians; lower is better)\n");
    for (int64_t batch : sizes) {
      std::vector<rt::Tensor> feed = given;
      if (!batchSizes.empty())
        for (auto &t : feed)
          t = rebatch(t, batch);
      for (int i = 0; i < warmup; ++i)
        runner->run(feed);
      std::unique_ptr<OrtPeer> peer;
      if (withOrt) {
        std::string feedPath = inputs;
        // A private mkdtemp directory: no name in $TMPDIR that another user could plant.
        std::unique_ptr<rt::files::PrivateTempDir> tmp;
        if (!batchSizes.empty()) {
          tmp = std::make_unique<rt::files::PrivateTempDir>("ds-benchmark");
          std::vector<io::NamedTensor> named;
          for (size_t i = 0; i < feed.size(); ++i)
            named.push_back({specs[i].name, feed[i]});
          feedPath = (fs::path(tmp->path()) / "inputs.npz").string();
          io::writeNpz(feedPath, named);
        }
        // The peer has read the file once it is ready (or has failed): tmp goes either way.
        peer = std::make_unique<OrtPeer>(python, peerScript, ortModel, feedPath,
                                         static_cast<int>(usedThreads), warmup);
      }
      std::vector<double> ms, ortMs;
      auto timeOurs = [&](int count) {
        for (int i = 0; i < count; ++i) {
          auto start = std::chrono::steady_clock::now();
          runner->run(feed);
          ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
        }
      };
      // A turn starts after a pause and `warmup` untimed runs, on either side.
      // The pause: ONNX Runtime's workers spin for ~30-40 ms after its last run
      // (measured: CPU time of an idle peer), which would take the CPUs of our
      // next turn. The warmup: a side's first runs after the other's turn find
      // its threads asleep and its data out of cache.
      const auto pause = std::chrono::milliseconds(withOrt ? 50 : 0);
      for (int turn = 0; turn < turns; ++turn) {
        const int count = iterations / turns + (turn < iterations % turns ? 1 : 0);
        auto ourTurn = [&] {
          std::this_thread::sleep_for(pause);
          if (turn > 0)
            for (int i = 0; i < warmup; ++i)
              runner->run(feed);
          timeOurs(count);
        };
        // Who goes first alternates too: neither side always follows the other.
        auto peerTurn = [&] {
          std::this_thread::sleep_for(pause);
          peer->time(warmup, count, ortMs);
        };
        if (peer && turn % 2 == 1)
          peerTurn();
        ourTurn();
        if (peer && turn % 2 == 0)
          peerTurn();
      }
      Latency ours = summarize(ms);
      std::printf("batch %lld\n  ds:          p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  min %.3f ms  "
                  "%.1f samples/s",
                  static_cast<long long>(batch), ours.median, ours.p90, ours.p99, ours.min,
                  1000.0 * static_cast<double>(batch) / ours.median);
      if (tokenLm) {
        double tokens = decode ? static_cast<double>(batch) : static_cast<double>(feed[0].numel());
        std::printf("  %.0f %s tokens/s", 1000.0 * tokens / ours.median, decode ? "decode" : "prefill");
      }
      std::printf("\n");
      if (peer) {
        Latency theirs = summarize(ortMs);
        std::printf("  onnxruntime: p50 %.3f ms  p90 %.3f ms  min %.3f ms  (%s)\n", theirs.median,
                    theirs.p90, theirs.min, ortModel.c_str());
        std::printf("  ratio ds/onnxruntime (p50): %.2fx\n", ours.median / theirs.median);
      }
    }
    if (profile) {
      std::map<std::string, std::pair<double, int64_t>> byKernel;
      for (int i = 0; i < iterations; ++i)
        if (!runner->profile(given, byKernel))
          throw tools::ToolError("--profile needs a model (the reference executor); an artifact runs "
                                 "its kernels behind the C API");
      std::vector<std::pair<double, std::string>> rows;
      double total = 0;
      for (auto &[name, entry] : byKernel) {
        rows.push_back({entry.first, name});
        total += entry.first;
      }
      std::sort(rows.rbegin(), rows.rend());
      std::printf("time per kernel (%d runs, includes the executor's per-step overhead):\n", iterations);
      for (auto &[ms, name] : rows)
        std::printf("  %-28s %8.3f ms/run %5.1f%%  %lld calls/run\n", name.c_str(),
                    ms / iterations, 100.0 * ms / total,
                    static_cast<long long>(byKernel[name].second / iterations));
    }
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    std::printf("peak RSS %.1f MiB (this process: ds side only)\n",
                static_cast<double>(usage.ru_maxrss) / 1024.0);
    return int(tools::kExitOk);
  });
}
