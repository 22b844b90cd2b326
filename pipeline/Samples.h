//===- Samples.h - calibration / evaluation data as model input sets ------===//
//
// Reads what users pass as --calib / --eval and cuts it into runs of the
// model: a .npz (tensors keyed by input name) or .npy (one-input models, e.g.
// token ids [N, T] for an LM), a directory of such files (sorted by name), or
// ONNX test_data_set_* directories. Tensors whose leading dimension holds
// several samples are split along it: into the model's batch size when that
// is fixed, into chunks of kDynamicBatch rows when it is dynamic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "executor/ReferenceExecutor.h"

#include <string>
#include <vector>

namespace ds::pipeline {

inline constexpr int64_t kDynamicBatch = 16;

struct SampleSet {
  std::vector<std::vector<rt::Tensor>> samples; // each in model input order
  std::vector<std::string> files;               // where each sample came from
};

/// Throws tools::ToolError / io::IoError naming the file on any mismatch.
SampleSet loadSamples(const std::string &path, const std::vector<exec::TensorSpec> &inputs);

/// Class ids from an integer .npy (1-D).
/// Class ids of the eval samples with the file they came from (errors name it).
struct Labels {
  rt::Tensor ids;
  std::string file;
  int64_t numel() const { return ids.numel(); }
  int64_t getAsInt64(int64_t i) const { return ids.getAsInt64(i); }
};
Labels loadLabels(const std::string &path);

/// NaN/Inf count of a sample's float tensors, and the name of the first input
/// that has any ("" when clean).
std::pair<int64_t, std::string> nonFinite(const std::vector<rt::Tensor> &sample,
                                          const std::vector<exec::TensorSpec> &inputs);

} // namespace ds::pipeline
