//===- dataset_test.cpp - calibration sets from fixture files -------------===//
#include "calibrate/Dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace ds;
using namespace ds::calib;
namespace fs = std::filesystem;
using rt::DType;

namespace {
class DatasetTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ds-dataset-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

/// A float tensor whose elements are base, base+1, ...
rt::Tensor iota(rt::Shape shape, float base = 0) {
  rt::Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = base + static_cast<float>(i);
  return t;
}

rt::Tensor tokens(int64_t n, rt::Shape shape = {}) {
  rt::Tensor t(DType::I64, shape.empty() ? rt::Shape{n} : shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<int64_t>()[i] = i;
  return t;
}

rt::ValueSpec spec(std::string name, DType dtype, std::vector<int64_t> dims) {
  rt::ValueSpec s;
  s.name = std::move(name);
  s.dtype = dtype;
  s.ranked = true;
  s.dims = std::move(dims);
  return s;
}

std::string errorOf(const std::string &path, std::vector<rt::ValueSpec> inputs,
                    DatasetOptions options = {}) {
  try {
    CalibrationDataset d(path, std::move(inputs), options);
  } catch (const DatasetError &e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos);
    return what;
  }
  ADD_FAILURE() << "no error for " << path;
  return "";
}

float first(const rt::Tensor &t) { return t.data<float>()[0]; }
} // namespace

TEST_F(DatasetTest, DirectoryOfNpyInNaturalOrderSplitIntoTheFixedBatch) {
  io::writeNpy(path("s10.npy"), iota({2, 3}, 100));
  io::writeNpy(path("s2.npy"), iota({4, 3}, 0));
  io::writeNpy(path("s1.npy"), iota({3}, 50)); // one unbatched sample
  std::ofstream(path("README.txt")) << "ignored";
  CalibrationDataset d(dir_.string(), {spec("x", DType::F32, {1, 3})});
  ASSERT_EQ(d.size(), 7u); // 1 + 4 + 2
  EXPECT_EQ(first(d.sample(0)[0]), 50.0f);
  EXPECT_EQ(d.sample(0)[0].shape(), (rt::Shape{1, 3}));
  EXPECT_EQ(first(d.sample(1)[0]), 0.0f);
  EXPECT_EQ(first(d.sample(4)[0]), 9.0f); // s2 row 3
  EXPECT_EQ(first(d.sample(5)[0]), 100.0f);
  EXPECT_EQ(d.origin(4), path("s2.npy") + " row 3");
  EXPECT_EQ(d.origin(0), path("s1.npy"));
}

TEST_F(DatasetTest, FixedBatchLargerThanOneAndDynamicBatch) {
  io::writeNpy(path("a.npy"), iota({6, 2}));
  CalibrationDataset fixed(path("a.npy"), {spec("x", DType::F32, {2, 2})});
  ASSERT_EQ(fixed.size(), 3u);
  EXPECT_EQ(fixed.sample(2)[0].shape(), (rt::Shape{2, 2}));
  EXPECT_EQ(first(fixed.sample(2)[0]), 8.0f);
  EXPECT_EQ(fixed.origin(1), path("a.npy") + " rows 2..3");
  CalibrationDataset dynamic(path("a.npy"), {spec("x", DType::F32, {-1, 2})});
  ASSERT_EQ(dynamic.size(), 1u);
  EXPECT_EQ(dynamic.sample(0)[0].shape(), (rt::Shape{6, 2}));
  DatasetOptions chunks;
  chunks.dynamicBatchRows = 4;
  CalibrationDataset chunked(path("a.npy"), {spec("x", DType::F32, {-1, 2})}, chunks);
  ASSERT_EQ(chunked.size(), 2u);
  EXPECT_EQ(chunked.sample(1)[0].shape(), (rt::Shape{2, 2}));
}

TEST_F(DatasetTest, NpzKeyedByInputNameInInputOrder) {
  io::writeNpz(path("b.npz"), {{"mask", iota({2, 4}, 10)}, {"ids", iota({2, 4}, 0)}});
  CalibrationDataset d(path("b.npz"), {spec("ids", DType::F32, {1, 4}), spec("mask", DType::F32, {1, 4})});
  ASSERT_EQ(d.size(), 2u);
  auto s = d.sample(1);
  EXPECT_EQ(first(s[0]), 4.0f);
  EXPECT_EQ(first(s[1]), 14.0f);
}

