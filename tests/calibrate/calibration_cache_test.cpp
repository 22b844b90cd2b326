//===- calibration_cache_test.cpp - round trip and every malformed file ---===//
#include "calibrate/CalibrationCache.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace ds;
using namespace ds::calib;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
const std::string kSha = "3f2a0000000000000000000000000000000000000000000000000000000000c1";

std::string tempPath(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("ds-calib-cache-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

CalibrationCache sampleCache(Method method) {
  CalibrationCache c;
  c.modelSha256 = kSha;
  c.method = method;
  c.options.percentile = 99.9;
  c.samples = 12;
  c.skippedNonFinite = 1;
  c.source = "calib/";
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.1f, 1.3f);
  for (const char *name : {"b/conv", "a\"quoted\"", "z"}) {
    auto o = makeObserver(method, c.options);
    rt::Tensor t(rt::DType::F32, {1000});
    for (int64_t i = 0; i < 1000; ++i)
      t.mutableData<float>()[i] = i == 7 ? NAN : d(rng);
    o->observe(t);
    c.tensors[name] = CalibrationCache::fromObserver(*o);
  }
  c.tensors["z"].channelMin = {-1.0f, 0.1f};
  c.tensors["z"].channelMax = {2.0f, 0.3f};
  return c;
}

void expectEqual(const CalibrationCache &a, const CalibrationCache &b) {
  EXPECT_EQ(a.modelSha256, b.modelSha256);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.options, b.options);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.skippedNonFinite, b.skippedNonFinite);
  EXPECT_EQ(a.source, b.source);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto &[name, t] : a.tensors) {
    const TensorCalibration &u = b.tensors.at(name);
    EXPECT_EQ(t.range, u.range) << name;
    EXPECT_EQ(t.count, u.count);
    EXPECT_EQ(t.nonFinite, u.nonFinite);
    EXPECT_EQ(t.observedMin, u.observedMin);
    EXPECT_EQ(t.observedMax, u.observedMax);
    ASSERT_EQ(t.histogram.has_value(), u.histogram.has_value());
    if (t.histogram) {
      EXPECT_EQ(t.histogram->bins(), u.histogram->bins());
      EXPECT_EQ(t.histogram->halfRange(), u.histogram->halfRange());
    }
    EXPECT_EQ(t.channelMin, u.channelMin);
    EXPECT_EQ(t.channelMax, u.channelMax);
  }
}

/// The error text of reading `text` as a cache.
std::string errorOf(const std::string &text) {
  std::string path = tempPath("bad.json");
  writeText(path, text);
  try {
    readCalibrationCache(path, kSha);
  } catch (const CacheError &e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ": ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what.substr(path.size() + 2);
  }
  ADD_FAILURE() << "no error for " << text;
  return "";
}

/// A valid cache's JSON with one edit applied.
std::string edited(const std::function<void(json &)> &edit, Method method = Method::Entropy) {
  json j = json::parse(serializeCalibrationCache(sampleCache(method)));
  edit(j);
  return j.dump();
}
} // namespace

TEST(CalibrationCache, RoundTripsAndRewritesByteIdentically) {
  for (Method m : {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse}) {
    CalibrationCache c = sampleCache(m);
    std::string path = tempPath("cache.json");
    writeCalibrationCache(path, c);
    CacheReadResult r = readCalibrationCache(path, kSha);
    ASSERT_EQ(r.status, CacheStatus::Ok) << r.why;
    expectEqual(c, *r.cache);
    std::string first = readText(path);
    writeCalibrationCache(path, *r.cache);
    EXPECT_EQ(readText(path), first) << methodName(m);
    // The stored histogram recomputes the same range.
    for (const auto &[name, t] : r.cache->tensors)
      EXPECT_EQ(computeRange(m, r.cache->options, t.histogram ? &*t.histogram : nullptr,
                             t.observedMin, t.observedMax),
                t.range);
  }
}

