//===- TensorIO.h - read and write tensors in numpy and ONNX formats -------===//
//
// The file formats that model inputs, calibration samples and reference outputs
// come in (DESIGN §2 phase 5, §3 calibrate/):
//   - numpy .npy (format v1.0/2.0/3.0, little-endian, C order) and .npz (a ZIP
//     archive of .npy members, stored or deflated, as np.savez / savez_compressed
//     write them);
//   - ONNX TensorProto .pb files and ONNX's test_data_set_N directories
//     (input_0.pb, input_1.pb, ..., output_0.pb, ...).
//
// Every function validates what it reads (sizes from headers are never trusted)
// and throws IoError with one line that starts with the file path:
//   "<path>: <what is wrong>".
// Writers produce deterministic bytes (fixed ZIP timestamps, canonical headers)
// so that artifacts and their hashes are reproducible.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/NpyIO.h"
#include "ds/runtime/Tensor.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace ds::io {

/// The one error type of this library; what() is "<path>: <problem>".
class IoError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A tensor with the name it is stored under (npz member without ".npy",
/// TensorProto.name). The runtime's type, so .npz results pass through as is.
using NamedTensor = ds::rt::NamedTensor;

/// Reads a .npy file. Supports every DType the runtime has except String and
/// BF16 (numpy has no bfloat16); float16 ('<f2') is read as raw F16 bytes.
ds::rt::Tensor readNpy(const std::string &path);
/// Writes a .npy file with a v1.0 header (deterministic bytes, as numpy would).
void writeNpy(const std::string &path, const ds::rt::Tensor &t);

/// Reads every member of an .npz archive, in archive order; names lose ".npy".
std::vector<NamedTensor> readNpz(const std::string &path);
/// Writes an .npz archive (stored members, fixed 1980-01-01 timestamps).
/// Names must be unique and non-empty.
void writeNpz(const std::string &path, const std::vector<NamedTensor> &tensors);

/// Reads an ONNX TensorProto (raw_data or the typed *_data fields).
NamedTensor readTensorProto(const std::string &path);
/// Writes an ONNX TensorProto with raw_data.
void writeTensorProto(const std::string &path, const NamedTensor &t);

/// Reads `<dir>/<prefix>_0.pb`, `<prefix>_1.pb`, ... sorted by index; indices
/// must be contiguous from 0. A directory without such files gives an empty list.
std::vector<NamedTensor> readTestDataSet(const std::string &dir,
                                         const std::string &prefix);

} // namespace ds::io
