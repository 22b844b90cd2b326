//===- FileHelpers.h - checked file and tensor-size helpers for readers ----===//
//
// Shared by the runtime's .npy/.npz code (NpyIO.cpp) and calibrate/TensorIO's
// TensorProto reader. Every failure is an rt::Error "<path>: <problem>".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <fstream>
#include <string>

namespace ds::rt::files {

/// Every read path opens its file through these: regular files only (a FIFO,
/// device or directory is an error, never a blocking open).
///
/// A descriptor of the regular file `path`, opened without blocking (a FIFO is
/// refused after fstat, before any read). The caller closes it.
int openRegularFile(const std::string &path);
/// Throws unless `path` is a regular file (for paths another library opens: dlopen).
void requireRegularFile(const std::string &path);
/// Opens a regular file for binary reading; `size` gets its length.
std::ifstream openForRead(const std::string &path, uint64_t &size);
std::string readWholeFile(const std::string &path);
std::ofstream openForWrite(const std::string &path);
/// Writes `bytes` to a fresh mkstemp file beside `path`, fsyncs it and renames it
/// onto `path`: never through a predictable temporary name, never partial.
void writeFileAtomically(const std::string &path, const std::string &bytes);

/// A fresh directory (mkdtemp, mode 0700) under $TMPDIR for temporary files,
/// removed with its contents on destruction. Files inside cannot be planted.
class PrivateTempDir {
public:
  explicit PrivateTempDir(const std::string &prefix);
  ~PrivateTempDir();
  PrivateTempDir(const PrivateTempDir &) = delete;
  PrivateTempDir &operator=(const PrivateTempDir &) = delete;
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// Flushes and closes, reporting a failed write.
void finishWrite(std::ofstream &out, const std::string &path);
/// Element count and byte size of `shape` in `dtype`, with overflow checks.
void checkedSizes(const std::string &where, const Shape &shape, DType dtype, int64_t &numel,
                  uint64_t &bytes);
/// A tensor, with allocation failures reported against `where`.
Tensor allocate(const std::string &where, DType dtype, const Shape &shape);
/// Kernels assume bool elements are exactly 0 or 1; files may hold any nonzero byte.
void normalizeBools(Tensor &t);

} // namespace ds::rt::files
