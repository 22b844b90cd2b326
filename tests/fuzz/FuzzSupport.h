//===- FuzzSupport.h - shared helpers of the fuzz harnesses ---------------===//
//
// The product's readers take paths, not buffers, so each harness writes its
// input into a private directory (tmpfs when there is one: /dev/shm) and reads
// it back through the real entry point. One directory per process, removed at
// exit, so parallel fuzzers (-jobs/-workers) and ctest runs never collide.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <unistd.h>

namespace ds::fuzz {

class TempDir {
public:
  explicit TempDir(const std::string &tag) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    path_ = base / ("ds-fuzz-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(path_, ec);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::filesystem::path &path() const { return path_; }

  /// Writes `size` bytes to `name` (relative; parents created) and returns its path.
  std::string write(const std::string &name, const uint8_t *data, size_t size) const {
    std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      // The harness itself failed, not the product: stop loudly.
      std::fprintf(stderr, "fuzz harness: cannot write %s\n", p.c_str());
      std::abort();
    }
    return p.string();
  }

private:
  std::filesystem::path path_;
};

/// Reads every byte of a buffer the product handed back, so ASan sees any
/// size that does not match the allocation behind it.
inline uint64_t touch(const void *data, size_t size) {
  const auto *p = static_cast<const volatile uint8_t *>(data);
  uint64_t sum = 0;
  for (size_t i = 0; i < size; ++i)
    sum += p[i];
  return sum;
}

/// With DS_FUZZ_VERBOSE set, prints why the product rejected an input (an
/// expected outcome, silent otherwise): for checking that seeds get deep.
inline void note(const char *what) {
  static const bool verbose = std::getenv("DS_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "  note: %s\n", what);
}

} // namespace ds::fuzz
