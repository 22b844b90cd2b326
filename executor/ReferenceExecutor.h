//===- ReferenceExecutor.h - run ds IR with the runtime kernel library ----===//
//
// The in-process driver of the kernel library (DESIGN §2): walks `@main` op by
// op, calling each op's registered kernel. It is the FP32 teacher for
// calibration and the oracle every backend is tested against. Tensors are
// released as soon as their last user has run, so peak memory follows the
// graph's live set, not its size.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::exec {

/// A user-facing execution failure; what() is one line naming the node.
class ExecutionError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What a graph input or output must look like: dtype and dims (-1 = dynamic;
/// `ranked` false when the rank itself is unknown).
struct TensorSpec {
  std::string name;
  rt::DType dtype = rt::DType::Undefined;
  bool ranked = false;
  std::vector<int64_t> dims;
  std::string toString() const;
};

/// Called after every op with the op and its results (for calibration observers).
using OpObserver = std::function<void(mlir::Operation *op, const std::vector<rt::Tensor> &results)>;

class ReferenceExecutor {
public:
  /// Prepares `@main` of `module` (which must outlive the executor): resolves a
  /// kernel for every op and converts attributes and constants once. Throws
  /// ExecutionError naming the first op without a kernel.
  ReferenceExecutor(mlir::ModuleOp module, rt::ThreadPool &pool);
  ~ReferenceExecutor();

  const std::vector<TensorSpec> &inputs() const { return inputs_; }
  const std::vector<TensorSpec> &outputs() const { return outputs_; }

  /// Runs the graph on `inputs` (in inputs() order), checking each against its
  /// spec. Thread-compatible: one run at a time per executor.
  std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &inputs,
                              const OpObserver &observer = {}) const;

private:
  struct Step;
  std::vector<TensorSpec> inputs_, outputs_;
  std::vector<Step> steps_;
  std::vector<rt::Tensor> constants_; // slot-indexed; absent for non-constant slots
  std::vector<int> inputSlots_, outputSlots_;
  size_t numSlots_ = 0;
  rt::ThreadPool &pool_;
};

/// The runtime dtype of an MLIR element type (Undefined when unsupported).
rt::DType dtypeFromMlir(mlir::Type elementType);
/// An ElementsAttr (dense or dense_resource) as a tensor; dense_resource blobs
/// are borrowed, not copied.
rt::Tensor tensorFromElementsAttr(mlir::ElementsAttr attr);

} // namespace ds::exec
