//===- FileHelpers.cpp ----------------------------------------------------===//
#include "ds/runtime/FileHelpers.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

namespace ds::rt::files {
namespace {
[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw Error(where + ": " + what);
}
} // namespace

std::ifstream openForRead(const std::string &path, uint64_t &size) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    fail(path, "no such file");
  if (std::filesystem::is_directory(status))
    fail(path, "is a directory, expected a file");
  if (!std::filesystem::is_regular_file(status)) // a FIFO or device would block or never end
    fail(path, "not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0 || !in)
    fail(path, "cannot determine file size");
  size = static_cast<uint64_t>(end);
  return in;
}

std::string readWholeFile(const std::string &path) {
  uint64_t size = 0;
  std::ifstream in = openForRead(path, size);
  if (size > std::numeric_limits<size_t>::max() / 2)
    fail(path, "file too large");
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size && !in.read(bytes.data(), static_cast<std::streamsize>(size)))
    fail(path, "read error");
  return bytes;
}

std::ofstream openForWrite(const std::string &path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  return out;
}

void finishWrite(std::ofstream &out, const std::string &path) {
  out.flush();
  if (!out)
    fail(path, "write failed");
  out.close();
  if (out.fail())
    fail(path, "write failed (close)");
}

void checkedSizes(const std::string &where, const Shape &shape, DType dtype,
                  int64_t &numel, uint64_t &bytes) {
  try {
    numel = rt::shapeNumel(shape);
  } catch (const rt::Error &) {
    fail(where, "element count overflow for shape " + rt::shapeToString(shape));
  }
  uint64_t elem = rt::dtypeSize(dtype);
  if (elem && static_cast<uint64_t>(numel) >
                  static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elem)
    fail(where, "byte size overflow for shape " + rt::shapeToString(shape));
  bytes = static_cast<uint64_t>(numel) * elem;
}

Tensor allocate(const std::string &where, DType dtype, const Shape &shape) {
  try {
    return Tensor(dtype, shape);
  } catch (const rt::Error &e) {
    fail(where, e.what());
  }
}

void normalizeBools(Tensor &t) {
  if (t.dtype() != DType::Bool)
    return;
  auto *p = static_cast<uint8_t *>(t.mutableRawData());
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = p[i] != 0;
}

} // namespace ds::rt::files