TEST_F(DatasetTest, OnnxTestDataSets) {
  for (int set : {0, 1, 2}) {
    fs::path sd = dir_ / ("test_data_set_" + std::to_string(set));
    fs::create_directories(sd);
    io::writeTensorProto((sd / "input_0.pb").string(), {"x", iota({1, 2}, 10.0f * set)});
    io::writeTensorProto((sd / "input_1.pb").string(), {"y", iota({1, 1}, 5)});
    io::writeTensorProto((sd / "output_0.pb").string(), {"out", iota({1})});
  }
  std::vector<rt::ValueSpec> inputs = {spec("x", DType::F32, {1, 2}), spec("y", DType::F32, {1, 1})};
  CalibrationDataset all(dir_.string(), inputs);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(first(all.sample(2)[0]), 20.0f);
  EXPECT_EQ(first(all.sample(2)[1]), 5.0f);
  CalibrationDataset one((dir_ / "test_data_set_1").string(), inputs);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(first(one.sample(0)[0]), 10.0f);
  // Swapped files.
  std::string e = errorOf((dir_ / "test_data_set_1").string(), {inputs[1], inputs[0]});
  EXPECT_NE(e.find("input_0.pb holds 'x' but input 0 is 'y'"), std::string::npos) << e;
}

TEST_F(DatasetTest, TokenFiles) {
  // [num_sequences, seq_len]: an ordinary batch.
  io::writeNpy(path("seqs.npy"), tokens(0, {3, 8}));
  CalibrationDataset seqs(path("seqs.npy"), {spec("ids", DType::I64, {1, 8})});
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs.sample(2)[0].data<int64_t>()[0], 16);
  // 1-D stream: windows of 8, the tail of 4 dropped.
  io::writeNpy(path("stream.npy"), tokens(28));
  CalibrationDataset stream(path("stream.npy"), {spec("ids", DType::I64, {-1, 8})});
  ASSERT_EQ(stream.size(), 3u);
  EXPECT_EQ(stream.sample(1)[0].shape(), (rt::Shape{1, 8}));
  EXPECT_EQ(stream.sample(1)[0].data<int64_t>()[0], 8);
  // Batch 2 of windows: 3 windows -> one batch, the odd window dropped.
  CalibrationDataset batched(path("stream.npy"), {spec("ids", DType::I64, {2, 8})});
  ASSERT_EQ(batched.size(), 1u);
  EXPECT_EQ(batched.sample(0)[0].shape(), (rt::Shape{2, 8}));
  // Dynamic sequence length: from the options, else an error.
  DatasetOptions o;
  o.sequenceLength = 7;
  CalibrationDataset byOption(path("stream.npy"), {spec("ids", DType::I64, {1, -1})}, o);
  EXPECT_EQ(byOption.size(), 4u);
  EXPECT_NE(errorOf(path("stream.npy"), {spec("ids", DType::I64, {1, -1})}).find("sequence length is dynamic"),
            std::string::npos);
  EXPECT_NE(errorOf(path("stream.npy"), {spec("ids", DType::I64, {1, 64})}).find("fewer than one window"),
            std::string::npos);
}

