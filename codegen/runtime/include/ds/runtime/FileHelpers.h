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

/// Opens a regular file for binary reading; `size` gets its length.
std::ifstream openForRead(const std::string &path, uint64_t &size);
std::string readWholeFile(const std::string &path);
std::ofstream openForWrite(const std::string &path);
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
