//===- CalibrationCache.cpp -----------------------------------------------===//
#include "calibrate/CalibrationCache.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

using nlohmann::json;
namespace fs = std::filesystem;

namespace ds::calib {

TensorCalibration CalibrationCache::fromObserver(const Observer &o) {
  TensorCalibration t;
  t.range = o.range();
  t.count = o.count();
  t.nonFinite = o.nonFiniteCount();
  t.observedMin = o.observedMin();
  t.observedMax = o.observedMax();
  if (const Histogram *h = o.histogram())
    t.histogram = *h;
  return t;
}

// ---------------------------------------------------------------- writing --

namespace {

/// The double whose shortest text reads back as `f`: the shortest float
/// digits when they survive the float->double->float trip, else f exactly.
json floatJson(float f) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f);
  *res.ptr = '\0';
  double d = std::strtod(buf, nullptr);
  if (static_cast<float>(d) != f)
    d = static_cast<double>(f);
  return d;
}

json floatArray(const std::vector<float> &v) {
  json a = json::array();
  for (float f : v)
    a.push_back(floatJson(f));
  return a;
}

json tensorJson(const TensorCalibration &t) {
  json j = json::object();
  j["min"] = floatJson(t.range.min);
  j["max"] = floatJson(t.range.max);
  j["count"] = t.count;
  j["non_finite"] = t.nonFinite;
  j["observed_min"] = floatJson(t.observedMin);
  j["observed_max"] = floatJson(t.observedMax);
  if (t.histogram) {
    const std::vector<uint64_t> &bins = t.histogram->bins();
    size_t first = 0, last = bins.size();
    while (first < last && bins[first] == 0)
      ++first;
    while (last > first && bins[last - 1] == 0)
      --last;
    json h = json::object();
    h["half_range"] = t.histogram->halfRange();
    h["first_bin"] = first;
    h["counts"] = std::vector<uint64_t>(bins.begin() + static_cast<std::ptrdiff_t>(first),
                                        bins.begin() + static_cast<std::ptrdiff_t>(last));
    j["histogram"] = h;
  }
  if (!t.channelMin.empty() || !t.channelMax.empty()) {
    j["channel_min"] = floatArray(t.channelMin);
    j["channel_max"] = floatArray(t.channelMax);
  }
  return j;
}

std::string dumpJson(const json &j) {
  try {
    return j.dump();
  } catch (const json::exception &e) {
    throw CacheError(std::string("calibration cache: cannot encode a name: ") + e.what());
  }
}

} // namespace

std::string serializeCalibrationCache(const CalibrationCache &c) {
  json top = json::object();
  top["format"] = CalibrationCache::kFormat;
  top["version"] = CalibrationCache::kVersion;
  top["model_sha256"] = c.modelSha256;
  top["method"] = methodName(c.method);
  top["options"] = {{"percentile", c.options.percentile},
                    {"percentile_mode", percentileModeName(c.options.percentileMode)},
                    {"num_bins", c.options.numBins},
                    {"entropy_levels", c.options.entropyLevels},
                    {"mse_symmetric", c.options.mseSymmetric}};
  top["samples"] = c.samples;
  top["skipped_non_finite"] = c.skippedNonFinite;
  top["source"] = c.source;
  top["tensors"] = json::object(); // placeholder: written one entry per line below

  std::string out = "{\n";
  bool firstKey = true;
  for (auto it = top.begin(); it != top.end(); ++it) { // json objects iterate sorted
    out += firstKey ? " " : ",\n ";
    firstKey = false;
    out += dumpJson(json(it.key())) + ": ";
    if (it.key() != "tensors") {
      out += dumpJson(it.value());
      continue;
    }
    if (c.tensors.empty()) {
      out += "{}";
      continue;
    }
    out += "{\n";
    bool firstTensor = true;
    for (const auto &[name, t] : c.tensors) { // std::map: sorted by name
      out += firstTensor ? "  " : ",\n  ";
      firstTensor = false;
      out += dumpJson(json(name)) + ": " + dumpJson(tensorJson(t));
    }
    out += "\n }";
  }
  out += "\n}\n";
  return out;
}

void writeCalibrationCache(const std::string &path, const CalibrationCache &cache) {
  std::string text = serializeCalibrationCache(cache);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    throw CacheError(path + ": cannot create " + tmp);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
            ::fsync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  std::error_code ec;
  if (ok)
    fs::rename(tmp, path, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    throw CacheError(path + ": cannot write the calibration cache");
  }
}

// ---------------------------------------------------------------- reading --

namespace {

/// Field access that throws "PATH: WHERE..." for anything out of schema.
class Reader {
public:
  explicit Reader(const std::string &path) : path_(path) {}

  [[noreturn]] void fail(const std::string &where, const std::string &what) const {
    throw CacheError(path_ + ": " + where + what + "; delete the file to recalibrate");
  }