TEST(CalibrationCache, LayoutIsSortedOneTensorPerLine) {
  std::string text = serializeCalibrationCache(sampleCache(Method::MinMax));
  EXPECT_EQ(text.rfind("{\n \"format\": \"ds-calibration-cache\",\n \"method\": \"minmax\",\n", 0), 0u)
      << text;
  size_t a = text.find("\n  \"a\\\"quoted\\\"\": {"), b = text.find("\n  \"b/conv\": {");
  EXPECT_NE(a, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_NE(text.find("\n \"version\": 2\n}\n"), std::string::npos);
  // Floats are short: 0.1f is written as 0.1, not 0.100000001.
  CalibrationCache c;
  c.tensors["t"].range = {0.1f, 0.3f};
  c.tensors["t"].observedMin = 0.1f;
  c.tensors["t"].observedMax = 0.3f;
  c.tensors["t"].count = 2;
  std::string small = serializeCalibrationCache(c);
  EXPECT_NE(small.find("\"max\":0.3,"), std::string::npos) << small;
  EXPECT_EQ(parseCalibrationCache(small, "x").tensors["t"].range, (Range{0.1f, 0.3f}));
}

TEST(CalibrationCache, RecomputesWithAnotherPercentile) {
  CalibrationCache c = sampleCache(Method::Percentile);
  const TensorCalibration &t = c.tensors["z"];
  ObserverOptions wider = c.options;
  wider.percentile = 100;
  Range all = computeRange(Method::Percentile, wider, &*t.histogram, t.observedMin, t.observedMax);
  EXPECT_EQ(all, (Range{t.observedMin, t.observedMax}));
  ObserverOptions narrower = c.options;
  narrower.percentile = 95;
  Range some = computeRange(Method::Percentile, narrower, &*t.histogram, t.observedMin, t.observedMax);
  EXPECT_LT(some.max, t.range.max);
  EXPECT_GT(some.min, t.range.min);
}

TEST(CalibrationCache, StatusForMissingOtherFormatAndOtherModel) {
  EXPECT_EQ(readCalibrationCache(tempPath("none.json"), kSha).status, CacheStatus::Missing);
  std::string path = tempPath("v1.json");
  writeText(path, R"({"format": "ds-calibration-cache", "version": 1, "tensors": {}})");
  CacheReadResult r = readCalibrationCache(path, kSha);
  EXPECT_EQ(r.status, CacheStatus::OtherFormat);
  EXPECT_NE(r.why.find("version 1"), std::string::npos) << r.why;
  writeText(path, edited([](json &j) { j["format"] = "something-else"; }));
  EXPECT_EQ(readCalibrationCache(path, kSha).status, CacheStatus::OtherFormat);
  writeCalibrationCache(path, sampleCache(Method::Mse));
  r = readCalibrationCache(path, "another");
  EXPECT_EQ(r.status, CacheStatus::OtherModel);
  ASSERT_TRUE(r.cache.has_value());
  EXPECT_NE(r.why.find(kSha), std::string::npos);
}

TEST(CalibrationCache, EveryMalformedFileIsAOneLineError) {
  EXPECT_NE(errorOf("{\"format\": ").find("malformed JSON"), std::string::npos);
  EXPECT_NE(errorOf("[1, 2]").find("not an object"), std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j.erase("format"); })).find("missing field 'format'"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j.erase("model_sha256"); })).find("'model_sha256'"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["method"] = "kl"; })).find("not one of"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["samples"] = -1; })).find("'samples' is not a non-negative"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["samples"] = 1.5; })).find("'samples'"), std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["extra"] = 1; })).find("unknown field 'extra'"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["options"]["num_bins"] = 1000; })).find("options: "),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["options"]["percentile"] = 20; })).find("percentile"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["tensors"] = json::array(); })).find("'tensors' is not an object"),
            std::string::npos);
  auto tensor = [](const std::function<void(json &)> &f) {
    return edited([&](json &j) { f(j["tensors"]["z"]); });
  };
  EXPECT_NE(errorOf(tensor([](json &t) { t.erase("min"); })).find("tensor 'z': missing field 'min'"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["min"] = "x"; })).find("'min' is not a number"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["min"] = 5.0; t["max"] = 1.0; })).find("min > max"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["max"] = 1e39; })).find("does not fit float32"),
            std::string::npos);
  // Non-finite numbers are not JSON; an overflowing literal is malformed.
  std::string text = edited([](json &j) { j["tensors"]["z"]["max"] = 12345.0; });
  text.replace(text.find("12345.0"), 7, "1e999");
  EXPECT_NE(errorOf(text).find("malformed JSON: number overflow parsing '1e999'"), std::string::npos);
  text.replace(text.find("1e999"), 5, "NaN");
  EXPECT_NE(errorOf(text).find("malformed JSON"), std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["max"] = 100.0; })).find("outside [observed_min"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t.erase("histogram"); })).find("missing field 'histogram'"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["histogram"]["counts"][0] = 999999; })).find("counts sum to"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["histogram"]["half_range"] = 3.0; })).find("power of two"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["histogram"]["first_bin"] = 4095; })).find("exceeds num_bins"),
            std::string::npos);
  EXPECT_NE(errorOf(tensor([](json &t) { t["channel_min"] = {1.0}; })).find("differ in length"),
            std::string::npos);
  EXPECT_NE(errorOf(edited([](json &j) { j["tensors"]["z"]["histogram"] = json::object(); },
                           Method::MinMax))
                .find("unexpected 'histogram'"),
            std::string::npos);
}
