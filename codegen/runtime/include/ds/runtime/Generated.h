//===- Generated.h - what a compiled model's generated code defines -------===//
//
// The contract between ds-optimize's code generator (which writes src/model.cpp
// of an artifact) and the runtime's C API (codegen/runtime/api/), which is
// linked into the same lib/libds_model.so and calls these. Exactly one
// translation unit of an artifact defines them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Program.h"
#include "ds/runtime/Weights.h"

#include <cstdint>

namespace ds::generated {

/// Digest of the compiled graph; must equal manifest["graph_digest"], so a
/// manifest and weights.bin from another compilation are refused.
extern const char kGraphDigest[];
/// Total bytes weights.bin must have (checked before buildProgram runs).
extern const uint64_t kWeightsBytes;
/// Adds inputs, constants (weights.tensor(offset, dtype, shape)), steps and
/// outputs to `program` and calls program.finalize(). Throws rt::Error /
/// rt::ProgramError on inconsistency.
void buildProgram(ds::rt::Program &program, const ds::rt::WeightsView &weights);

} // namespace ds::generated
