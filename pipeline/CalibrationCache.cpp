//===- CalibrationCache.cpp -----------------------------------------------===//
#include "pipeline/CalibrationCache.h"

#include "ds/runtime/FileHelpers.h"
#include "ds/runtime/Sha256.h"
#include "tools/support/Numbers.h"
#include "tools/support/ToolSupport.h"

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using ds::tools::ToolError;
using nlohmann::json;

namespace ds::pipeline {

namespace {
constexpr const char *kFormat = "ds-calibration-cache";
constexpr int kVersion = 2; // 2: the key covers external data, calibration data, options, version

/// A float32 value: finite and within float's range (1e39 would become inf).
float finiteFloat(const json &j, const std::string &path, const std::string &what) {
  if (!j.is_number())
    throw ToolError(path + ": " + what + " is not a number");
  return static_cast<float>(tools::checkReal(j.get<double>(), path + ": " + what, -FLT_MAX, FLT_MAX));
}

/// Feeds the bytes of the regular file `path` to `sha`.
void hashFile(rt::Sha256 &sha, const std::string &path) {
  int fd = rt::files::openRegularFile(path);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw ToolError(path + ": read error: " + std::strerror(err));
    }
    if (n == 0)
      break;
    sha.update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
}

/// Each name with its length first, so ("ab","c") and ("a","bc") differ.
void hashName(rt::Sha256 &sha, const std::string &name) {
  std::string framed = std::to_string(name.size()) + ":" + name;
  sha.update(framed.data(), framed.size());
}

void collectExternal(const onnx::TensorProto &t, std::vector<std::string> &out) {
  if (t.data_location() != onnx::TensorProto::EXTERNAL)
    return;
  for (const auto &entry : t.external_data())
    if (entry.key() == "location")
      out.push_back(entry.value());
}

void collectExternal(const onnx::GraphProto &g, std::vector<std::string> &out) {
  for (const auto &t : g.initializer())
    collectExternal(t, out);
  for (const auto &t : g.sparse_initializer()) {
    collectExternal(t.values(), out);
    collectExternal(t.indices(), out);
  }
  for (const auto &node : g.node())
    for (const auto &a : node.attribute()) {
      collectExternal(a.t(), out);
      for (const auto &t : a.tensors())
        collectExternal(t, out);
      if (a.has_g())
        collectExternal(a.g(), out);
      for (const auto &sub : a.graphs())
        collectExternal(sub, out);
    }
}
} // namespace

CalibrationKey calibrationKey(const std::string &modelPath, const std::string &calibPath,
                              const CalibrationOptions &options) {
  CalibrationKey key;
  key.modelSha256 = options.modelSha256;
  key.method = options.method;
  std::ostringstream opts;
  opts.imbue(std::locale::classic());
  opts.precision(17);
  if (options.method == "percentile")
    opts << "percentile=" << options.percentile << ";";
  opts << "skip_non_finite=" << (options.skipNonFinite ? 1 : 0);
  key.options = opts.str();
  key.toolVersion = options.toolVersion;

  // The model's external data: the .onnx hash alone misses changed weights.
  rt::Sha256 ext;
  if (!modelPath.empty() && fs::path(modelPath).extension() == ".onnx") {
    onnx::ModelProto model;
    {
      int fd = rt::files::openRegularFile(modelPath);
      bool parsed = model.ParseFromFileDescriptor(fd);
      ::close(fd);
      if (!parsed)
        throw ToolError(modelPath + ": cannot parse the model to list its external data");
    }
    std::vector<std::string> locations;
    collectExternal(model.graph(), locations);
    std::sort(locations.begin(), locations.end());
    locations.erase(std::unique(locations.begin(), locations.end()), locations.end());
    fs::path dir = fs::path(modelPath).parent_path();
    for (const auto &location : locations) {
      hashName(ext, location);
      hashFile(ext, (dir / location).string());
    }
  }
  key.externalDataSha256 = ext.hexDigest();

  // The calibration data: every regular file under calibPath, by relative name.
  if (!calibPath.empty()) {
    rt::Sha256 calib;
    std::error_code ec;
    if (fs::is_directory(calibPath, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(calibPath, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec))
          files.push_back(it->path());
      if (ec)
        throw ToolError(calibPath + ": cannot list the calibration data: " + ec.message());
      std::sort(files.begin(), files.end());
      for (const auto &f : files) {
        hashName(calib, fs::relative(f, calibPath).string());
        hashFile(calib, f.string());
      }
    } else {
      hashFile(calib, calibPath);
    }
    key.calibSha256 = calib.hexDigest();
  }
  return key;
}

namespace {

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
                                                      const CalibrationKey &key, std::string &why) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) {
    why = "no cache file yet";
    return std::nullopt;
  }
  std::string text;
  try {
    text = rt::files::readWholeFile(path); // regular files only: a FIFO would block
  } catch (const rt::Error &e) {
    throw ToolError(std::string(e.what()) + " (--calib-cache)");
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw ToolError(path + ": not a calibration cache (malformed JSON); delete it to recalibrate");
  if (stringField(j, "format") != kFormat)
    throw ToolError(path + ": not a calibration cache (format is not '" + std::string(kFormat) + "')");
  if (j.contains("version") && j["version"].is_number_integer() && j["version"].get<int64_t>() >= 1 &&
      j["version"].get<int64_t>() < kVersion) {
    why = "the cache is from an older ds-optimize (version " +
          std::to_string(j["version"].get<int64_t>()) + ")";
    return std::nullopt;
  }
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != kVersion)
    throw ToolError(path + ": calibration cache version is not " + std::to_string(kVersion) +
                    "; delete it to recalibrate");
  const std::pair<const char *, std::pair<std::string, const char *>> checks[] = {
      {"model_sha256", {key.modelSha256, "another model"}},
      {"external_data_sha256", {key.externalDataSha256, "other external data (weights)"}},
      {"calib_sha256", {key.calibSha256, "other calibration data"}},
      {"method", {key.method, "another --calib-method"}},
      {"options", {key.options, "other calibration options"}},
      {"tool_version", {key.toolVersion, "another ds-optimize version"}}};
  for (const auto &[field, want] : checks) {
    if (std::string(field) == "calib_sha256" && want.first.empty())
      continue; // no --calib: the cache is the data
    if (stringField(j, field) != want.first) {
      why = std::string("the cache was made for ") + want.second;
      return std::nullopt;
    }
  }
  CalibrationResult r;
  r.fromCache = true;
  r.cacheFile = path;
  r.source = stringField(j, "source");
  if (!j.contains("samples") || !j["samples"].is_number_integer() || !j.contains("tensors") ||
      !j["tensors"].is_object())
    throw ToolError(path + ": calibration cache lacks 'samples' or 'tensors'");
  r.samples = j["samples"].get<int64_t>();
  if (r.samples < 0)
    throw ToolError(path + ": calibration cache 'samples' is negative");
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
                           const CalibrationKey &key) {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["model_sha256"] = key.modelSha256;
  j["external_data_sha256"] = key.externalDataSha256;
  j["calib_sha256"] = key.calibSha256;
  j["method"] = key.method;
  j["options"] = key.options;
  j["tool_version"] = key.toolVersion;
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
  try {
    rt::files::writeFileAtomically(path, j.dump(1) + "\n");
  } catch (const std::exception &e) {
    throw ToolError(std::string(e.what()) + " (writing the calibration cache)");
  }
}

} // namespace ds::pipeline
