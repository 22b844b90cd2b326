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

struct EmittedProgram {
  std::string source;              // src/model.cpp
  std::vector<uint8_t> weights;    // weights.bin
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
