//===- artifact_test.cpp - the fixture artifact through the C API ---------===//
//
// Good runs against a naive computation from weights.bin, and every way an
// artifact or an input can be bad: each must give the documented status and
// one line naming the problem, never a crash. Also the runner's exit codes.
//
//===----------------------------------------------------------------------===//
#include "ds_runtime.h"

#include "ds/runtime/NpyIO.h"
#include "ds/runtime/Sha256.h"
#include "ds/runtime/Weights.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
namespace rt = ds::rt;
using nlohmann::json;

namespace {

const fs::path kFixture = DS_FIXTURE_DIR;

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
void writeFile(const fs::path &p, const std::string &bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// A scratch copy of the fixture artifact, removed at the end of the test.
class ArtifactCopy {
public:
  ArtifactCopy() {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ds-artifact-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::copy(kFixture, dir_, fs::copy_options::recursive);
  }
  ~ArtifactCopy() { fs::remove_all(dir_); }
  const fs::path &dir() const { return dir_; }
  json manifest() const { return json::parse(readFile(dir_ / "manifest.json")); }
  void setManifest(const json &m) const { writeFile(dir_ / "manifest.json", m.dump(2)); }
  void editManifest(const std::function<void(json &)> &edit) const {
    json m = manifest();
    edit(m);
    setManifest(m);
  }

private:
  fs::path dir_;
};

struct OpenResult {
  ds_status status;
  std::string message;
};

OpenResult tryOpen(const fs::path &dir) {
  ds_model *model = reinterpret_cast<ds_model *>(0x1);
  ds_status status = ds_model_open(dir.c_str(), nullptr, &model);
  OpenResult r{status, status == DS_OK ? "" : ds_last_error()};
  if (status != DS_OK)
    EXPECT_EQ(model, nullptr);
  ds_model_release(model);
  return r;
}

/// The failure must be `status` with one line containing `needle`.
void expectOpenFails(const fs::path &dir, ds_status status, const std::string &needle) {
  OpenResult r = tryOpen(dir);
  EXPECT_EQ(r.status, status) << ds_status_name(r.status) << ": " << r.message;
  EXPECT_NE(r.message.find(needle), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
}

/// relu(x @ W + b) with W, b read from weights.bin at the manifest's offsets.
std::vector<float> naive(const std::vector<float> &x, int64_t rows) {
  json m = json::parse(readFile(kFixture / "manifest.json"));
  std::string w = readFile(kFixture / "weights.bin");
  auto at = [&](const char *name) {
    for (const json &t : m["weights"]["tensors"])
      if (t["name"] == name)
        return reinterpret_cast<const float *>(w.data() + t["offset"].get<size_t>());
    throw std::runtime_error("no tensor");
  };
  const float *W = at("W"), *b = at("b");
  std::vector<float> y(static_cast<size_t>(rows) * 3);
  for (int64_t r = 0; r < rows; ++r)
    for (int j = 0; j < 3; ++j) {
      float acc = 0;
      for (int k = 0; k < 4; ++k)
        acc += x[r * 4 + k] * W[k * 3 + j];
      y[r * 3 + j] = std::max(acc + b[j], 0.0f);
    }
  return y;
}

std::vector<float> sampleInput(int64_t rows) {
  std::vector<float> x(static_cast<size_t>(rows) * 4);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(static_cast<int>(i * 7 % 11) - 5) * 0.5f;
  return x;
}

class Model {
public:
  explicit Model(const fs::path &dir, int threads = 0) {
    ds_model_options o;
    ds_model_options_init(&o);
    o.num_threads = threads;
    EXPECT_EQ(ds_model_open(dir.c_str(), &o, &m_), DS_OK) << ds_last_error();
  }
  ~Model() { ds_model_release(m_); }
  ds_model *get() const { return m_; }

private:
  ds_model *m_ = nullptr;
};

} // namespace

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(rt::Sha256::hexOf("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(rt::Sha256::hexOf(m448, std::strlen(m448)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(rt::Sha256::hexOf("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // A million 'a', fed in uneven pieces to exercise the streaming buffer.
  std::string a(1000000, 'a');
  rt::Sha256 h;
  for (size_t off = 0, step = 1; off < a.size(); off += step, step = step * 3 % 1000 + 1)
    h.update(a.data() + off, std::min(step, a.size() - off));
  EXPECT_EQ(h.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(WeightsView, BorrowsAndChecksEveryRequest) {
  fs::path file = kFixture / "weights.bin";
  rt::WeightsView w = rt::WeightsView::open(file.string());
  ASSERT_EQ(w.size(), 128u);
  rt::Tensor b = w.tensor(64, rt::DType::F32, {3});
  EXPECT_EQ(b.rawData(), w.data() + 64) << "must borrow, not copy";
  EXPECT_EQ(b.data<float>()[1], -1.0f);
  auto fails = [&](uint64_t offset, rt::DType dtype, rt::Shape shape, const std::string &needle) {
    try {
      w.tensor(offset, dtype, std::move(shape));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const rt::Error &e) {
      EXPECT_EQ(std::string(e.what()).rfind(file.string() + ": ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fails(32, rt::DType::F32, {3}, "offset 32 is not a multiple of 64");
  fails(64, rt::DType::F32, {17}, "lies outside the file (128 bytes)");
  fails(128, rt::DType::I8, {1}, "lies outside the file");
  fails(uint64_t(1) << 63, rt::DType::I8, {1}, "lies outside the file");
  fails(0, rt::DType::I64, {int64_t(1) << 61, 4}, "overflows");
  fails(0, rt::DType::String, {1}, "no fixed element size");
  EXPECT_EQ(w.tensor(128, rt::DType::I8, {0}).numel(), 0) << "empty tensor at the end is fine";
  // The mapping outlives the view through borrowed tensors.
  rt::Tensor kept = rt::WeightsView::open(file.string()).tensor(0, rt::DType::F32, {4, 3});
  EXPECT_EQ(kept.data<float>()[0], -1.25f);
  try {
    rt::WeightsView::open("/nonexistent/weights.bin");
    ADD_FAILURE();
  } catch (const rt::Error &e) {
    EXPECT_STREQ(e.what(), "/nonexistent/weights.bin: no such file");
  }
  EXPECT_THROW(rt::WeightsView::open(kFixture.string()), rt::Error); // a directory
}

TEST(ArtifactApi, Introspection) {
  Model model(kFixture);
  ASSERT_NE(model.get(), nullptr);
  ASSERT_EQ(ds_model_num_inputs(model.get()), 1u);
  ASSERT_EQ(ds_model_num_outputs(model.get()), 2u);
  ds_value_info info;
  ASSERT_EQ(ds_model_input_info(model.get(), 0, &info), DS_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, DS_DTYPE_FLOAT);
  ASSERT_EQ(info.rank, 2u);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_EQ(info.dims[1], 4);
  ASSERT_EQ(ds_model_output_info(model.get(), 0, &info), DS_OK);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(info.dims[1], 3);
  ASSERT_EQ(ds_model_output_info(model.get(), 1, &info), DS_OK);
  EXPECT_STREQ(info.name, "x_echo");
  EXPECT_EQ(ds_model_output_info(model.get(), 2, &info), DS_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ds_last_error()).find("out of range"), std::string::npos);
  EXPECT_EQ(ds_model_input_info(nullptr, 0, &info), DS_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ds_model_num_inputs(nullptr), 0u);
  EXPECT_STREQ(ds_dtype_name(DS_DTYPE_INT64), "int64");
  EXPECT_STREQ(ds_dtype_name(8), "unknown");
}

TEST(ArtifactApi, RunMatchesNaiveForAnyThreadCount) {
  const int64_t rows = 5;
  std::vector<float> x = sampleInput(rows);
  std::vector<float> expected = naive(x, rows);
  for (int threads : {1, 2, 0}) {
    Model model(kFixture, threads);
    ASSERT_NE(model.get(), nullptr);
    int64_t dims[] = {rows, 4};
    ds_tensor in{DS_DTYPE_FLOAT, 2, dims, x.data(), x.size() * sizeof(float)};
    ds_tensors *out = nullptr;
    ASSERT_EQ(ds_model_run(model.get(), &in, 1, &out), DS_OK) << ds_last_error();
    ASSERT_EQ(ds_tensors_count(out), 2u);
    const ds_tensor *y = ds_tensors_get(out, 0);
    ASSERT_EQ(y->dtype, DS_DTYPE_FLOAT);
    ASSERT_EQ(y->rank, 2u);
    EXPECT_EQ(y->dims[0], rows);
    EXPECT_EQ(y->dims[1], 3);
    ASSERT_EQ(y->byte_size, expected.size() * sizeof(float));
    // Weights and inputs are multiples of 1/4: every sum is exact.
    EXPECT_EQ(std::memcmp(y->data, expected.data(), y->byte_size), 0);
    const ds_tensor *echo = ds_tensors_get(out, 1);
    ASSERT_EQ(echo->byte_size, x.size() * sizeof(float));
    EXPECT_EQ(std::memcmp(echo->data, x.data(), echo->byte_size), 0);
    EXPECT_NE(echo->data, static_cast<const void *>(x.data())) << "output aliases caller input";
    EXPECT_EQ(ds_tensors_get(out, 2), nullptr);
    ds_tensors_release(out);
  }
}

TEST(ArtifactApi, OutputsOutliveModelAndInputs) {
  ds_model *model = nullptr;
  ASSERT_EQ(ds_model_open(kFixture.c_str(), nullptr, &model), DS_OK) << ds_last_error();
  auto x = std::make_unique<std::vector<float>>(sampleInput(3));
  std::vector<float> expected = naive(*x, 3), copy = *x;
  int64_t dims[] = {3, 4};
  ds_tensor in{DS_DTYPE_FLOAT, 2, dims, x->data(), x->size() * sizeof(float)};
  ds_tensors *out = nullptr;
  ASSERT_EQ(ds_model_run(model, &in, 1, &out), DS_OK) << ds_last_error();
  ds_model_release(model);
  std::fill(x->begin(), x->end(), -99.0f);
  x.reset();
  EXPECT_EQ(std::memcmp(ds_tensors_get(out, 0)->data, expected.data(), expected.size() * 4), 0);
  EXPECT_EQ(std::memcmp(ds_tensors_get(out, 1)->data, copy.data(), copy.size() * 4), 0);
  ds_tensors_release(out);
}

TEST(ArtifactApi, BadInputsAtRunTime) {
  Model model(kFixture);
  ASSERT_NE(model.get(), nullptr);
  std::vector<float> x = sampleInput(2);
  std::vector<int32_t> xi(8, 1);
  ds_tensors *out = reinterpret_cast<ds_tensors *>(0x1);
  auto expectRunFails = [&](const ds_tensor *in, size_t n, const std::string &needle) {
    ds_status s = ds_model_run(model.get(), in, n, &out);
    EXPECT_EQ(s, DS_ERROR_INVALID_ARGUMENT) << ds_status_name(s);
    EXPECT_EQ(out, nullptr);
    std::string msg = ds_last_error();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  };
  int64_t good[] = {2, 4}, wrongInner[] = {4, 2}, rank3[] = {1, 2, 4}, negative[] = {-2, 4};
  ds_tensor wrongDtype{DS_DTYPE_INT32, 2, good, xi.data(), xi.size() * 4};
  expectRunFails(&wrongDtype, 1, "'x': element type is int32, expected float");
  ds_tensor wrongShape{DS_DTYPE_FLOAT, 2, wrongInner, x.data(), x.size() * 4};
  expectRunFails(&wrongShape, 1, "'x': shape is [4, 2], expected [?, 4]");
  ds_tensor wrongRank{DS_DTYPE_FLOAT, 3, rank3, x.data(), x.size() * 4};
  expectRunFails(&wrongRank, 1, "expected [?, 4]");
  ds_tensor wrongBytes{DS_DTYPE_FLOAT, 2, good, x.data(), 12};
  expectRunFails(&wrongBytes, 1, "byte_size 12 does not match");
  ds_tensor negativeDim{DS_DTYPE_FLOAT, 2, negative, x.data(), 0};
  expectRunFails(&negativeDim, 1, "negative dimension");
  ds_tensor unknownDtype{8, 2, good, x.data(), 32};
  expectRunFails(&unknownDtype, 1, "unknown dtype code 8");
  ds_tensor nullData{DS_DTYPE_FLOAT, 2, good, nullptr, x.size() * 4};
  expectRunFails(&nullData, 1, "data is NULL");
  ds_tensor ok{DS_DTYPE_FLOAT, 2, good, x.data(), x.size() * 4};
  ds_tensor two[] = {ok, ok};
  expectRunFails(two, 2, "takes 1 inputs, got 2");
  expectRunFails(nullptr, 0, "takes 1 inputs, got 0");
  EXPECT_EQ(ds_model_run(nullptr, &ok, 1, &out), DS_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ds_model_run(model.get(), &ok, 1, nullptr), DS_ERROR_INVALID_ARGUMENT);
  // Still usable after all that.
  ASSERT_EQ(ds_model_run(model.get(), &ok, 1, &out), DS_OK) << ds_last_error();
  ds_tensors_release(out);
}

TEST(ArtifactOpen, BadArguments) {
  ds_model *model = nullptr;
  EXPECT_EQ(ds_model_open(nullptr, nullptr, &model), DS_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ds_model_open(kFixture.c_str(), nullptr, nullptr), DS_ERROR_INVALID_ARGUMENT);
  ds_model_options o{-3};
  EXPECT_EQ(ds_model_open(kFixture.c_str(), &o, &model), DS_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ds_last_error()).find("num_threads is -3"), std::string::npos);
  EXPECT_EQ(model, nullptr);
}

TEST(ArtifactOpen, MissingDirectoryOrManifest) {
  expectOpenFails("/nonexistent/artifact", DS_ERROR_IO, "/nonexistent/artifact: no such directory");
  ArtifactCopy a;
  expectOpenFails(a.dir() / "weights.bin", DS_ERROR_IO, "not a directory");
  fs::remove(a.dir() / "manifest.json");
  expectOpenFails(a.dir(), DS_ERROR_IO, "manifest.json: no such file");
}

TEST(ArtifactOpen, MalformedManifest) {
  ArtifactCopy a;
  writeFile(a.dir() / "manifest.json", "{\"format\": \"ds-artifact\", \"version\": 1,");
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "manifest.json: not valid JSON");
  writeFile(a.dir() / "manifest.json", "[1, 2]");
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "top level must be a JSON object");
}

TEST(ArtifactOpen, UnknownVersionOrFormat) {
  ArtifactCopy a;
  a.editManifest([](json &m) { m["version"] = 2; });
  expectOpenFails(a.dir(), DS_ERROR_VERSION, "version 2 is not supported; this runtime reads version 1");
  a.editManifest([](json &m) { m["version"] = 1; m["format"] = "onnx"; });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "field 'format' must be \"ds-artifact\"");
}

TEST(ArtifactOpen, SchemaFieldTypes) {
  struct Case {
    std::function<void(json &)> edit;
    std::string needle;
  };
  std::vector<Case> cases = {
      {[](json &m) { m.erase("tool"); }, "missing field 'tool'"},
      {[](json &m) { m["tool"]["version"] = 1; }, "'tool.version' must be a string"},
      {[](json &m) { m["weights"]["bytes"] = "128"; }, "'weights.bytes' must be a non-negative"},
      {[](json &m) { m["weights"]["sha256"] = "abc"; }, "'weights.sha256' must be 64 lower-case hex"},
      {[](json &m) { m["weights"]["alignment"] = 48; }, "power of two >= 64"},
      {[](json &m) { m["weights"]["file"] = "../weights.bin"; }, "must be a relative path"},
      {[](json &m) { m["inputs"][0]["dtype"] = "float32"; }, "unknown dtype 'float32'"},
      {[](json &m) { m["inputs"][0]["shape"] = {1, -2}; }, "'inputs[0].shape' must hold integers >= -1"},
      {[](json &m) { m["weights"]["tensors"][0]["bytes"] = 40; }, "40 bytes do not hold shape [4, 3]"},
      {[](json &m) { m["layers"][0].erase("op"); }, "missing field 'layers[0].op'"},
      {[](json &m) { m["graph_digest"] = "XYZ"; }, "'graph_digest' must be lower-case hex"},
      {[](json &m) { m["outputs"][0]["name"] = "z"; }, "output #0 is 'z'"},
      {[](json &m) { m["inputs"][0]["shape"] = {-1, 5}; }, "input #0 is 'x' float [?, 5]"},
  };
  for (const Case &c : cases) {
    ArtifactCopy a;
    a.editManifest(c.edit);
    expectOpenFails(a.dir(), DS_ERROR_CORRUPT, c.needle);
  }
}

TEST(ArtifactOpen, TensorOutsideOrMisaligned) {
  ArtifactCopy a;
  a.editManifest([](json &m) { m["weights"]["tensors"][1]["offset"] = 128; });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "tensor 'b': bytes [128, +12) lie past the end");
  a.editManifest([](json &m) { m["weights"]["tensors"][1]["offset"] = 32; });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "tensor 'b': offset 32 is not a multiple of the alignment 64");
  a.editManifest([](json &m) {
    m["weights"]["tensors"][1]["offset"] = 64;
    m["weights"]["tensors"][1]["shape"] = {uint64_t(1) << 62, 4};
    m["weights"]["tensors"][1]["bytes"] = 0;
  });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "tensor 'b'");
}

TEST(ArtifactOpen, WrongGraphDigest) {
  ArtifactCopy a;
  a.editManifest([](json &m) { m["graph_digest"] = "00112233445566778899aabbccddeeff"; });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "graph_digest 00112233445566778899aabbccddeeff is not the graph");
}

