//===- CalibrationCache.cpp -----------------------------------------------===//
#include "pipeline/CalibrationCache.h"

#include "pipeline/AtomicDir.h"
#include "tools/support/ToolSupport.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using ds::tools::ToolError;
using nlohmann::json;

namespace ds::pipeline {

namespace {
constexpr const char *kFormat = "ds-calibration-cache";
constexpr int kVersion = 1;

float finiteFloat(const json &j, const std::string &path, const std::string &what) {
  if (!j.is_number())
    throw ToolError(path + ": " + what + " is not a number");
  double v = j.get<double>();
  if (!std::isfinite(v))
    throw ToolError(path + ": " + what + " is not finite");
  return static_cast<float>(v);
}

/// j[key] when it is a string, else "" (value() throws on a type mismatch).
std::string stringField(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<float> floatList(const json &j, const std::string &path, const std::string &what) {
  if (!j.is_array())
    throw ToolError(path + ": " + what + " is not a list of numbers");
  std::vector<float> out;
  for (const auto &v : j)
    out.push_back(finiteFloat(v, path, what));
  return out;
}
} // namespace

std::optional<CalibrationResult> readCalibrationCache(const std::string &path,
                                                      const std::string &modelSha256,
                                                      const std::string &method, std::string &why) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    why = "no cache file yet";
    return std::nullopt;
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw ToolError(path + ": not a calibration cache (malformed JSON); delete it to recalibrate");
  if (stringField(j, "format") != kFormat)
    throw ToolError(path + ": not a calibration cache (format is not '" + std::string(kFormat) + "')");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kVersion)
    throw ToolError(path + ": calibration cache version is not " + std::to_string(kVersion) +
                    "; delete it to recalibrate");
  if (stringField(j, "model_sha256") != modelSha256) {
    why = "the cache was made for another model";
    return std::nullopt;
  }
  if (stringField(j, "method") != method) {
    why = "the cache was made with --calib-method '" + stringField(j, "method") + "'";
    return std::nullopt;
  }
  CalibrationResult r;
  r.fromCache = true;
  r.source = stringField(j, "source");
  if (!j.contains("samples") || !j["samples"].is_number_integer() || !j.contains("tensors") ||
      !j["tensors"].is_object())
    throw ToolError(path + ": calibration cache lacks 'samples' or 'tensors'");
  r.samples = j["samples"].get<int64_t>();
  if (auto it = j.find("skipped_non_finite"); it != j.end() && it->is_number_integer())
    r.skippedNonFinite = it->get<int64_t>();
  for (const auto &[node, t] : j["tensors"].items()) {
    if (!t.is_object() || !t.contains("min") || !t.contains("max"))
      throw ToolError(path + ": tensor '" + node + "' has no min/max");
    float lo = finiteFloat(t["min"], path, "min of '" + node + "'");
    float hi = finiteFloat(t["max"], path, "max of '" + node + "'");
    if (lo > hi)
      throw ToolError(path + ": tensor '" + node + "' has min > max");
    r.ranges[node] = {lo, hi};
    if (t.contains("channel_min") || t.contains("channel_max")) {
      auto cmin = floatList(t.contains("channel_min") ? t["channel_min"] : json(), path,
                            "channel_min of '" + node + "'");
      auto cmax = floatList(t.contains("channel_max") ? t["channel_max"] : json(), path,
                            "channel_max of '" + node + "'");
      if (cmin.size() != cmax.size())
        throw ToolError(path + ": tensor '" + node + "' has channel_min and channel_max of different lengths");
      r.channelRanges[node] = {cmin, cmax};
    }
  }
  return r;
}

void writeCalibrationCache(const std::string &path, const CalibrationResult &result,
                           const std::string &modelSha256, const std::string &method) {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["model_sha256"] = modelSha256;
  j["method"] = method;
  j["source"] = result.source;
  j["samples"] = result.samples;
  j["skipped_non_finite"] = result.skippedNonFinite;
  json tensors = json::object();
  for (const auto &[node, range] : result.ranges) {
    json t = {{"min", range.first}, {"max", range.second}};
    if (auto it = result.channelRanges.find(node); it != result.channelRanges.end()) {
      t["channel_min"] = it->second.first;
      t["channel_max"] = it->second.second;
    }
    tensors[node] = t;
  }
  j["tensors"] = tensors;
  fs::path target(path);
  fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".tmp");
  try {
    writeFileDurably(tmp, j.dump(1) + "\n");
    fs::rename(tmp, target);
  } catch (const std::exception &e) {
    throw ToolError(path + ": cannot write the calibration cache: " + e.what());
  }
}

} // namespace ds::pipeline
