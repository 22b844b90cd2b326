//===- ds-optimize.cpp - the compiler driver ------------------------------===//
//
//   ds-optimize MODEL.onnx                          import and print a summary
//   ds-optimize MODEL.onnx --compile-to=import      print the imported ds IR
//
// Later phases (optimize, fuse, calibrate, quantize, codegen) plug in here as
// they land; asking for one that does not exist yet is an error that says so.
//===----------------------------------------------------------------------===//
#include "tools/support/ModelSummary.h"
#include "tools/support/ToolSupport.h"

#include "mlir/IR/OperationSupport.h"

#include "llvm/Support/raw_ostream.h"

#include <CLI/CLI.hpp>

using namespace ds;

int main(int argc, char **argv) {
  CLI::App app{"ds-optimize: ONNX in, calibrated low-bit artifacts out"};
  std::string model, phase;
  bool elideWeights = false;
  app.add_option("model", model, "the ONNX model")->required();
  app.add_option("--compile-to", phase, "stop after this phase and print its IR")
      ->check(CLI::IsMember({"import"}));
  app.add_flag("--elide-weights", elideWeights, "print weight blobs as placeholders");
  CLI11_PARSE(app, argc, argv);

  return tools::runTool("ds-optimize", [&] {
    mlir::MLIRContext context;
    auto module = tools::loadModule(context, model);
    if (phase.empty()) {
      tools::printModelSummary(*module, llvm::outs());
      return int(tools::kExitOk);
    }
    mlir::OpPrintingFlags flags;
    if (elideWeights)
      flags.elideLargeResourceString(64);
    module->print(llvm::outs(), flags);
    llvm::outs() << "\n";
    return int(tools::kExitOk);
  });
}
