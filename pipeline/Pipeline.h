//===- Pipeline.h - the ds-optimize job: ONNX in, checked artifact out ----===//
//
// Runs the phases of DESIGN §2 in order and prints progress per phase:
// import -> optimize (canonicalize, Conv+BN folding) -> calibrate -> quantize
// -> verify (student vs FP32 teacher) -> codegen (host C++ + runtime) ->
// package (atomic) -> summary. tools/ds-optimize.cpp is a thin main over this.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
}

namespace ds::pipeline {

struct OptimizeOptions {
  std::string model;
  std::string profile = "host";
  std::string precision = "fp32";            // fp32 | int8
  std::string quantMode = "static";          // static | dynamic (int8)
  std::string calib;                         // calibration data (static int8)
  std::string calibMethod = "minmax";        // minmax | percentile | entropy | mse
  double percentile = 99.99;
  std::string calibCache;                    // read if valid, else written
  bool calibSkipNonFinite = false;           // --calib-nan=skip
  std::string eval;                          // held-out data; default: the calibration set
  std::string evalLabels;                    // .npy of class ids (classifiers)
  std::optional<double> maxDropPercent;      // --max-drop
  std::optional<double> maxMeanKl;           // --max-kl (nats)
  std::optional<double> minTop1;             // --min-top1 (fraction of output 0's rows)
  std::vector<std::string> keepFp32;         // node-name globs
  double smoothquantAlpha = 0.0;             // 0: off
  std::string weightRounding = "rtn";        // rtn | gptq
  /// > 0: layers whose INT8 output error (relative L2 vs FP32) exceeds this
  /// are re-quantized in FP32 (one round).
  double autoFp32Threshold = 0.0;
  /// --accuracy-control: when --max-drop/--max-kl/--min-top1 is missed, return the INT8 layers that
  /// cost most on their own to FP32 until it is met (AccuracyControl.h).
  bool accuracyControl = false;
  /// --allow-unquantized: an INT8 job that quantizes none of its candidate
  /// layers writes the FP32 artifact instead of failing (exit 2).
  bool allowUnquantized = false;
  /// Shape specialization: fixed dims per graph input ("input_ids" -> {1, 128}).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Upper bounds per graph input (--max-shape): dynamic dims stay dynamic, and
  /// the artifact refuses larger inputs.
  std::map<std::string, std::vector<int64_t>> maxInputShapes;
  std::string outDir;
  unsigned threads = 0;
  /// "optimize" or "quantize": stop after that phase and print the IR to `ir`
  /// (no artifact, no verification).
  std::string stopAfter;
  bool elideWeights = false;
};

/// The job, logging its phases to `log`. Returns the exit code (0 ok, 3 accuracy target missed); throws
/// tools::ToolError (and the importer/IO errors) for bad input, which the
/// caller prints as one line with exit code 2. Nothing is left at the output
/// path unless the artifact is complete.
int runOptimize(const OptimizeOptions &options, llvm::raw_ostream &log, llvm::raw_ostream &ir);

/// "input_ids=1x128" -> {"input_ids", {1, 128}}. Throws ToolError naming `option`.
std::pair<std::string, std::vector<int64_t>> parseInputShape(const std::string &text,
                                                             const char *option = "--input-shape");

/// "1%", "0.5%" or a fraction "0.01" -> percent. Throws ToolError.
double parseMaxDrop(const std::string &text);

} // namespace ds::pipeline
