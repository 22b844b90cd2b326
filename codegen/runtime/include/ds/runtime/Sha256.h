//===- Sha256.h - SHA-256 (FIPS 180-4) for artifact checksums -------------===//
//
// The runtime verifies weights.bin against the manifest's SHA-256 before any
// weight is used (DESIGN §1: "checksummed"). It is hand-written because an
// artifact may depend on nothing but libc, libstdc++, libm and pthread, so
// OpenSSL (or any crypto library) is not an option. Speed is not a goal: it
// runs once per model open, at a few hundred MB/s.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ds::rt {

/// Streaming SHA-256: update() any number of times, then hexDigest() once.
class Sha256 {
public:
  Sha256();
  void update(const void *data, size_t size);
  /// Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  /// Lower-case hex of digest(), 64 characters.
  std::string hexDigest();

  /// One-shot helper.
  static std::string hexOf(const void *data, size_t size);

private:
  void compress(const uint8_t *block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t totalBytes_ = 0;
  bool finished_ = false;
};

} // namespace ds::rt