TEST(ArtifactOpen, TamperedWeights) {
  ArtifactCopy a;
  std::string w = readFile(a.dir() / "weights.bin");
  w[5] ^= 0x01;
  writeFile(a.dir() / "weights.bin", w);
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "weights.bin: SHA-256 ");
}

TEST(ArtifactOpen, TruncatedOrMissingWeights) {
  ArtifactCopy a;
  std::string w = readFile(a.dir() / "weights.bin");
  writeFile(a.dir() / "weights.bin", w.substr(0, 100));
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "weights.bin: 100 bytes, the manifest says 128 (truncated)");
  // A manifest that agrees with the truncated file still disagrees with the library.
  a.editManifest([&](json &m) {
    m["weights"]["bytes"] = 100;
    m["weights"]["sha256"] = rt::Sha256::hexOf(w.data(), 100);
    m["weights"]["tensors"] = json::array();
  });
  expectOpenFails(a.dir(), DS_ERROR_CORRUPT, "the compiled model expects 128 bytes of weights");
  fs::remove(a.dir() / "weights.bin");
  expectOpenFails(a.dir(), DS_ERROR_IO, "weights.bin: no such file");
}

TEST(ArtifactOpen, MissingLibrary) {
  ArtifactCopy a;
  fs::remove(a.dir() / "lib" / "libds_model.so");
  expectOpenFails(a.dir(), DS_ERROR_IO, "library 'lib/libds_model.so' is missing");
}

