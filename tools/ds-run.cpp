//===- ds-run.cpp - run a model with the reference executor ---------------===//
//
//   ds-run MODEL.onnx|MODEL.mlir|ARTIFACT_DIR --inputs X [--outputs DIR]
//          [--compare DIR --rtol R --atol A]
//   ds-run MODEL|ARTIFACT_DIR --generate N --prompt-ids 1,2,3 [--temperature T
//          --top-k K --top-p P --seed S] [--stop-ids ...]
//
// A model runs on the reference executor; an artifact directory (OUT/<profile>)
// runs through its own lib/libds_model.so and the C runtime API.
//
// Exit 0: ran (and matched, with --compare); 1: an output is outside the
// tolerance; 2: bad input (one line on stderr).
//===----------------------------------------------------------------------===//
#include "tools/support/CliSupport.h"
#include "tools/support/GenerateCommand.h"
#include "tools/support/ModelRunner.h"
#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

using namespace ds;

int main(int argc, char **argv) {
  CLI::App app{"Run an ONNX model (or ds IR) with ds-optimize's reference executor, or a "
               "compiled artifact directory with its own runtime"};
  std::string model, inputs, outputsDir, compareDir;
  double rtol = 1e-3, atol = 1e-7;
  int threads = 0;
  app.add_option("model", model, "model.onnx, a .mlir file of ds IR, or an artifact directory")
      ->required();
  app.add_option("--inputs", inputs, ".npz (by input name), .npy (one-input model) or an ONNX "
                                     "test_data_set directory");
  app.add_option("--outputs", outputsDir, "write one <output name>.npy per output here");
  app.add_option("--compare", compareDir, "compare with output_N.pb or <name>.npy files here");
  app.add_option("--rtol", rtol, "relative tolerance for --compare")
      ->check(tools::realIn(0))
      ->capture_default_str();
  app.add_option("--atol", atol, "absolute tolerance for --compare")
      ->check(tools::realIn(0))
      ->capture_default_str();
  app.add_option("--threads", threads, "worker threads (0: all cores)")->check(tools::threadCount());
  tools::GenerateFlags generate;
  tools::addGenerateFlags(app, generate);
  if (auto code = tools::parseCommandLine(app, argc, argv, "ds-run"))
    return *code;

  return tools::runTool("ds-run", [&] {
    if (generate.count == 0 && inputs.empty())
      throw tools::ToolError("--inputs is required (or --generate N with a prompt)");
    if (generate.count > 0 && !inputs.empty())
      throw tools::ToolError("--generate builds the model's inputs itself: drop --inputs");
    tools::checkArtifactFiles(model);
    auto runner = tools::openRunner(model, static_cast<unsigned>(threads));
    if (generate.count > 0)
      return tools::runGenerate(*runner, generate);
    auto bound = tools::bindInputs(inputs, runner->inputs());
    auto start = std::chrono::steady_clock::now();
    auto results = runner->run(bound);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    const auto &specs = runner->outputs();
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
