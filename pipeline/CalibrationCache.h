//===- CalibrationCache.h - reuse calibration across compiles -------------===//
//
// The calibration result as a JSON file (DESIGN §2 phase 5: independent of the
// profile, reusable). `ds-optimize --calib-cache FILE` reads FILE when it was
// made for the same model (SHA-256) and method, and otherwise calibrates and
// writes it. Schema (docs/calibration-cache.md):
//
//   {"format": "ds-calibration-cache", "version": 1,
//    "model_sha256": "...", "method": "minmax", "source": "calib/",
//    "samples": 13, "skipped_non_finite": 0,
//    "tensors": {"<node>": {"min": -1.5, "max": 3.25,
//                           "channel_min": [...], "channel_max": [...]}}}
//
// Written deterministically (sorted keys, shortest round-trip floats).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "pipeline/Calibrate.h"

#include <optional>
#include <string>

namespace ds::pipeline {

/// The cached result, or nullopt when `path` does not exist or was made for
/// another model or method (`why` says which). Throws tools::ToolError
/// "PATH: ..." when the file exists but is malformed.
std::optional<CalibrationResult> readCalibrationCache(const std::string &path,
                                                      const std::string &modelSha256,
                                                      const std::string &method, std::string &why);

/// Writes `result` (durably, via a temporary file renamed into place).
void writeCalibrationCache(const std::string &path, const CalibrationResult &result,
                           const std::string &modelSha256, const std::string &method);

} // namespace ds::pipeline