//===----------------------------------------------------------------------===//
// bin/ds-model-run
//===----------------------------------------------------------------------===//

namespace {

struct RunResult {
  int exitCode;
  std::string out, err;
};

RunResult runRunner(const std::string &args, const fs::path &scratch) {
  fs::path out = scratch / "stdout.txt", err = scratch / "stderr.txt";
  std::string cmd = (kFixture / "bin" / "ds-model-run").string() + " " + args + " >" +
                    out.string() + " 2>" + err.string();
  int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, readFile(out), readFile(err)};
}

void expectOneLineError(const RunResult &r, const std::string &needle) {
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_EQ(r.err.rfind("ds-model-run: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

class RunnerTest : public ::testing::Test {
protected:
  void SetUp() override {
    scratch_ = fs::temp_directory_path() /
               ("ds-runner-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(scratch_);
    fs::create_directories(scratch_);
  }
  void TearDown() override { fs::remove_all(scratch_); }
  std::string path(const char *name) const { return (scratch_ / name).string(); }
  rt::Tensor input(int64_t rows) const {
    rt::Tensor t(rt::DType::F32, {rows, 4});
    std::vector<float> x = sampleInput(rows);
    std::memcpy(t.mutableRawData(), x.data(), x.size() * 4);
    return t;
  }
  fs::path scratch_;
};

} // namespace

TEST_F(RunnerTest, NpzAndNpyInputs) {
  rt::writeNpz(path("in.npz"), {{"x", input(3)}});
  RunResult r = runRunner(kFixture.string() + " --inputs " + path("in.npz") + " --outputs " +
                              path("out") + " --threads 2",
                          scratch_);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("y: float [3, 3]"), std::string::npos) << r.out;
  rt::Tensor y = rt::readNpy(path("out/y.npy"));
  std::vector<float> expected = naive(sampleInput(3), 3);
  ASSERT_EQ(y.shape(), (rt::Shape{3, 3}));
  EXPECT_EQ(std::memcmp(y.rawData(), expected.data(), y.byteSize()), 0);
  rt::Tensor echo = rt::readNpy(path("out/x_echo.npy"));
  EXPECT_EQ(std::memcmp(echo.rawData(), input(3).rawData(), echo.byteSize()), 0);

  rt::writeNpy(path("in.npy"), input(1));
  r = runRunner(kFixture.string() + " --inputs " + path("in.npy"), scratch_);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("y: float [1, 3]"), std::string::npos) << r.out;
}

TEST_F(RunnerTest, BadInputFiles) {
  std::string a = kFixture.string();
  expectOneLineError(runRunner(a + " --inputs " + path("missing.npz"), scratch_),
                     "missing.npz: no such file");
  writeFile(path("garbage.npz"), "this is not a zip file at all, just text");
  expectOneLineError(runRunner(a + " --inputs " + path("garbage.npz"), scratch_), "garbage.npz: ");
  writeFile(path("garbage.npy"), "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'");
  expectOneLineError(runRunner(a + " --inputs " + path("garbage.npy"), scratch_),
                     "garbage.npy: truncated header");
  rt::writeNpz(path("named.npz"), {{"z", input(1)}});
  expectOneLineError(runRunner(a + " --inputs " + path("named.npz"), scratch_),
                     "no tensor named 'x' (the model's input); the file has: z");
  rt::writeNpz(path("extra.npz"), {{"x", input(1)}, {"w", input(1)}});
  expectOneLineError(runRunner(a + " --inputs " + path("extra.npz"), scratch_),
                     "tensor 'w' is not an input of the model");
  rt::Tensor wrong(rt::DType::F32, {2, 5});
  rt::writeNpy(path("wrong.npy"), wrong);
  expectOneLineError(runRunner(a + " --inputs " + path("wrong.npy"), scratch_),
                     "wrong.npy: input #0 'x': shape is [2, 5], expected [?, 4]");
  // np.savez_compressed: mark the stored member as deflated (method 8) in both headers.
  rt::writeNpz(path("deflated.npz"), {{"x", input(1)}});
  std::string z = readFile(path("deflated.npz"));
  z[8] = 8;
  size_t central = z.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  z[central + 10] = 8;
  writeFile(path("deflated.npz"), z);
  expectOneLineError(runRunner(a + " --inputs " + path("deflated.npz"), scratch_),
                     "compressed (deflated) .npz members are not supported here; save with np.savez");
  writeFile(path("in.txt"), "1 2 3");
  expectOneLineError(runRunner(a + " --inputs " + path("in.txt"), scratch_),
                     "unknown input format");
}

TEST_F(RunnerTest, BadArgumentsOrArtifact) {
  rt::writeNpz(path("in.npz"), {{"x", input(1)}});
  expectOneLineError(runRunner("--inputs " + path("in.npz"), scratch_), "missing ARTIFACT_DIR");
  expectOneLineError(runRunner(kFixture.string() + " --inputs " + path("in.npz") + " --threads x",
                               scratch_),
                     "--threads must be an integer");
  expectOneLineError(runRunner(kFixture.string() + " --bogus", scratch_), "unknown option --bogus");
  expectOneLineError(runRunner(scratch_.string() + " --inputs " + path("in.npz"), scratch_),
                     "manifest.json: no such file");
}
