//===- ds-run.cpp - run a model with the reference executor ---------------===//
//
//   ds-run MODEL.onnx|MODEL.mlir --inputs X [--outputs DIR]
//          [--compare DIR --rtol R --atol A]
//
// Exit 0: ran (and matched, with --compare); 1: an output is outside the
// tolerance; 2: bad input (one line on stderr).
//===----------------------------------------------------------------------===//
#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

using namespace ds;

int main(int argc, char **argv) {
  CLI::App app{"Run an ONNX model (or ds IR) with ds-optimize's FP32 reference executor"};
  std::string model, inputs, outputsDir, compareDir;
  double rtol = 1e-3, atol = 1e-7;
  int threads = 0;
  app.add_option("model", model, "model.onnx or a .mlir file of ds IR")->required();
  app.add_option("--inputs", inputs, ".npz (by input name), .npy (one-input model) or an ONNX "
                                     "test_data_set directory")->required();
  app.add_option("--outputs", outputsDir, "write one <output name>.npy per output here");
  app.add_option("--compare", compareDir, "compare with output_N.pb or <name>.npy files here");
  app.add_option("--rtol", rtol, "relative tolerance for --compare")->capture_default_str();
  app.add_option("--atol", atol, "absolute tolerance for --compare")->capture_default_str();
  app.add_option("--threads", threads, "worker threads (0: all cores)");
  CLI11_PARSE(app, argc, argv);

  return tools::runTool("ds-run", [&] {
    mlir::MLIRContext context;
    auto module = tools::loadModule(context, model);
    rt::ThreadPool pool(static_cast<unsigned>(threads));
    exec::ReferenceExecutor executor(*module, pool);
    auto bound = tools::bindInputs(inputs, executor.inputs());
    auto start = std::chrono::steady_clock::now();
    auto results = executor.run(bound);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    const auto &specs = executor.outputs();
    if (!outputsDir.empty())
      tools::writeOutputs(outputsDir, specs, results);
    std::printf("ran %s in %.3f ms\n", model.c_str(), ms);
    if (compareDir.empty()) {
      for (size_t i = 0; i < specs.size(); ++i)
        std::printf("  %s: %s %s\n", specs[i].name.c_str(), rt::dtypeName(results[i].dtype()),
                    rt::shapeToString(results[i].shape()).c_str());
      return int(tools::kExitOk);
    }
    auto expected = tools::readExpectedOutputs(compareDir, specs);
    bool allOk = true;
    for (size_t i = 0; i < specs.size(); ++i) {
      auto c = tools::compareTensors(results[i], expected[i], rtol, atol);
      allOk &= c.ok();
      if (!c.problem.empty())
        std::printf("  %s: MISMATCH: %s\n", specs[i].name.c_str(), c.problem.c_str());
      else
        std::printf("  %s: %s max abs err %.3g, max rel err %.3g, %lld of %lld outside "
                    "rtol %g atol %g\n",
                    specs[i].name.c_str(), c.ok() ? "ok" : "MISMATCH", c.maxAbsError,
                    c.maxRelError, static_cast<long long>(c.mismatches),
                    static_cast<long long>(results[i].numel()), rtol, atol);
    }
    return int(allOk ? tools::kExitOk : tools::kExitMismatch);
  });
}
