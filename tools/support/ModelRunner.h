//===- ModelRunner.h - one interface over the two ways to run a model -----===//
//
// ds-run and ds-benchmark take either a model (.onnx / .mlir: imported and run
// by the reference executor) or a compiled artifact directory (its own
// lib/libds_model.so, loaded with dlopen and driven through the C API of
// codegen/runtime/api/ds_runtime.h, so what runs is exactly what ships).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "executor/ReferenceExecutor.h"

#include "ds/runtime/Generation.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ds::tools {

class ModelRunner {
public:
  virtual ~ModelRunner() = default;
  virtual const std::vector<exec::TensorSpec> &inputs() const = 0;
  virtual const std::vector<exec::TensorSpec> &outputs() const = 0;
  /// Throws ToolError / exec::ExecutionError with one line.
  virtual std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &inputs) = 0;
  /// "reference executor" or "artifact <dir>".
  virtual std::string description() const = 0;
  /// Token generation over a decoder graph (ds/runtime/Generation.h): the
  /// runtime's loop around run(); an artifact runs it behind its own C API
  /// (ds_model_generate), so what is measured is what ships. Throws ToolError.
  virtual std::vector<int64_t> generate(const std::vector<int64_t> &prompt,
                                        const rt::GenerationOptions &options,
                                        const rt::TokenFn &onToken, rt::GenerationStats &stats);
  /// Runs once and adds each kernel's wall time (ms) to `msByKernel`, keyed by
  /// kernel name. False when the runner cannot see individual kernels (an
  /// artifact runs them behind its C API).
  virtual bool profile(const std::vector<rt::Tensor> &inputs,
                       std::map<std::string, std::pair<double, int64_t>> &msByKernel) {
    return false;
  }
};

/// True when `path` is a directory holding manifest.json.
bool isArtifactDir(const std::string &path);

/// The runner for `path`: an artifact directory or a model file. `threads` 0
/// means one per hardware thread.
std::unique_ptr<ModelRunner> openRunner(const std::string &path, unsigned threads);

} // namespace ds::tools
