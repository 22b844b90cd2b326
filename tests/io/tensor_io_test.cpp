//===- tensor_io_test.cpp - tests of calibrate/TensorIO --------------------===//
//
// Reads files written by numpy and onnx (tests/io/data, made by
// tests/io/make_fixtures.py), round-trips our writers, checks that our .npy
// bytes equal numpy's, and that corrupt or unsupported files fail with one
// line starting with the path.
//
//===----------------------------------------------------------------------===//
#include "calibrate/TensorIO.h"

#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using ds::io::IoError;
using ds::io::NamedTensor;
using ds::rt::DType;
using ds::rt::Shape;
using ds::rt::Tensor;
namespace fs = std::filesystem;

namespace {

std::string dataPath(const std::string &name) { return std::string(DS_IO_TEST_DATA) + "/" + name; }

/// make_fixtures.py's ramp(): element i is (i * 7) % 11 - 3, abs() for
/// unsigned types, (> 0) for bool.
template <typename T> T ramp(int64_t i) {
  int64_t v = (i * 7) % 11 - 3;
  if constexpr (std::is_same_v<T, bool>)
    return v > 0;
  else if constexpr (std::is_unsigned_v<T>)
    return static_cast<T>(v < 0 ? -v : v);
  else
    return static_cast<T>(v);
}

template <typename T> void expectRamp(const Tensor &t, const Shape &shape) {
  ASSERT_EQ(t.dtype(), ds::rt::DTypeOf<T>::value);
  ASSERT_EQ(t.shape(), shape);
  const T *p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i)
    EXPECT_EQ(p[i], ramp<T>(i)) << "element " << i;
}

template <typename T> Tensor makeRamp(const Shape &shape) {
  Tensor t(ds::rt::DTypeOf<T>::value, shape);
  T *p = t.mutableData<T>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = ramp<T>(i);
  return t;
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

bool bitEqual(const Tensor &a, const Tensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.rawData(), b.rawData(), a.byteSize()) == 0;
}

/// Expects `fn` to throw IoError whose message starts with "<path>: " and
/// contains `needle`.
template <typename Fn>
void expectIoError(Fn &&fn, const std::string &path, const std::string &needle) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << path;
  } catch (const IoError &e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

/// A scratch directory per test, removed afterwards.
class TensorIOTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("ds-io-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string tmp(const std::string &name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

} // namespace

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, NpyReadsEveryDTypeNumpyWrites) {
  Shape s{2, 3};
  expectRamp<float>(ds::io::readNpy(dataPath("f32.npy")), s);
  expectRamp<double>(ds::io::readNpy(dataPath("f64.npy")), s);
  expectRamp<int8_t>(ds::io::readNpy(dataPath("i8.npy")), s);
  expectRamp<uint8_t>(ds::io::readNpy(dataPath("u8.npy")), s);
  expectRamp<int16_t>(ds::io::readNpy(dataPath("i16.npy")), s);
  expectRamp<uint16_t>(ds::io::readNpy(dataPath("u16.npy")), s);
  expectRamp<int32_t>(ds::io::readNpy(dataPath("i32.npy")), s);
  expectRamp<uint32_t>(ds::io::readNpy(dataPath("u32.npy")), s);
  expectRamp<int64_t>(ds::io::readNpy(dataPath("i64.npy")), s);
  expectRamp<uint64_t>(ds::io::readNpy(dataPath("u64.npy")), s);
  expectRamp<bool>(ds::io::readNpy(dataPath("bool.npy")), s);
}

TEST_F(TensorIOTest, NpyFloat16IsReadAsRawBits) {
  Tensor t = ds::io::readNpy(dataPath("f16.npy"));
  ASSERT_EQ(t.dtype(), DType::F16);
  ASSERT_EQ(t.shape(), (Shape{2, 3}));
  // ramp: -3, 4, 0, 7, 3, -1 as IEEE half.
  const uint16_t expected[] = {0xC200, 0x4400, 0x0000, 0x4700, 0x4200, 0xBC00};
  const auto *p = static_cast<const uint16_t *>(t.rawData());
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(p[i], expected[i]) << i;
}

