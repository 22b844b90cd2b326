//===- ds-benchmark.cpp - latency of the reference executor (vs ONNX Runtime) ===//
//
//   ds-benchmark MODEL.onnx --inputs X [--threads N] [--warmup W] [--iterations I]
//                [--vs-onnxruntime]
//
// Times our executor on one input set; with --vs-onnxruntime it also runs ONNX
// Runtime (bench/peers/ort_latency.py in the test venv) on the same model,
// inputs, thread count and iteration plan in the same run, and prints the ratio.
// Artifact benchmarking (per batch size, tokens/s) arrives with codegen.
//===----------------------------------------------------------------------===//
#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

using namespace ds;

namespace {
struct Latency {
  double median = 0, p90 = 0, min = 0;
};

Latency summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  size_t n = ms.size();
  double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  return {median, ms[std::min(n - 1, static_cast<size_t>(0.9 * static_cast<double>(n)))], ms[0]};
}

double jsonNumber(const std::string &json, const std::string &key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    throw tools::ToolError("ONNX Runtime runner printed no '" + key + "': " + json);
  return std::stod(json.substr(at + key.size() + 3));
}

/// Runs the peer script; returns its JSON line.
std::string runOnnxRuntime(const std::string &python, const std::string &script,
                           const std::string &model, const std::string &inputs, int threads,
                           int warmup, int iterations) {
  std::string cmd = "'" + python + "' '" + script + "' '" + model + "' '" + inputs +
                    "' --threads " + std::to_string(threads) + " --warmup " +
                    std::to_string(warmup) + " --iterations " + std::to_string(iterations);
  FILE *pipe = popen(cmd.c_str(), "r");
  if (!pipe)
    throw tools::ToolError("cannot start ONNX Runtime runner: " + cmd);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe))
    out += buf;
  if (pclose(pipe) != 0)
    throw tools::ToolError("ONNX Runtime runner failed (is the test venv set up? run "
                           "scripts/setup.sh): " + cmd);
  return out;
}
} // namespace

int main(int argc, char **argv) {
  CLI::App app{"Latency of ds-optimize's reference executor, optionally next to ONNX Runtime"};
  std::string model, inputs;
  int threads = 0, warmup = 3, iterations = 20;
  bool vsOrt = false;
  std::string python = DS_DEFAULT_PYTHON, peerScript = DS_ORT_PEER_SCRIPT;
  app.add_option("model", model, "model.onnx")->required();
  app.add_option("--inputs", inputs, "inputs as for ds-run")->required();
  app.add_option("--threads", threads, "threads for both (0: all cores)");
  app.add_option("--warmup", warmup)->capture_default_str();
  app.add_option("--iterations", iterations)->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--vs-onnxruntime", vsOrt, "also time ONNX Runtime in this run");
  app.add_option("--python", python, "Python with onnxruntime")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  return tools::runTool("ds-benchmark", [&] {
    mlir::MLIRContext context;
    auto module = tools::loadModule(context, model);
    rt::ThreadPool pool(static_cast<unsigned>(threads));
    exec::ReferenceExecutor executor(*module, pool);
    auto bound = tools::bindInputs(inputs, executor.inputs());
    for (int i = 0; i < warmup; ++i)
      executor.run(bound);
    std::vector<double> ms;
    for (int i = 0; i < iterations; ++i) {
      auto start = std::chrono::steady_clock::now();
      executor.run(bound);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             start)
                       .count());
    }
    Latency ours = summarize(ms);
    std::printf("model %s, %u threads, %d iterations (median of each)\n", model.c_str(),
                pool.numThreads(), iterations);
    std::printf("  ds reference executor: median %.3f ms  p90 %.3f ms  min %.3f ms\n",
                ours.median, ours.p90, ours.min);
    if (vsOrt) {
      std::string json = runOnnxRuntime(python, peerScript, model, inputs,
                                        static_cast<int>(pool.numThreads()), warmup, iterations);
      double ortMedian = jsonNumber(json, "median_ms");
      std::printf("  onnxruntime:           median %.3f ms  p90 %.3f ms  min %.3f ms\n",
                  ortMedian, jsonNumber(json, "p90_ms"), jsonNumber(json, "min_ms"));
      std::printf("  ratio ds/onnxruntime (median): %.2fx\n", ours.median / ortMedian);
    }
    return int(tools::kExitOk);
  });
}
