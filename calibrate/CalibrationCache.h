//===- CalibrationCache.h - calibration results as a reusable JSON file ---===//
//
// Calibration is the slow phase; its result does not depend on the hardware
// profile (DESIGN §2 phase 5), so it is saved once and reused. The caller (the
// compiler's calibrate driver) fills a CalibrationCache from its observers,
// writes it, and on the next run reads it back and decides from `status`
// whether to reuse it. docs/calibration-cache.md is the user-facing schema.
//
// Schema (version 2; keys sorted, one tensor per line):
//   {
//    "format": "ds-calibration-cache",
//    "method": "entropy",                    minmax | percentile | entropy | mse
//    "model_sha256": "<hex, as given>",
//    "options": {"entropy_levels": 128, "mse_symmetric": false, "num_bins": 4096,
//                "percentile": 99.99, "percentile_mode": "abs"},
//    "samples": 64,                          model runs observed
//    "skipped_non_finite": 0,                samples dropped by --calib-nan=skip
//    "source": "calib/",                     what was calibrated on (free text)
//    "tensors": {
//     "<tensor>": {"count": 4096, "max": 3.5, "min": -1.25, "non_finite": 0,
//                  "observed_max": 7.75, "observed_min": -1.25,
//                  "histogram": {"counts": [3, 0, 5], "first_bin": 2040,
//                                "half_range": 8.0},      (histogram methods)
//                  "channel_max": [...], "channel_min": [...]}   (optional)
//    },
//    "version": 2
//   }
// `histogram.counts` are bins first_bin.. of the signed histogram of
// options.num_bins bins over [-half_range, half_range) (Histogram.h), trimmed
// of empty bins at both ends: enough to recompute the range with other
// options (computeRange). Floats are written with the shortest text that reads
// back as the same float32, so write -> read -> write is byte-identical.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/Observer.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::calib {

/// A malformed or unreadable cache; what() is "PATH: <what is wrong>".
class CacheError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct TensorCalibration {
  Range range;                // what to quantize over
  int64_t count = 0;          // finite values observed
  int64_t nonFinite = 0;      // NaN/Inf values excluded
  float observedMin = 0.0f, observedMax = 0.0f;
  std::optional<Histogram> histogram;         // histogram methods
  std::vector<float> channelMin, channelMax;  // optional, per last-axis channel
};

struct CalibrationCache {
  static constexpr const char *kFormat = "ds-calibration-cache";
  static constexpr int kVersion = 2;

  std::string modelSha256;
  Method method = Method::MinMax;
  ObserverOptions options;
  int64_t samples = 0;
  int64_t skippedNonFinite = 0;
  std::string source;
  std::map<std::string, TensorCalibration> tensors;

  /// The entry for a finished observer (range, counts, histogram if any).
  static TensorCalibration fromObserver(const Observer &observer);
};

/// The exact bytes write() puts in the file (deterministic).
std::string serializeCalibrationCache(const CalibrationCache &cache);
/// Parses and validates; `path` only names the source in errors.
CalibrationCache parseCalibrationCache(const std::string &text, const std::string &path);

/// Writes via a temporary file renamed into place. Throws CacheError.
void writeCalibrationCache(const std::string &path, const CalibrationCache &cache);

enum class CacheStatus {
  Ok,            // valid and for this model: `cache` is set
  Missing,       // no file at path
  OtherFormat,   // valid JSON but another "format" or "version"
  OtherModel,    // valid, but made for another model_sha256: `cache` is set
};

struct CacheReadResult {
  CacheStatus status = CacheStatus::Missing;
  std::optional<CalibrationCache> cache;
  std::string why; // one line for the caller's log when status != Ok
};

/// Reads `path`. Missing file, another format/version and another model are
/// reported in the result (the caller decides: recalibrate or fail); anything
/// else wrong (unreadable, malformed JSON, a missing or ill-typed field, a
/// non-finite number, min > max, inconsistent histogram) throws CacheError.
CacheReadResult readCalibrationCache(const std::string &path,
                                     const std::string &expectedModelSha256);

} // namespace ds::calib