TEST_F(TensorIOTest, NpyShapes) {
  Tensor scalar = ds::io::readNpy(dataPath("scalar.npy"));
  EXPECT_EQ(scalar.shape(), Shape{});
  EXPECT_EQ(scalar.data<float>()[0], 2.5f);
  expectRamp<float>(ds::io::readNpy(dataPath("vec5.npy")), {5});
  expectRamp<float>(ds::io::readNpy(dataPath("rank4.npy")), {2, 1, 3, 4});
  Tensor empty = ds::io::readNpy(dataPath("empty.npy"));
  EXPECT_EQ(empty.shape(), (Shape{0, 3}));
  EXPECT_EQ(empty.numel(), 0);
  expectRamp<int32_t>(ds::io::readNpy(dataPath("v2.npy")), {3, 2});
}

TEST_F(TensorIOTest, NpyWriteMatchesNumpyBytes) {
  // np.save's own output, byte for byte (header padding included).
  struct Case {
    const char *file;
    Tensor t;
  } cases[] = {
      {"f32.npy", makeRamp<float>({2, 3})},   {"i64.npy", makeRamp<int64_t>({2, 3})},
      {"bool.npy", makeRamp<bool>({2, 3})},   {"u8.npy", makeRamp<uint8_t>({2, 3})},
      {"vec5.npy", makeRamp<float>({5})},     {"rank4.npy", makeRamp<float>({2, 1, 3, 4})},
      {"empty.npy", Tensor(DType::F32, {0, 3})},
  };
  for (const Case &c : cases) {
    ds::io::writeNpy(tmp(c.file), c.t);
    EXPECT_EQ(readBytes(tmp(c.file)), readBytes(dataPath(c.file))) << c.file;
  }
  Tensor scalar(DType::F32, {});
  scalar.mutableData<float>()[0] = 2.5f;
  ds::io::writeNpy(tmp("scalar.npy"), scalar);
  EXPECT_EQ(readBytes(tmp("scalar.npy")), readBytes(dataPath("scalar.npy")));
}

TEST_F(TensorIOTest, NpyRoundTripAllDTypes) {
  std::vector<Tensor> tensors = {
      makeRamp<float>({3, 4}),   makeRamp<double>({7}),     makeRamp<int8_t>({2, 2}),
      makeRamp<uint8_t>({1}),    makeRamp<int16_t>({4}),    makeRamp<uint16_t>({4}),
      makeRamp<int32_t>({2, 5}), makeRamp<uint32_t>({3}),   makeRamp<int64_t>({1, 1, 1}),
      makeRamp<uint64_t>({2}),   makeRamp<bool>({9}),       Tensor(DType::F16, {2}),
      Tensor(DType::I64, {0}),
  };
  for (const Tensor &t : tensors) {
    ds::io::writeNpy(tmp("x.npy"), t);
    EXPECT_TRUE(bitEqual(ds::io::readNpy(tmp("x.npy")), t)) << ds::rt::dtypeName(t.dtype());
  }
}

TEST_F(TensorIOTest, NpyBoolBytesAreNormalized) {
  std::string bytes = readBytes(dataPath("bool.npy"));
  bytes[bytes.size() - 1] = 7; // a nonzero byte other than 1
  writeBytes(tmp("b.npy"), bytes);
  Tensor t = ds::io::readNpy(tmp("b.npy"));
  EXPECT_EQ(static_cast<const uint8_t *>(t.rawData())[5], 1);
}

