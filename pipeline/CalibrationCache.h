//===- CalibrationCache.h - reuse calibration across compiles -------------===//
//
// The calibration result as a JSON file (DESIGN §2 phase 5: independent of the
// profile, reusable). `ds-optimize --calib-cache FILE` reads FILE when it was
// made from the same bytes (model, external data, calibration data), method,
// options and tool version, and otherwise calibrates and writes it. Schema
// (docs/calibration-cache.md):
//
//   {"format": "ds-calibration-cache", "version": 2,
//    "model_sha256": "...", "external_data_sha256": "...", "calib_sha256": "...",
//    "method": "minmax", "options": "...", "tool_version": "...", "source": "calib/",
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

/// What a calibration depended on; a cache is reused only when all of it matches.
struct CalibrationKey {
  std::string modelSha256;        // the .onnx file
  std::string externalDataSha256; // every external-data file it names, in order, with names
  std::string calibSha256;        // every calibration file (names and bytes); "" = none given
  std::string method;
  std::string options;            // the method's and the data handling's options, as text
  std::string toolVersion;
};

/// The key for calibrating `modelPath` on `calibPath` (may be empty: cache only)
/// with `options`. Reads (hashes) the model's external data and the calibration files.
CalibrationKey calibrationKey(const std::string &modelPath, const std::string &calibPath,
                              const CalibrationOptions &options);

/// The cached result, or nullopt when `path` does not exist or was made for
/// another model, external data, calibration data, method, options or tool
/// version (`why` says which). An empty key.calibSha256 accepts any calibration
/// data (the cache alone was asked for). Throws tools::ToolError "PATH: ..."
/// when the file exists but is malformed or not a regular file.
std::optional<CalibrationResult> readCalibrationCache(const std::string &path,
                                                      const CalibrationKey &key, std::string &why);

/// Writes `result` (durably, via a mkstemp file beside `path` renamed into place).
void writeCalibrationCache(const std::string &path, const CalibrationResult &result,
                           const CalibrationKey &key);

} // namespace ds::pipeline
