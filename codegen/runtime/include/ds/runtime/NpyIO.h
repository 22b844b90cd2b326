//===- NpyIO.h - numpy .npy/.npz files, with no zlib or protobuf ----------===//
//
// The tensor files users hand to both the compiler and a compiled artifact's
// runner: numpy .npy (format v1.0/2.0/3.0, little-endian, C order) and .npz
// (a ZIP of .npy members). Lives in the runtime because the artifact runner
// may depend on nothing but libc/libstdc++/libm/pthread; calibrate/TensorIO
// wraps it (adding zlib for np.savez_compressed archives and TensorProto).
//
// Sizes from headers are never trusted; errors are rt::Error with one line
// "<path>: <problem>". Writers produce deterministic bytes (canonical headers,
// fixed ZIP timestamps) so artifacts and their hashes are reproducible.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include <string>
#include <vector>

namespace ds::rt {

/// A tensor with the name it is stored under (npz member without ".npy").
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

/// Decompresses a raw-deflate stream of `srcLen` bytes into exactly `outLen`
/// bytes, throwing an error that starts with `where` otherwise.
using NpzInflater = std::string (*)(const std::string &where, const uint8_t *src,
                                    uint64_t srcLen, uint64_t outLen);

/// Reads a .npy file. Supports every DType except String and BF16 (numpy has
/// no bfloat16); float16 ('<f2') is read as raw F16 bytes.
Tensor readNpy(const std::string &path);
/// Writes a .npy file with a v1.0 header (deterministic bytes, as numpy would).
void writeNpy(const std::string &path, const Tensor &t);

/// Reads every member of an .npz archive, in archive order; names lose ".npy".
/// Deflated members (np.savez_compressed) need `inflate`; without one they are
/// an error that says to use np.savez.
std::vector<NamedTensor> readNpz(const std::string &path, NpzInflater inflate = nullptr);
/// Writes an .npz archive (stored members, fixed 1980-01-01 timestamps).
/// Names must be unique and non-empty.
void writeNpz(const std::string &path, const std::vector<NamedTensor> &tensors);

} // namespace ds::rt
