//===- Calibrate.h - run the FP32 teacher and observe activation ranges ---===//
//
// DESIGN §2 phase 5. Every op ds-quant-int8 may quantize reads an activation
// (its input 0); this runs the FP32 model over the calibration set, feeds each
// such activation to an observer of the chosen method, and returns one range
// per op (keyed by node name). annotateRanges() leaves them on the ops as
// ds.act_range for the quantize pass. With a cache path, a cache that matches
// the model and method is used instead of running, and a fresh run writes one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "executor/ReferenceExecutor.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>

namespace llvm {
class raw_ostream;
}

namespace ds::pipeline {

struct CalibrationOptions {
  std::string method = "minmax"; // minmax | percentile | entropy | mse
  double percentile = 99.99;
  bool skipNonFinite = false;    // else a NaN/Inf sample is an error naming it
  bool hessians = false;         // also X^T X of MatMul/Gemm inputs (GPTQ)
  std::string cachePath;         // empty: no cache
  std::string modelSha256;
  std::string modelPath;         // for the cache key: its external data
  std::string toolVersion;       // for the cache key
};

struct CalibrationResult {
  std::map<std::string, std::pair<float, float>> ranges; // node -> [min, max]
  /// node -> per-channel (last axis) min and max, for MatMul/Gemm inputs.
  std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> channelRanges;
  /// node -> X^T X / rows [K, K] of MatMul/Gemm inputs (with options.hessians;
  /// not kept in the cache file).
  std::map<std::string, rt::Tensor> hessians;
  int64_t samples = 0, skippedNonFinite = 0;
  std::string source;
  bool fromCache = false;
  std::string cacheFile; // the cache it came from (errors about its contents name it)
};

/// `calibPath` may be empty when the cache alone is to be used. Throws
/// tools::ToolError for bad data (naming the file and tensor).
CalibrationResult calibrate(const exec::ReferenceExecutor &fp32, const std::string &calibPath,
                            const CalibrationOptions &options, llvm::raw_ostream &log);

/// Sets ds.act_range on every quantization candidate that has a range. Throws
/// tools::ToolError naming the cache when per-channel ranges do not match the
/// channel count of the op's input (SmoothQuant would silently skip it).
void annotateRanges(mlir::ModuleOp module, const CalibrationResult &result);

} // namespace ds::pipeline
