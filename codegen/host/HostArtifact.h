//===- HostArtifact.h - compile and lay out a host (x86-64) artifact ------===//
//
// Writes src/model.cpp + src/CMakeLists.txt + weights.bin, builds
// lib/libds_model.so (generated code + runtime kernels + C API) and
// bin/ds-model-run with the host compiler, exactly as docs/artifact-format.md
// "Linking" describes, and returns the library's hash for the manifest. The
// manifest itself is written last by the caller (pipeline/), after the report.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/host/ProgramEmitter.h"

#include <filesystem>
#include <string>

namespace ds::codegen {

/// Where the runtime pieces an artifact links against live (set at build time
/// of ds-optimize; see codegen/host/CMakeLists.txt).
struct HostToolchain {
  std::string cxx;            // host C++ compiler
  std::string includeDir;     // codegen/runtime/include
  std::string kernelsArchive, apiArchive, coreArchive, runnerArchive, versionScript;
  /// "-fsanitize=..." when ds-optimize was built with DS_SANITIZE: the runtime
  /// archives are instrumented, so the artifact must compile and link the same way.
  std::string sanitizeFlag;
  /// The toolchain ds-optimize was built with; DS_CXX overrides the compiler.
  static HostToolchain builtIn();
};

struct BuiltArtifact {
  std::string librarySha256;
  std::string weightsSha256;
};

/// Builds into `dir` (an empty staging directory). Throws std::runtime_error
/// with the compiler's last output lines when a compile or link fails.
BuiltArtifact buildHostArtifact(const std::filesystem::path &dir, const EmittedProgram &program,
                                const HostToolchain &toolchain);

} // namespace ds::codegen
