//===- HostArtifact.cpp ---------------------------------------------------===//
#include "codegen/host/HostArtifact.h"

#include "ds/runtime/Sha256.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

namespace fs = std::filesystem;

namespace ds::codegen {

HostToolchain HostToolchain::builtIn() {
  HostToolchain t;
  const char *cxx = std::getenv("DS_CXX");
  t.cxx = cxx && *cxx ? cxx : DS_HOST_CXX;
  t.includeDir = DS_RUNTIME_INCLUDE_DIR;
  t.kernelsArchive = DS_RUNTIME_KERNELS_ARCHIVE;
  t.apiArchive = DS_ARTIFACT_API_ARCHIVE;
  t.coreArchive = DS_RUNTIME_CORE_ARCHIVE;
  t.runnerArchive = DS_ARTIFACT_RUNNER_ARCHIVE;
  t.versionScript = DS_ARTIFACT_VERSION_SCRIPT_PATH;
  t.sanitizeFlag = DS_HOST_SANITIZE_FLAG;
  return t;
}

namespace {

std::string shellQuote(const std::string &s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs `args` in `cwd` with stdout+stderr captured; throws with the tail of
/// the output when it fails. (popen keeps this free of a process library.)
void run(const std::vector<std::string> &args, const fs::path &cwd, const std::string &what) {
  std::string cmd = "cd " + shellQuote(cwd.string()) + " &&";
  for (const auto &a : args)
    cmd += " " + shellQuote(a);
  cmd += " 2>&1";
  FILE *pipe = ::popen(cmd.c_str(), "r");
  if (!pipe)
    throw std::runtime_error(what + ": cannot start " + args.front());
  std::string output;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    output.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (status != 0) {
    // One line, as every error: the compiler's last lines joined with " | ".
    std::string oneLine;
    for (char c : output)
      oneLine += c == '\n' ? std::string(" | ") : std::string(1, c);
    if (oneLine.size() > 600)
      oneLine = "..." + oneLine.substr(oneLine.size() - 600);
    throw std::runtime_error(what + " failed (" + args.front() + "; is ds-optimize's build tree, "
                             "which holds the runtime archives, still in place?): " + oneLine);
  }
}

std::string readFile(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path &path, const void *data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
  if (!out)
    throw std::runtime_error(path.string() + ": cannot write");
}

/// Streams weights.bin to disk tensor by tensor; returns its SHA-256.
std::string writeWeights(const fs::path &path, const WeightsImage &weights) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  rt::Sha256 sha;
  weights.forEachChunk([&](const void *data, size_t size) {
    out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
    sha.update(data, size);
  });
  out.flush();
  if (!out)
    throw std::runtime_error(path.string() + ": cannot write");
  return sha.hexDigest();
}

/// src/CMakeLists.txt: rebuilds lib/ and bin/ on a machine with the runtime's
/// sources and archives (DS_RUNTIME_DIR = a ds-optimize build tree).
std::string rebuildCmake() {
  return R"(# Rebuilds this artifact's lib/libds_model.so and bin/ds-model-run from
# model.cpp. DS_RUNTIME_INCLUDE: ds-optimize's codegen/runtime/include;
# DS_RUNTIME_LIBS: the directory holding libds_runtime_kernels.a,
# libds_artifact_api.a, libds_runtime_core.a, libds_artifact_runner.a and
# ds_model.map (a ds-optimize build tree's codegen/runtime[/api]).
cmake_minimum_required(VERSION 3.20)
project(ds_model CXX)
set(CMAKE_CXX_STANDARD 20)
set(DS_RUNTIME_INCLUDE "" CACHE PATH "ds-optimize codegen/runtime/include")
set(DS_RUNTIME_LIBS "" CACHE PATH "directory of the runtime archives")
add_library(ds_model SHARED model.cpp)
target_include_directories(ds_model PRIVATE ${DS_RUNTIME_INCLUDE})
target_link_options(ds_model PRIVATE -Wl,--version-script=${DS_RUNTIME_LIBS}/ds_model.map
  -Wl,--no-undefined -pthread)
target_link_libraries(ds_model PRIVATE
  "$<LINK_LIBRARY:WHOLE_ARCHIVE,${DS_RUNTIME_LIBS}/libds_runtime_kernels.a>"
  "$<LINK_LIBRARY:WHOLE_ARCHIVE,${DS_RUNTIME_LIBS}/libds_artifact_api.a>"
  ${DS_RUNTIME_LIBS}/libds_runtime_core.a)
# The runner's main() lives in libds_artifact_runner.a.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/runner_stub.cpp "")
add_executable(ds-model-run ${CMAKE_CURRENT_BINARY_DIR}/runner_stub.cpp)
target_link_libraries(ds-model-run PRIVATE
  "$<LINK_LIBRARY:WHOLE_ARCHIVE,${DS_RUNTIME_LIBS}/libds_artifact_runner.a>"
  ${DS_RUNTIME_LIBS}/libds_runtime_core.a ds_model -pthread)
)";
}

} // namespace

BuiltArtifact buildHostArtifact(const fs::path &dir, const EmittedProgram &program,
                                const HostToolchain &tc) {
  fs::create_directories(dir / "src");
  fs::create_directories(dir / "lib");
  fs::create_directories(dir / "bin");
  writeFile(dir / "src" / "model.cpp", program.source.data(), program.source.size());
  std::string cmake = rebuildCmake();
  writeFile(dir / "src" / "CMakeLists.txt", cmake.data(), cmake.size());
  std::string weightsSha256 = writeWeights(dir / "weights.bin", program.weights);

  // Relative paths and a fixed -frandom-seed keep the objects byte-identical
  // across runs and working directories.
  auto withSanitizer = [&](std::vector<std::string> args) {
    if (!tc.sanitizeFlag.empty())
      args.insert(args.begin() + 1, tc.sanitizeFlag);
    return args;
  };
  run(withSanitizer({tc.cxx, "-std=c++20", "-O2", "-fPIC", "-frandom-seed=ds_model",
                     "-I" + tc.includeDir, "-c", "model.cpp", "-o", "model.o"}),
      dir / "src", "compiling src/model.cpp");
  run(withSanitizer({tc.cxx, "-shared", "-o", "lib/libds_model.so", "src/model.o",
                     "-Wl,--whole-archive", tc.kernelsArchive, tc.apiArchive,
                     "-Wl,--no-whole-archive", tc.coreArchive,
                     "-Wl,--version-script=" + tc.versionScript, "-Wl,--no-undefined",
                     "-Wl,-soname,libds_model.so", "-pthread"}),
      dir, "linking lib/libds_model.so");
  run(withSanitizer({tc.cxx, "-O2", "-o", "bin/ds-model-run", "-Wl,--whole-archive",
                     tc.runnerArchive, "-Wl,--no-whole-archive", tc.coreArchive,
                     "lib/libds_model.so", "-Wl,-rpath,$ORIGIN/../lib", "-pthread"}),
      dir, "linking bin/ds-model-run");
  fs::remove(dir / "src" / "model.o");

  BuiltArtifact built;
  std::string lib = readFile(dir / "lib" / "libds_model.so");
  built.librarySha256 = rt::Sha256::hexOf(lib.data(), lib.size());
  built.weightsSha256 = weightsSha256;
  return built;
}

} // namespace ds::codegen