  const json &field(const json &obj, const std::string &where, const char *key) const {
    auto it = obj.find(key);
    if (it == obj.end())
      fail(where, std::string("missing field '") + key + "'");
    return *it;
  }
  void onlyKeys(const json &obj, const std::string &where, std::set<std::string> allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key()))
        fail(where, "unknown field '" + it.key() + "'");
  }
  const json &object(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_object())
      fail(where, std::string("'") + key + "' is not an object");
    return v;
  }
  std::string string(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_string())
      fail(where, std::string("'") + key + "' is not a string");
    return v.get<std::string>();
  }
  bool boolean(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_boolean())
      fail(where, std::string("'") + key + "' is not true/false");
    return v.get<bool>();
  }
  int64_t countValue(const json &v, const std::string &where, const std::string &what) const {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX) ||
        v.get<int64_t>() < 0)
      fail(where, "'" + what + "' is not a non-negative integer");
    return v.get<int64_t>();
  }
  int64_t count(const json &obj, const std::string &where, const char *key) const {
    return countValue(field(obj, where, key), where, key);
  }
  double number(const json &v, const std::string &where, const std::string &what) const {
    if (!v.is_number())
      fail(where, "'" + what + "' is not a number");
    double d = v.get<double>();
    if (!std::isfinite(d))
      fail(where, "'" + what + "' is not finite");
    return d;
  }
  float floatValue(const json &v, const std::string &where, const std::string &what) const {
    double d = number(v, where, what);
    float f = static_cast<float>(d);
    if (!std::isfinite(f))
      fail(where, "'" + what + "' does not fit float32");
    return f;
  }
  float float32(const json &obj, const std::string &where, const char *key) const {
    return floatValue(field(obj, where, key), where, key);
  }
  std::vector<float> floats(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_array())
      fail(where, std::string("'") + key + "' is not an array");
    std::vector<float> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(floatValue(v[i], where, std::string(key) + "[" + std::to_string(i) + "]"));
    return out;
  }

private:
  const std::string &path_;
};

ObserverOptions readOptions(const Reader &r, const json &o) {
  const std::string where = "options: ";
  r.onlyKeys(o, where, {"percentile", "percentile_mode", "num_bins", "entropy_levels", "mse_symmetric"});
  ObserverOptions opts;
  opts.percentile = r.number(r.field(o, where, "percentile"), where, "percentile");
  try {
    opts.percentileMode = parsePercentileMode(r.string(o, where, "percentile_mode"));
  } catch (const rt::Error &e) {
    r.fail(where, e.what());
  }
  int64_t bins = r.count(o, where, "num_bins"), levels = r.count(o, where, "entropy_levels");
  if (bins > (1 << 20) || levels > (1 << 20))
    r.fail(where, "num_bins/entropy_levels out of range");
  opts.numBins = static_cast<int>(bins);
  opts.entropyLevels = static_cast<int>(levels);
  opts.mseSymmetric = r.boolean(o, where, "mse_symmetric");
  try {
    validateOptions(opts);
  } catch (const rt::Error &e) {
    r.fail(where, e.what());
  }
  return opts;
}

TensorCalibration readTensor(const Reader &r, const json &j, const std::string &where,
                             Method method, const ObserverOptions &opts) {
  if (!j.is_object())
    r.fail(where, "is not an object");
  r.onlyKeys(j, where, {"min", "max", "count", "non_finite", "observed_min", "observed_max",
                        "histogram", "channel_min", "channel_max"});
  TensorCalibration t;
  t.range = {r.float32(j, where, "min"), r.float32(j, where, "max")};
  if (t.range.min > t.range.max)
    r.fail(where, "min > max");
  t.count = r.count(j, where, "count");
  t.nonFinite = r.count(j, where, "non_finite");
  t.observedMin = r.float32(j, where, "observed_min");
  t.observedMax = r.float32(j, where, "observed_max");
  if (t.observedMin > t.observedMax)
    r.fail(where, "observed_min > observed_max");
  if (t.count && (t.range.min < t.observedMin || t.range.max > t.observedMax))
    r.fail(where, "range [min, max] is outside [observed_min, observed_max]");

  bool wantsHistogram = method != Method::MinMax;
  if (j.contains("histogram") != wantsHistogram)
    r.fail(where, wantsHistogram ? std::string("missing field 'histogram' (method ") +
                                       methodName(method) + ")"
                                 : "unexpected 'histogram' for method minmax");
  if (wantsHistogram) {
    const json &h = r.object(j, where, "histogram");
    std::string hw = where + "histogram: ";
    r.onlyKeys(h, hw, {"half_range", "first_bin", "counts"});
    double halfRange = r.number(r.field(h, hw, "half_range"), hw, "half_range");
    int64_t first = r.count(h, hw, "first_bin");
    const json &counts = r.field(h, hw, "counts");
    if (!counts.is_array())
      r.fail(hw, "'counts' is not an array");
    if (first + static_cast<int64_t>(counts.size()) > opts.numBins)
      r.fail(hw, "first_bin + len(counts) exceeds num_bins " + std::to_string(opts.numBins));
    std::vector<uint64_t> bins(static_cast<size_t>(opts.numBins), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      int64_t c = r.countValue(counts[i], hw, "counts[" + std::to_string(i) + "]");
      bins[static_cast<size_t>(first) + i] = static_cast<uint64_t>(c);
      total += static_cast<uint64_t>(c);
    }
    if (total != static_cast<uint64_t>(t.count))
      r.fail(hw, "counts sum to " + std::to_string(total) + ", not count " +
                     std::to_string(t.count));
    try {
      t.histogram = Histogram::fromCounts(halfRange, std::move(bins));
    } catch (const rt::Error &e) {
      r.fail(hw, e.what());
    }
    if (t.count && !(std::fabs(static_cast<double>(t.observedMin)) < halfRange &&
                     std::fabs(static_cast<double>(t.observedMax)) < halfRange))
      r.fail(hw, "observed range is outside half_range");
  }
  if (j.contains("channel_min") || j.contains("channel_max")) {
    t.channelMin = r.floats(j, where, "channel_min");
    t.channelMax = r.floats(j, where, "channel_max");
    if (t.channelMin.size() != t.channelMax.size())
      r.fail(where, "channel_min and channel_max differ in length");
    for (size_t i = 0; i < t.channelMin.size(); ++i)
      if (t.channelMin[i] > t.channelMax[i])
        r.fail(where, "channel_min[" + std::to_string(i) + "] > channel_max");
  }
  return t;
}

} // namespace

