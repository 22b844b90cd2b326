//===- Report.h - report.json and report.html of an artifact --------------===//
//
// What a user reads to decide whether to ship an artifact: accuracy against
// the FP32 teacher, size before/after, the precision of every layer (and why
// a layer stayed FP32), and per-layer quantization error. Both files are
// deterministic (no timestamps or timings; those go to the console summary),
// so two runs give byte-identical artifacts. Schema: docs/report-format.md.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "pipeline/Verify.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ds::pipeline {

struct LayerPrecision {
  std::string node, op, precision, reason; // reason: why FP32 (empty for INT8)
};

/// One fusion's reach: `fused` subgraphs replaced, `unfused` of its anchor ops
/// (Softmax for attention, Sqrt for RMSNorm, ...) still decomposed.
struct FusionCoverage {
  std::string name, anchor;
  int fused = 0, unfused = 0;
};

struct ReportData {
  std::string modelFile, modelSha256, profile, precision;
  std::string calibMethod, calibSource;      // empty when not calibrated
  int64_t calibSamples = 0, calibSkippedNonFinite = 0;
  std::string evalSource;                    // "eval" path, or the calibration set
  uint64_t weightBytesBefore = 0, weightBytesAfter = 0;
  std::optional<double> maxDropPercent;      // the user's targets
  std::optional<double> maxMeanKl;
  std::optional<double> minTop1;
  std::optional<double> dropPercent;         // measured, in the target's unit
  std::string dropMetric;                    // what dropPercent measures
  std::optional<int> accuracyControlTrials;  // quantize+verify runs of --accuracy-control
  bool passed = true;
  Verification verification;
  std::vector<LayerPrecision> layers;
  std::vector<FusionCoverage> fusions;
};

nlohmann::json reportJson(const ReportData &data);
std::string reportHtml(const ReportData &data);

} // namespace ds::pipeline
