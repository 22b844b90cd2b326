//===- Manifest.h - manifest.json of a compiled artifact ------------------===//
//
// The schema ds-optimize writes and the C API reads (docs/artifact-format.md).
// readManifest validates everything the runtime relies on (types of fields,
// tensors within weights.bin, alignment, relative paths, library present) so
// that later code may trust the struct. Used only by ds_runtime.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::artifact {

/// The manifest versions this runtime reads.
constexpr int kFormatVersion = 1;
constexpr const char *kFormatName = "ds-artifact";

/// What went wrong, so the C API can pick a status.
enum class ManifestProblem { Io, Corrupt, Version };

/// One line "PATH: problem".
class ManifestError : public std::runtime_error {
public:
  ManifestError(ManifestProblem problem, const std::string &message)
      : std::runtime_error(message), problem(problem) {}
  ManifestProblem problem;
};

/// A graph input or output: dims are -1 where dynamic. maxShape (inputs
/// compiled with --max-shape, else empty): the largest size accepted per dim.
struct ValueEntry {
  std::string name;
  rt::DType dtype = rt::DType::Undefined;
  std::vector<int64_t> shape;
  std::vector<int64_t> maxShape;
};

/// One constant inside weights.bin (informational for the runtime, which
/// takes offsets from the generated code; validated all the same).
struct TensorEntry {
  std::string name;
  uint64_t offset = 0, bytes = 0;
  rt::DType dtype = rt::DType::Undefined;
  std::vector<int64_t> shape;
};

struct LayerEntry {
  std::string node, op, precision;
};

struct Manifest {
  int version = 0;
  std::string toolName, toolVersion, profile, precision, graphDigest;
  std::vector<ValueEntry> inputs, outputs;
  std::string weightsFile, weightsSha256;
  uint64_t weightsBytes = 0, alignment = 0;
  std::vector<TensorEntry> tensors;
  std::string libraryFile, librarySha256, runnerFile;
  std::vector<LayerEntry> layers;
};

/// Reads and validates `dir`/manifest.json. Does not open weights.bin.
Manifest readManifest(const std::string &dir);

/// The DType whose rt::dtypeName is `name`, or Undefined.
rt::DType dtypeFromName(const std::string &name);

} // namespace ds::artifact