CalibrationCache parseCalibrationCache(const std::string &text, const std::string &path) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception &e) { // parse errors, number overflow (1e999)
    std::string what = e.what();
    size_t close = what.find("] ");
    throw CacheError(path + ": malformed JSON: " +
                     (close == std::string::npos ? what : what.substr(close + 2)) +
                     "; delete the file to recalibrate");
  }
  Reader r(path);
  if (!root.is_object())
    r.fail("", "the top level is not an object");
  r.onlyKeys(root, "", {"format", "version", "model_sha256", "method", "options", "samples",
                        "skipped_non_finite", "source", "tensors"});
  CalibrationCache c;
  std::string format = r.string(root, "", "format");
  int64_t version = r.count(root, "", "version");
  if (format != CalibrationCache::kFormat || version != CalibrationCache::kVersion)
    throw CacheError(path + ": format '" + format + "' version " + std::to_string(version) +
                     ", expected '" + CalibrationCache::kFormat + "' version " +
                     std::to_string(CalibrationCache::kVersion));
  c.modelSha256 = r.string(root, "", "model_sha256");
  try {
    c.method = parseMethod(r.string(root, "", "method"));
  } catch (const rt::Error &e) {
    r.fail("method: ", e.what());
  }
  c.options = readOptions(r, r.object(root, "", "options"));
  c.samples = r.count(root, "", "samples");
  c.skippedNonFinite = r.count(root, "", "skipped_non_finite");
  c.source = r.string(root, "", "source");
  const json &tensors = r.object(root, "", "tensors");
  for (auto it = tensors.begin(); it != tensors.end(); ++it)
    c.tensors[it.key()] =
        readTensor(r, it.value(), "tensor '" + it.key() + "': ", c.method, c.options);
  return c;
}

CacheReadResult readCalibrationCache(const std::string &path, const std::string &expectedSha256) {
  CacheReadResult result;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    result.status = CacheStatus::Missing;
    result.why = path + ": no calibration cache yet";
    return result;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof())
    throw CacheError(path + ": cannot read the calibration cache");
  // A wrong format or version is the caller's call (recalibrate or fail); it
  // is recognised before the rest of the schema, which may differ.
  try {
    json root = json::parse(text.str());
    if (root.is_object() && root.contains("format") && root.contains("version") &&
        (root["format"] != CalibrationCache::kFormat ||
         root["version"] != CalibrationCache::kVersion)) {
      result.status = CacheStatus::OtherFormat;
      result.why = path + ": format " + root["format"].dump() + " version " +
                   root["version"].dump() + ", this build reads '" + CalibrationCache::kFormat +
                   "' version " + std::to_string(CalibrationCache::kVersion);
      return result;
    }
  } catch (const json::exception &) {
    // parseCalibrationCache below reports it.
  }
  CalibrationCache cache = parseCalibrationCache(text.str(), path);
  if (cache.modelSha256 != expectedSha256) {
    result.status = CacheStatus::OtherModel;
    result.why = path + ": made for model sha256 " + cache.modelSha256 + ", not " + expectedSha256;
  } else {
    result.status = CacheStatus::Ok;
  }
  result.cache = std::move(cache);
  return result;
}

} // namespace ds::calib