TEST_F(TensorIOTest, NpyErrors) {
  auto read = [](const std::string &p) { return [p] { ds::io::readNpy(p); }; };
  expectIoError(read(tmp("missing.npy")), tmp("missing.npy"), "no such file");
  expectIoError(read(dir_.string()), dir_.string(), "is a directory");
  expectIoError(read(dataPath("fortran.npy")), dataPath("fortran.npy"), "fortran order");
  expectIoError(read(dataPath("bigendian.npy")), dataPath("bigendian.npy"),
                "unsupported dtype '>f4'");
  expectIoError(read(dataPath("structured.npy")), dataPath("structured.npy"),
                "unsupported dtype");

  std::string good = readBytes(dataPath("f32.npy"));
  auto variant = [&](const std::string &name, std::string bytes, const std::string &needle) {
    writeBytes(tmp(name), bytes);
    expectIoError(read(tmp(name)), tmp(name), needle);
  };
  variant("empty.npy", "", "bad magic");
  variant("magic.npy", "PK" + good.substr(2), "bad magic");
  variant("trunc_head.npy", good.substr(0, 40), "truncated header");
  variant("trunc_data.npy", good.substr(0, good.size() - 1), "truncated");
  variant("extra.npy", good + "xx", "size mismatch");
  std::string version = good;
  version[6] = 9;
  variant("version.npy", version, "unsupported .npy format version 9");

  // A v2 header claiming 1 MiB.
  std::string huge = good.substr(0, 8) + std::string("\x00\x00\x10\x00", 4);
  huge[6] = 2;
  variant("huge.npy", huge + std::string(100, ' '), "header too large");

  auto withHeader = [&](const std::string &name, const std::string &dict,
                        const std::string &needle) {
    std::string h = dict + "\n";
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += char(h.size() & 0xFF);
    bytes += char(h.size() >> 8);
    variant(name, bytes + h + std::string(24, '\0'), needle);
  };
  withHeader("f2.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }",
             "unsupported dtype '<c8'");
  withHeader("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
             "non-negative");
  withHeader("ovf.npy",
             "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
             "overflow");
  withHeader("big.npy",
             "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }",
             "truncated");
  withHeader("nokey.npy", "{'descr': '<f4', 'shape': (6,), }", "missing");
  withHeader("badkey.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}",
             "unexpected key");
  withHeader("garbage.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,)}",
             "bad header");
  withHeader("unterminated.npy", "{'descr': '<f4", "unterminated");
}

TEST_F(TensorIOTest, NpyWriteErrors) {
  expectIoError([&] { ds::io::writeNpy(tmp("a.npy"), Tensor()); }, tmp("a.npy"), "absent");
  expectIoError([&] { ds::io::writeNpy(tmp("b.npy"), Tensor(DType::BF16, {2})); }, tmp("b.npy"),
                "unsupported dtype bfloat16");
  std::string bad = tmp("no/such/dir/x.npy");
  expectIoError([&] { ds::io::writeNpy(bad, makeRamp<float>({2})); }, bad, "cannot open");
}

//===----------------------------------------------------------------------===//
// .npz
//===----------------------------------------------------------------------===//

static void expectNumpyMembers(const std::vector<NamedTensor> &m) {
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].name, "a");
  expectRamp<float>(m[0].tensor, {2, 3});
  EXPECT_EQ(m[1].name, "b");
  expectRamp<int64_t>(m[1].tensor, {4});
  EXPECT_EQ(m[2].name, "c");
  EXPECT_EQ(m[2].tensor.shape(), Shape{});
  EXPECT_EQ(m[2].tensor.data<float>()[0], 1.5f);
}

TEST_F(TensorIOTest, NpzReadsNumpySavez) {
  expectNumpyMembers(ds::io::readNpz(dataPath("stored.npz")));
}

TEST_F(TensorIOTest, NpzReadsNumpySavezCompressed) {
  expectNumpyMembers(ds::io::readNpz(dataPath("deflated.npz")));
  auto big = ds::io::readNpz(dataPath("big_deflated.npz"));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].name, "x");
  expectRamp<float>(big[0].tensor, {64, 100});
}

TEST_F(TensorIOTest, NpzRoundTripIsDeterministic) {
  std::vector<NamedTensor> in = {{"input_ids", makeRamp<int64_t>({1, 7})},
                                 {"mask", makeRamp<bool>({1, 7})},
                                 {"x", makeRamp<float>({2, 3, 4})},
                                 {"empty", Tensor(DType::F32, {0})}};
  ds::io::writeNpz(tmp("a.npz"), in);
  ds::io::writeNpz(tmp("b.npz"), in);
  EXPECT_EQ(readBytes(tmp("a.npz")), readBytes(tmp("b.npz")));
  auto out = ds::io::readNpz(tmp("a.npz"));
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].name, in[i].name);
    EXPECT_TRUE(bitEqual(out[i].tensor, in[i].tensor)) << in[i].name;
  }
  ds::io::writeNpz(tmp("none.npz"), {});
  EXPECT_TRUE(ds::io::readNpz(tmp("none.npz")).empty());
}

