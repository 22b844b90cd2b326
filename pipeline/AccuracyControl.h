//===- AccuracyControl.h - return INT8 layers to FP32 until the target holds ===//
//
// `--accuracy-control` (the idea of NNCF's quantize_with_accuracy_control and
// ModelOpt's per-layer sensitivity search): when the all-INT8 student misses
// its target (--max-drop, --max-kl), rank its INT8 layers by what each costs
// on its own (only that layer INT8, the rest FP32), then return them to FP32,
// costliest first, until the target holds. The isolated cost ranks the layers
// because an error measured inside the all-INT8 model grows with depth (each
// layer inherits the error of the ones before it) and so blames the late
// layers for what the early ones did.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "pipeline/Verify.h"

#include <functional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
}

namespace ds::pipeline {

/// Quantizes the model with `fp32Layers` (node names) kept in FP32 and verifies
/// it; the pipeline keeps the student of its latest call.
using QuantTrial = std::function<Verification(const std::vector<std::string> &fp32Layers)>;

struct AccuracyControlResult {
  std::vector<std::string> fp32Layers; // returned to FP32, costliest first
  Verification verification;           // of the student the last trial built
  int trials = 0;
  bool met = false;
};

/// How far a student is from its teacher, for ranking layers: the mean KL of
/// output 0's rows where it has them (logits), else 1 - its cosine.
double agreementCost(const Verification &v);

/// `allInt8` verifies the student with every candidate layer INT8 (its layers
/// are the candidates). Ends with `trial` having last built the returned set;
/// when no set meets `target`, that is every layer in FP32.
AccuracyControlResult controlAccuracy(const Verification &allInt8, const AccuracyTarget &target,
                                      const QuantTrial &trial, llvm::raw_ostream &log);

} // namespace ds::pipeline
