//===- ProgramEmitter.h - rt::Program -> generated C++ + weights.bin -------===//
//
// Code generation for the host profile (DESIGN §2 phase 7). The input is the
// very rt::Program the reference executor runs, so the artifact replays the
// same kernel calls with the same attributes on the same slots: numerics agree
// by construction. The output is src/model.cpp (which defines what
// ds/runtime/Generated.h declares: the step list with shapes baked in, every
// constant an offset into weights.bin) and the bytes of weights.bin.
//
// Plain C++ over the runtime library; no MLIR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Program.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ds::codegen {

/// One constant's place in weights.bin (for the manifest).
struct WeightEntry {
  std::string name;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  rt::DType dtype = rt::DType::Undefined;
  rt::Shape shape;
};

/// weights.bin as the constants it holds, at 64-byte aligned offsets with zero
/// padding between them. The tensors are borrowed (they keep their blobs or
/// mmaps alive), not copied: a model larger than memory is hashed and written
/// tensor by tensor, each one's pages given back after use.
class WeightsImage {
public:
  /// Places `t` after the previous tensor; returns its offset.
  uint64_t append(const rt::Tensor &t);
  uint64_t size() const { return size_; }
  /// Calls `sink(data, bytes)` with the file's bytes in order, padding included.
  void forEachChunk(const std::function<void(const void *, size_t)> &sink) const;

private:
  std::vector<std::pair<uint64_t, rt::Tensor>> parts_;
  uint64_t size_ = 0;
};

struct EmittedProgram {
  std::string source;              // src/model.cpp
  WeightsImage weights;            // weights.bin
  std::vector<WeightEntry> entries;
  std::string graphDigest;         // SHA-256 hex of the source body and the weights
};

/// `constantNames[slot]` names constants in the manifest (may be empty or
/// shorter than numSlots(): unnamed constants get "slotN"). `header` is a
/// comment placed at the top of the source (tool version, model).
EmittedProgram emitProgram(const rt::Program &program, const std::vector<std::string> &constantNames,
                           const std::string &header);

/// A C++ string literal for arbitrary bytes (octal escapes, never ambiguous).
std::string cppStringLiteral(const std::string &bytes);

} // namespace ds::codegen
