//===- Coverage.h - what the requested optimizations reached, and why not --===//
//
// "Never silently do nothing": the summary and report.json say, per op class,
// how many layers were quantized out of how many candidates with the reasons
// for the rest, and per fusion how many subgraphs were fused with how many of
// its anchor ops were left unfused. An INT8 job that quantizes none of its
// candidates is refused (exit 2) unless the user says that is what they want.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "pipeline/Report.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

namespace ds::pipeline {

/// The INT8 and FP32-candidate layers of `module` in program order.
std::vector<LayerPrecision> layerPrecisionsOf(mlir::ModuleOp module);

struct LayerClassCoverage {
  std::string opClass; // "MatMul/Gemm", "Conv"
  int candidates = 0, quantized = 0;
  std::map<std::string, int> reasons;          // why FP32 -> how many layers
  std::map<std::string, std::string> examples; // why FP32 -> the first such node
};

std::vector<LayerClassCoverage> layerCoverage(const std::vector<LayerPrecision> &layers);

/// Throws a ToolError (exit 2) when `layers` has no INT8 layer, naming the
/// commonest reason and the flag that accepts it.
void requireSomeQuantized(const std::vector<LayerPrecision> &layers, const std::string &model);

/// The fused ops of `optimized` against the decomposed anchors left over.
std::vector<FusionCoverage> fusionCoverage(mlir::ModuleOp optimized);

/// The summary's "layers" and "fused" lines.
void printCoverage(llvm::raw_ostream &os, const std::vector<LayerPrecision> &layers,
                   const std::vector<FusionCoverage> &fusions);

} // namespace ds::pipeline