TEST_F(TensorIOTest, NpzErrors) {
  auto read = [](const std::string &p) { return [p] { ds::io::readNpz(p); }; };
  expectIoError(read(tmp("missing.npz")), tmp("missing.npz"), "no such file");
  expectIoError(read(dataPath("f32.npy")), dataPath("f32.npy"), "bad magic");

  std::string good = readBytes(dataPath("deflated.npz"));
  auto variant = [&](const std::string &name, const std::string &bytes,
                     const std::string &needle) {
    writeBytes(tmp(name), bytes);
    expectIoError(read(tmp(name)), tmp(name), needle);
  };
  variant("trunc.npz", good.substr(0, good.size() / 2), "truncated");
  variant("tiny.npz", "PK\x03\x04", "truncated");
  // Flip a byte inside the first member's compressed data (after its 30-byte
  // header and "a.npy" and numpy's 20-byte zip64 extra).
  std::string corrupt = good;
  corrupt[30 + 5 + 20 + 10] ^= 0x55;
  writeBytes(tmp("corrupt.npz"), corrupt);
  try {
    ds::io::readNpz(tmp("corrupt.npz"));
    ADD_FAILURE() << "corrupt member accepted";
  } catch (const IoError &e) {
    EXPECT_EQ(std::string(e.what()).rfind(tmp("corrupt.npz") + ": entry 'a.npy'", 0), 0u)
        << e.what();
  }

  expectIoError([&] { ds::io::writeNpz(tmp("d.npz"), {{"a", makeRamp<float>({1})},
                                                       {"a", makeRamp<float>({1})}}); },
                tmp("d.npz"), "duplicate tensor name 'a'");
  expectIoError([&] { ds::io::writeNpz(tmp("e.npz"), {{"", makeRamp<float>({1})}}); },
                tmp("e.npz"), "empty name");
}

//===----------------------------------------------------------------------===//
// TensorProto and test_data_set
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, TensorProtoRawAndTypedFields) {
  NamedTensor raw = ds::io::readTensorProto(dataPath("raw_f32.pb"));
  EXPECT_EQ(raw.name, "x");
  expectRamp<float>(raw.tensor, {2, 3});
  NamedTensor flags = ds::io::readTensorProto(dataPath("raw_bool.pb"));
  expectRamp<bool>(flags.tensor, {2, 3});
  NamedTensor tf = ds::io::readTensorProto(dataPath("typed_f32.pb"));
  EXPECT_EQ(tf.name, "tf");
  expectRamp<float>(tf.tensor, {2, 3});
  expectRamp<int64_t>(ds::io::readTensorProto(dataPath("typed_i64.pb")).tensor, {3});
  expectRamp<int8_t>(ds::io::readTensorProto(dataPath("typed_i8.pb")).tensor, {6});
  Tensor td = ds::io::readTensorProto(dataPath("typed_f64.pb")).tensor;
  ASSERT_EQ(td.dtype(), DType::F64);
  EXPECT_EQ(td.data<double>()[0], 0.25);
  EXPECT_EQ(td.data<double>()[1], -8.0);
}

TEST_F(TensorIOTest, TensorProtoRoundTrip) {
  std::vector<Tensor> tensors = {makeRamp<float>({2, 3}), makeRamp<int64_t>({4}),
                                 makeRamp<bool>({3}),     makeRamp<uint16_t>({2, 2}),
                                 Tensor(DType::BF16, {2}), Tensor(DType::F32, {})};
  for (const Tensor &t : tensors) {
    ds::io::writeTensorProto(tmp("t.pb"), {"name", t});
    NamedTensor back = ds::io::readTensorProto(tmp("t.pb"));
    EXPECT_EQ(back.name, "name");
    EXPECT_TRUE(bitEqual(back.tensor, t)) << ds::rt::dtypeName(t.dtype());
  }
}

