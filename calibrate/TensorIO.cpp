//===- TensorIO.cpp - .npy/.npz/TensorProto readers and writers ------------===//
//
// .npy/.npz parsing lives in the runtime (ds/runtime/NpyIO.h, no zlib) so the
// artifact runner shares it; this file adds zlib inflate for compressed .npz,
// TensorProto files, and maps rt::Error to IoError.
//
// Everything read here comes from users' files, so every size and offset is
// checked against what the file really holds before it is used (never allocate
// what a header claims before knowing the bytes exist). Errors are IoError with
// "<path>: <problem>".
//
//===----------------------------------------------------------------------===//
#include "calibrate/TensorIO.h"

#include "ds/runtime/NpyIO.h"

#include <onnx/onnx_pb.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include "ds/runtime/FileHelpers.h"

#include <limits>
#include <map>
#include <set>

namespace ds::io {
namespace {

using rt::DType;
using rt::Shape;
using rt::Tensor;
using namespace rt::files;

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw IoError(where + ": " + what);
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

/// zlib's raw inflate, handed to rt::readNpz for np.savez_compressed members.
std::string inflateRaw(const std::string &where, const uint8_t *src, uint64_t srcLen,
                       uint64_t outLen) {
  std::string out(static_cast<size_t>(outLen), '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
    fail(where, "zlib initialization failed");
  uint64_t inLeft = srcLen, outLeft = outLen;
  zs.next_in = const_cast<Bytef *>(src);
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  int rc = Z_OK;
  // zlib counts in uInt; feed large members in chunks.
  while (rc == Z_OK) {
    if (zs.avail_in == 0 && inLeft) {
      zs.avail_in = static_cast<uInt>(std::min<uint64_t>(inLeft, 1u << 30));
      inLeft -= zs.avail_in;
    }
    if (zs.avail_out == 0 && outLeft) {
      zs.avail_out = static_cast<uInt>(std::min<uint64_t>(outLeft, 1u << 30));
      outLeft -= zs.avail_out;
    }
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR && (zs.avail_in || inLeft) && (zs.avail_out || outLeft))
      rc = Z_OK;
  }
  uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    fail(where, rc == Z_BUF_ERROR ? "compressed data truncated or larger than declared"
                                  : "corrupt deflate data");
  if (produced != outLen)
    fail(where, "decompressed size differs from the declared size");
  return out;
}

//===----------------------------------------------------------------------===//
// TensorProto
//===----------------------------------------------------------------------===//

bool protoDTypeSupported(int32_t type) {
  switch (static_cast<DType>(type)) {
  case DType::F32: case DType::U8: case DType::I8: case DType::U16: case DType::I16:
  case DType::I32: case DType::I64: case DType::Bool: case DType::F16: case DType::F64:
  case DType::U32: case DType::U64: case DType::BF16:
    return true;
  default:
    return false;
  }
}

const char *protoDTypeName(int32_t type) {
  static const std::map<int32_t, const char *> names = {
      {0, "undefined"}, {8, "string"}, {14, "complex64"}, {15, "complex128"},
      {17, "float8e4m3fn"}, {18, "float8e4m3fnuz"}, {19, "float8e5m2"},
      {20, "float8e5m2fnuz"}, {21, "uint4"}, {22, "int4"}, {23, "float4e2m1"}};
  auto it = names.find(type);
  return it == names.end() ? nullptr : it->second;
}

template <typename T, typename Src>
void copyTyped(const std::string &where, const Src &src, Tensor &t) {
  T *dst = static_cast<T *>(t.mutableRawData());
  for (int i = 0; i < src.size(); ++i) {
    auto v = src.Get(i);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, decltype(v)>) {
      if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
          v > static_cast<decltype(v)>(std::numeric_limits<T>::max()))
        fail(where, "value " + std::to_string(v) + " out of range for " +
                        rt::dtypeName(t.dtype()));
    }
    dst[i] = static_cast<T>(v);
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

Tensor readNpy(const std::string &path) {
  try {
    return rt::readNpy(path);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

void writeNpy(const std::string &path, const Tensor &t) {
  try {
    rt::writeNpy(path, t);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

std::vector<NamedTensor> readNpz(const std::string &path) {
  try {
    return rt::readNpz(path, inflateRaw);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

void writeNpz(const std::string &path, const std::vector<NamedTensor> &tensors) {
  try {
    rt::writeNpz(path, tensors);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

/// The reader/writer proper; the public function turns rt::Error from the
/// shared file helpers into IoError.
static NamedTensor readTensorProtoImpl(const std::string &path) {
  std::string bytes = readWholeFile(path);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    fail(path, "not a valid ONNX TensorProto");
  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    fail(path, "external tensor data is not supported");
  if (proto.has_segment())
    fail(path, "segmented tensors are not supported");
  int32_t type = proto.data_type();
  if (!protoDTypeSupported(type)) {
    const char *name = protoDTypeName(type);
    fail(path, std::string("unsupported dtype ") +
                   (name ? name : "(data_type " + std::to_string(type) + ")"));
  }
  DType dtype = static_cast<DType>(type);
  Shape shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape)
    if (d < 0)
      fail(path, "negative dimension in shape " + rt::shapeToString(shape));
  int64_t numel = 0;
  uint64_t byteSize = 0;
  checkedSizes(path, shape, dtype, numel, byteSize);

  // Check the data size before allocating what the dims claim.
  auto mismatch = [&](uint64_t have, const char *what) {
    fail(path, "shape/data size mismatch: shape " + rt::shapeToString(shape) + " of " +
                   rt::dtypeName(dtype) + " needs " + std::to_string(numel) +
                   " elements, " + what + " has " + std::to_string(have));
  };
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != byteSize)
      fail(path, "shape/data size mismatch: shape " + rt::shapeToString(shape) + " of " +
                     rt::dtypeName(dtype) + " needs " + std::to_string(byteSize) +
                     " bytes, raw_data has " + std::to_string(proto.raw_data().size()));
    Tensor t = allocate(path, dtype, shape);
    if (byteSize)
      std::memcpy(t.mutableRawData(), proto.raw_data().data(), byteSize);
    normalizeBools(t);
    return {proto.name(), t};
  }

  int64_t have = 0;
  const char *field = "";
  switch (dtype) {
  case DType::F32: have = proto.float_data_size(); field = "float_data"; break;
  case DType::F64: have = proto.double_data_size(); field = "double_data"; break;
  case DType::I64: have = proto.int64_data_size(); field = "int64_data"; break;
  case DType::U32: case DType::U64: have = proto.uint64_data_size(); field = "uint64_data"; break;
  default: have = proto.int32_data_size(); field = "int32_data"; break;
  }
  if (have != numel)
    mismatch(uint64_t(have), field);
  Tensor t = allocate(path, dtype, shape);
  switch (dtype) {
  case DType::F32: copyTyped<float>(path, proto.float_data(), t); break;
  case DType::F64: copyTyped<double>(path, proto.double_data(), t); break;
  case DType::I64: copyTyped<int64_t>(path, proto.int64_data(), t); break;
  case DType::U32: copyTyped<uint32_t>(path, proto.uint64_data(), t); break;
  case DType::U64: copyTyped<uint64_t>(path, proto.uint64_data(), t); break;
  case DType::I32: copyTyped<int32_t>(path, proto.int32_data(), t); break;
  case DType::I16: copyTyped<int16_t>(path, proto.int32_data(), t); break;
  case DType::U16: copyTyped<uint16_t>(path, proto.int32_data(), t); break;
  case DType::I8: copyTyped<int8_t>(path, proto.int32_data(), t); break;
  case DType::U8: copyTyped<uint8_t>(path, proto.int32_data(), t); break;
  case DType::Bool: {
    auto *dst = static_cast<uint8_t *>(t.mutableRawData());
    for (int i = 0; i < proto.int32_data_size(); ++i)
      dst[i] = proto.int32_data(i) != 0;
    break;
  }
  case DType::F16: case DType::BF16: {
    // int32_data holds the 16-bit patterns.
    auto *dst = static_cast<uint16_t *>(t.mutableRawData());
    for (int i = 0; i < proto.int32_data_size(); ++i)
      dst[i] = static_cast<uint16_t>(proto.int32_data(i) & 0xFFFF);
    break;
  }
  default:
    fail(path, std::string("unsupported dtype ") + rt::dtypeName(dtype));
  }
  return {proto.name(), t};
}

NamedTensor readTensorProto(const std::string &path) {
  try {
    return readTensorProtoImpl(path);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

/// The reader/writer proper; the public function turns rt::Error from the
/// shared file helpers into IoError.
static void writeTensorProtoImpl(const std::string &path, const NamedTensor &t) {
  if (t.tensor.isAbsent() || t.tensor.dtype() == DType::String)
    fail(path, std::string("cannot write a tensor of type ") + rt::dtypeName(t.tensor.dtype()));
  onnx::TensorProto proto;
  proto.set_name(t.name);
  proto.set_data_type(static_cast<int32_t>(t.tensor.dtype()));
  for (int64_t d : t.tensor.shape())
    proto.add_dims(d);
  proto.set_raw_data(std::string(static_cast<const char *>(t.tensor.rawData()),
                                 t.tensor.byteSize()));
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    fail(path, "cannot serialize (tensor larger than 2 GiB?)");
  std::ofstream out = openForWrite(path);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  finishWrite(out, path);
}

void writeTensorProto(const std::string &path, const NamedTensor &t) {
  try {
    writeTensorProtoImpl(path, t);
  } catch (const rt::Error &e) {
    throw IoError(e.what());
  }
}

std::vector<NamedTensor> readTestDataSet(const std::string &dir, const std::string &prefix) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    fail(dir, std::filesystem::exists(dir, ec) ? "not a directory" : "no such directory");
  std::map<uint64_t, std::string> files;
  std::string lead = prefix + "_";
  for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= lead.size() + 3 || name.compare(0, lead.size(), lead) != 0 ||
        name.compare(name.size() - 3, 3, ".pb") != 0)
      continue;
    std::string digits = name.substr(lead.size(), name.size() - lead.size() - 3);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    uint64_t index = std::stoull(digits);
    if (!files.emplace(index, entry.path().string()).second)
      fail(dir, "two files for " + lead + std::to_string(index) + ".pb");
  }
  if (ec)
    fail(dir, "cannot list directory: " + ec.message());
  std::vector<NamedTensor> result;
  uint64_t expected = 0;
  for (const auto &[index, file] : files) {
    if (index != expected)
      fail(dir, "missing " + lead + std::to_string(expected) + ".pb");
    result.push_back(readTensorProto(file));
    ++expected;
  }
  return result;
}

} // namespace ds::io

