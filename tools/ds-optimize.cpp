//===- ds-optimize.cpp - the compiler driver ------------------------------===//
//
//   ds-optimize MODEL.onnx                          import and print a summary
//   ds-optimize MODEL.onnx --compile-to=import      print the imported ds IR
//   ds-optimize MODEL.onnx --compile-to=quantize --precision int8 --calib DIR
//                                                   print the IR after a later phase
//   ds-optimize MODEL.onnx --profile host --precision int8 --calib DIR
//               [--eval DIR] [--max-drop 1%] -o OUT   the whole job (pipeline/)
//
// Exit codes: 0 ok, 2 bad input (one line on stderr), 3 accuracy target missed.
//===----------------------------------------------------------------------===//
#include "executor/ReferenceExecutor.h"
#include "pipeline/AtomicDir.h"
#include "pipeline/Pipeline.h"
#include "tools/support/CliSupport.h"
#include "tools/support/ModelSummary.h"
#include "tools/support/ToolSupport.h"

#include "mlir/IR/OperationSupport.h"

#include "llvm/Support/raw_ostream.h"

#include <CLI/CLI.hpp>

using namespace ds;

int main(int argc, char **argv) {
  CLI::App app{"ds-optimize: ONNX in, calibrated low-bit artifacts out"};
  pipeline::OptimizeOptions o;
  std::string phase, maxDrop, calibNan = "reject";
  std::vector<std::string> inputShapes, maxShapes;
  bool elideWeights = false;
  app.add_option("model", o.model, "the ONNX model")->required();
  app.add_option("--compile-to", phase, "stop after this phase and print its IR")
      ->check(CLI::IsMember({"import", "optimize", "quantize"}));
  app.add_flag("--elide-weights", elideWeights, "print weight blobs as placeholders");
  app.add_option("-o,--output", o.outDir, "write the artifact to OUT/<profile>/");
  app.add_option("--profile", o.profile, "hardware profile")->capture_default_str();
  app.add_option("--precision", o.precision, "fp32 or int8")->capture_default_str();
  app.add_option("--quant-mode", o.quantMode,
                 "int8 activations: static (calibrated), dynamic, or dynamic-per-token")
      ->capture_default_str();
  app.add_option("--calib", o.calib, "calibration data: .npz/.npy file or directory");
  app.add_option("--calib-method", o.calibMethod, "minmax, percentile, entropy or mse")
      ->capture_default_str();
  app.add_option("--percentile", o.percentile, "for --calib-method percentile")
      ->check(tools::numberAtLeast(0, true) & tools::realIn(0, 100))
      ->capture_default_str();
  app.add_option("--calib-cache", o.calibCache, "calibration cache: reused when valid, else written");
  app.add_option("--calib-nan", calibNan, "NaN/Inf in calibration data: reject or skip")
      ->check(CLI::IsMember({"reject", "skip"}))
      ->capture_default_str();
  app.add_option("--eval", o.eval, "held-out data to verify with (default: the calibration data)");
  app.add_option("--eval-labels", o.evalLabels, "class ids (.npy) of the eval samples, in order");
  app.add_option("--max-drop", maxDrop, "fail (exit 3) when accuracy drops more, e.g. 1%");
  app.add_option("--max-kl", o.maxMeanKl,
                 "fail (exit 3) when the mean KL(teacher || student) of output 0's rows (logits) "
                 "exceeds this many nats")
      ->check(tools::numberAtLeast(0, false));
  app.add_option("--min-top1", o.minTop1,
                 "fail (exit 3) when fewer of output 0's rows (logits) than this fraction have "
                 "the teacher's argmax, e.g. 0.97")
      ->check(tools::realIn(0, 1));
  app.add_option("--keep-fp32", o.keepFp32, "node-name glob to keep in FP32 (repeatable)");
  app.add_option("--smoothquant-alpha", o.smoothquantAlpha,
                 "SmoothQuant strength for MatMul/Gemm activations, 0 (off) to 1")
      ->check(tools::realIn(0, 1))
      ->capture_default_str();
  app.add_option("--weight-rounding", o.weightRounding,
                 "int8 weight rounding: rtn (nearest) or gptq (calibration-Hessian error feedback)")
      ->check(CLI::IsMember({"rtn", "gptq"}))
      ->capture_default_str();
  app.add_option("--auto-fp32", o.autoFp32Threshold,
                 "keep layers in FP32 whose INT8 output error (relative L2) exceeds this")
      ->check(tools::numberAtLeast(0, false));
  app.add_flag("--allow-unquantized", o.allowUnquantized,
               "with --precision int8, write the artifact even when no layer could be quantized "
               "(by default that is an error naming the reason)");
  app.add_flag("--accuracy-control", o.accuracyControl,
               "when --max-drop/--max-kl/--min-top1 is missed, return the INT8 layers that cost most on "
               "their own to FP32 until it is met");
  app.add_option("--input-shape", inputShapes,
                 "fix an input's shape, e.g. input_ids=1x128 (repeatable): shapes are then "
                 "baked into the artifact and shape arithmetic is folded away");
  app.add_option("--max-shape", maxShapes,
                 "bound an input's dynamic dims, e.g. x=64x1x8x8 (repeatable; fixed dims as in "
                 "the model): the artifact accepts any size up to it and refuses larger inputs");
  app.add_option("--threads", o.threads, "threads (0: all cores)")->check(tools::threadCount());
  if (auto code = tools::parseCommandLine(app, argc, argv, "ds-optimize"))
    return *code;

  return tools::runTool("ds-optimize", [&] {
    if (!o.outDir.empty() || phase == "optimize" || phase == "quantize") {
      o.stopAfter = phase;
      o.elideWeights = elideWeights;
      o.calibSkipNonFinite = calibNan == "skip";
      for (const auto &s : inputShapes)
        o.inputShapes.insert(pipeline::parseInputShape(s));
      for (const auto &s : maxShapes)
        o.maxInputShapes.insert(pipeline::parseInputShape(s, "--max-shape"));
      if (!maxDrop.empty())
        o.maxDropPercent = pipeline::parseMaxDrop(maxDrop);
      if (!o.outDir.empty() && o.stopAfter.empty()) // refuse before minutes of work
        pipeline::checkReplaceable(std::filesystem::path(o.outDir) / o.profile);
      // Writing an artifact: progress to stdout, so stderr holds only an error
      // line. Printing IR: the IR owns stdout, progress goes to stderr.
      llvm::raw_ostream &log = o.stopAfter.empty() ? llvm::outs() : llvm::errs();
      try {
        return pipeline::runOptimize(o, log, llvm::outs());
      } catch (const exec::ExecutionError &e) { // names the node; add the model file
        throw tools::ToolError(o.model + ": " + e.what());
      }
    }
    mlir::MLIRContext context;
    auto module = tools::loadModule(context, o.model);
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