TEST_F(DatasetTest, ErrorsNameTheFileTheTensorAndTheFix) {
  io::writeNpy(path("f64.npy"), rt::Tensor(DType::F64, {1, 3}));
  std::string e = errorOf(path("f64.npy"), {spec("x", DType::F32, {1, 3})});
  EXPECT_EQ(e, path("f64.npy") + ": tensor 'x' is double, the model wants float [1, 3]; save it "
                                 "with .astype(np.float32)");
  io::writeNpy(path("shape.npy"), iota({2, 4}));
  e = errorOf(path("shape.npy"), {spec("x", DType::F32, {1, 3})});
  EXPECT_NE(e.find("tensor 'x' has shape [2, 4], the model wants float [1, 3]"), std::string::npos) << e;
  io::writeNpy(path("rows.npy"), iota({3, 3}));
  e = errorOf(path("rows.npy"), {spec("x", DType::F32, {2, 3})});
  EXPECT_NE(e.find("3 rows, not a multiple of the model's batch 2"), std::string::npos) << e;
  e = errorOf(path("rows.npy"), {spec("x", DType::F32, {1, 3}), spec("y", DType::F32, {1, 3})});
  EXPECT_NE(e.find("use .npz keyed by input name"), std::string::npos) << e;
  io::writeNpz(path("names.npz"), {{"x", iota({1, 3})}, {"labels", iota({1})}});
  e = errorOf(path("names.npz"), {spec("x", DType::F32, {1, 3})});
  EXPECT_NE(e.find("tensor 'labels' is not a model input (inputs: x)"), std::string::npos) << e;
  io::writeNpz(path("missing.npz"), {{"x", iota({1, 3})}});
  e = errorOf(path("missing.npz"), {spec("x", DType::F32, {1, 3}), spec("m", DType::F32, {1, 3})});
  EXPECT_NE(e.find("has no tensor 'm' (it has: x)"), std::string::npos) << e;
  io::writeNpz(path("counts.npz"), {{"x", iota({2, 3})}, {"m", iota({3, 3})}});
  e = errorOf(path("counts.npz"), {spec("x", DType::F32, {1, 3}), spec("m", DType::F32, {1, 3})});
  EXPECT_NE(e.find("tensor 'm' has 3 rows but 'x' has 2"), std::string::npos) << e;
  // Truncated file.
  io::writeNpy(path("trunc.npy"), iota({4, 3}));
  fs::resize_file(path("trunc.npy"), fs::file_size(path("trunc.npy")) - 10);
  e = errorOf(path("trunc.npy"), {spec("x", DType::F32, {1, 3})});
  EXPECT_EQ(e.rfind(path("trunc.npy") + ": ", 0), 0u) << e;
  EXPECT_NE(e.find("re-save"), std::string::npos) << e;
  // Empty and missing paths, wrong file type.
  fs::create_directories(dir_ / "empty");
  EXPECT_NE(errorOf((dir_ / "empty").string(), {spec("x", DType::F32, {1, 3})}).find("has no .npy/.npz files"),
            std::string::npos);
  EXPECT_NE(errorOf(path("nope"), {spec("x", DType::F32, {1, 3})}).find("no such file or directory"),
            std::string::npos);
  std::ofstream(path("data.csv")) << "1,2,3";
  EXPECT_NE(errorOf(path("data.csv"), {spec("x", DType::F32, {1, 3})}).find("is not a .npy or .npz file"),
            std::string::npos);
  // One unbatched sample for a batch of 2.
  io::writeNpy(path("one.npy"), iota({3}));
  EXPECT_NE(errorOf(path("one.npy"), {spec("x", DType::F32, {2, 3})}).find("stack samples"),
            std::string::npos);
}

TEST_F(DatasetTest, NonFiniteCountAndRejection) {
  rt::Tensor t = iota({2, 3});
  t.mutableData<float>()[4] = NAN;
  t.mutableData<float>()[5] = -INFINITY;
  io::writeNpz(path("s.npz"), {{"x", iota({2, 3})}, {"y", t}});
  CalibrationDataset d(path("s.npz"), {spec("x", DType::F32, {1, 3}), spec("y", DType::F32, {1, 3})});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(CalibrationDataset::nonFiniteCount(d.sample(0)), 0);
  EXPECT_NO_THROW(d.rejectNonFinite(0, d.sample(0)));
  EXPECT_EQ(CalibrationDataset::nonFiniteCount(d.sample(1)), 2);
  try {
    d.rejectNonFinite(1, d.sample(1));
    FAIL();
  } catch (const DatasetError &e) {
    EXPECT_STREQ(e.what(), (path("s.npz") + " row 1: tensor 'y' has 2 NaN/Inf values; clean the "
                                            "data or pass --calib-nan=skip").c_str());
  }
  rt::Tensor half(DType::F16, {3}); // raw IEEE half bits: 1.0, +Inf, NaN
  uint16_t *h = static_cast<uint16_t *>(half.mutableRawData());
  h[0] = 0x3C00;
  h[1] = 0x7C00;
  h[2] = 0x7E00;
  EXPECT_EQ(CalibrationDataset::nonFiniteCount({half, iota({2})}), 2);
}

TEST_F(DatasetTest, FilesOverTheCacheBudgetAreReadAgainWithTheSameResult) {
  io::writeNpy(path("a.npy"), iota({4, 3}));
  io::writeNpy(path("b.npy"), iota({4, 3}, 100));
  DatasetOptions small;
  small.maxCachedBytes = 0;
  CalibrationDataset cached(dir_.string(), {spec("x", DType::F32, {1, 3})});
  CalibrationDataset reread(dir_.string(), {spec("x", DType::F32, {1, 3})}, small);
  ASSERT_EQ(cached.size(), reread.size());
  for (size_t i = 0; i < cached.size(); ++i) {
    rt::Tensor a = cached.sample(i)[0], b = reread.sample(i)[0];
    EXPECT_EQ(std::vector<float>(a.data<float>(), a.data<float>() + 3),
              std::vector<float>(b.data<float>(), b.data<float>() + 3));
  }
}
