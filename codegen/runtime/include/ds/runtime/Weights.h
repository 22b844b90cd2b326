//===- Weights.h - the read-only mapping of an artifact's weights.bin -----===//
//
// Generated artifact code (ds::generated::buildProgram) takes every constant
// from here: weights.tensor(offset, dtype, shape) borrows the mapped bytes, no
// copy. The mapping lives as long as any tensor borrowed from it (a shared
// holder), so outputs that alias a constant stay valid after the model is
// released. Every request is bounds- and alignment-checked: the offsets are
// baked into generated code, but the file is whatever is on disk.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>

namespace ds::rt {

class WeightsView {
public:
  /// Every constant starts at a multiple of this (SIMD loads, cache lines).
  static constexpr uint64_t kAlignment = 64;

  /// An empty view (no file; tensor() of any non-empty tensor fails).
  WeightsView() = default;
  /// Maps `path` read-only. Throws rt::Error "PATH: problem" when it is
  /// missing, not a regular file, or cannot be mapped.
  static WeightsView open(const std::string &path);

  /// A tensor borrowing bytes [offset, offset + numel*dtypeSize). Throws
  /// rt::Error naming the file when the offset is not aligned, the range is
  /// outside the file (checked arithmetic), or the dtype has no fixed size.
  Tensor tensor(uint64_t offset, DType dtype, Shape shape) const;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::shared_ptr<const void> holder_; // unmaps on last release
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
};

} // namespace ds::rt