TEST_F(TensorIOTest, TensorProtoErrors) {
  auto read = [](const std::string &p) { return [p] { ds::io::readTensorProto(p); }; };
  expectIoError(read(tmp("missing.pb")), tmp("missing.pb"), "no such file");
  expectIoError(read(dataPath("string.pb")), dataPath("string.pb"), "unsupported dtype string");
  expectIoError(read(dataPath("short.pb")), dataPath("short.pb"), "size mismatch");
  writeBytes(tmp("junk.pb"), "\xff\xff\xff\xff garbage");
  expectIoError(read(tmp("junk.pb")), tmp("junk.pb"), "not a valid ONNX TensorProto");

  onnx::TensorProto p;
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(2);
  p.set_raw_data(std::string(7, '\0'));
  writeBytes(tmp("raw.pb"), p.SerializeAsString());
  expectIoError(read(tmp("raw.pb")), tmp("raw.pb"), "raw_data has 7");
  p.set_dims(0, -2);
  writeBytes(tmp("neg.pb"), p.SerializeAsString());
  expectIoError(read(tmp("neg.pb")), tmp("neg.pb"), "negative dimension");
  p.set_dims(0, int64_t(1) << 62);
  p.add_dims(int64_t(1) << 62);
  writeBytes(tmp("ovf.pb"), p.SerializeAsString());
  expectIoError(read(tmp("ovf.pb")), tmp("ovf.pb"), "overflow");

  onnx::TensorProto range;
  range.set_data_type(onnx::TensorProto::UINT8);
  range.add_dims(1);
  range.add_int32_data(300);
  writeBytes(tmp("range.pb"), range.SerializeAsString());
  expectIoError(read(tmp("range.pb")), tmp("range.pb"), "out of range for uint8");

  onnx::TensorProto ext;
  ext.set_data_type(onnx::TensorProto::FLOAT);
  ext.set_data_location(onnx::TensorProto::EXTERNAL);
  writeBytes(tmp("ext.pb"), ext.SerializeAsString());
  expectIoError(read(tmp("ext.pb")), tmp("ext.pb"), "external");

  onnx::TensorProto f8;
  f8.set_data_type(17);
  writeBytes(tmp("f8.pb"), f8.SerializeAsString());
  expectIoError(read(tmp("f8.pb")), tmp("f8.pb"), "unsupported dtype float8e4m3fn");
}

TEST_F(TensorIOTest, TestDataSetSortedByIndex) {
  auto inputs = ds::io::readTestDataSet(dataPath("test_data_set_0"), "input");
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].name, "in0");
  expectRamp<float>(inputs[0].tensor, {2, 2});
  EXPECT_EQ(inputs[1].name, "in1");
  expectRamp<int64_t>(inputs[1].tensor, {3});
  auto outputs = ds::io::readTestDataSet(dataPath("test_data_set_0"), "output");
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "out0");

  // Numeric, not lexicographic, order: input_10 comes after input_2.
  for (int i = 0; i < 11; ++i) {
    Tensor t(DType::I32, {1});
    t.mutableData<int32_t>()[0] = i;
    ds::io::writeTensorProto(tmp("input_" + std::to_string(i) + ".pb"), {"t", t});
  }
  writeBytes(tmp("input_x.pb"), "ignored");
  auto many = ds::io::readTestDataSet(dir_.string(), "input");
  ASSERT_EQ(many.size(), 11u);
  for (int i = 0; i < 11; ++i)
    EXPECT_EQ(many[i].tensor.data<int32_t>()[0], i);
  EXPECT_TRUE(ds::io::readTestDataSet(dir_.string(), "output").empty());
}

TEST_F(TensorIOTest, TestDataSetErrors) {
  expectIoError([&] { ds::io::readTestDataSet(tmp("nope"), "input"); }, tmp("nope"),
                "no such directory");
  ds::io::writeTensorProto(tmp("input_0.pb"), {"a", makeRamp<float>({1})});
  ds::io::writeTensorProto(tmp("input_2.pb"), {"c", makeRamp<float>({1})});
  expectIoError([&] { ds::io::readTestDataSet(dir_.string(), "input"); }, dir_.string(),
                "missing input_1.pb");
}

TEST_F(TensorIOTest, OnnxWheelNodeTestDataWhenPresent) {
  // The conformance data the runner uses; skip cleanly where the venv is absent.
  fs::path dir = fs::path(DS_IO_TEST_DATA) /
                 "../../../build/venv/lib/python3.11/site-packages/onnx/backend/test/data/"
                 "node/test_add/test_data_set_0";
  if (!fs::is_directory(dir))
    GTEST_SKIP() << "onnx wheel test data not found";
  auto inputs = ds::io::readTestDataSet(dir.string(), "input");
  auto outputs = ds::io::readTestDataSet(dir.string(), "output");
  ASSERT_EQ(inputs.size(), 2u);
  ASSERT_EQ(outputs.size(), 1u);
  const float *x = inputs[0].tensor.data<float>(), *y = inputs[1].tensor.data<float>();
  const float *z = outputs[0].tensor.data<float>();
  for (int64_t i = 0; i < outputs[0].tensor.numel(); ++i)
    EXPECT_EQ(z[i], x[i] + y[i]);
}
