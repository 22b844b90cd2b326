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

#include "ds/runtime/Program.h"

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

/// What a graph input or output must look like (the runtime's ValueSpec).
using TensorSpec = rt::ValueSpec;

/// Called after every op with the op and its results (for calibration observers).
using OpObserver = std::function<void(mlir::Operation *op, const std::vector<rt::Tensor> &results)>;

/// The compiler runs a model several times over (teacher, reference, student
/// executors). Models with at least this many bytes of weights run with weight
/// streaming (rt::Program::setWeightStreaming): no packed copies kept, pages
/// read from their mmap each run. Memory over speed, for models larger than
/// memory (issue 4).
constexpr uint64_t kStreamWeightsMinBytes = uint64_t(1) << 30;

class ReferenceExecutor {
public:
  /// Prepares `@main` of `module` (which must outlive the executor): resolves a
  /// kernel for every op and converts attributes and constants once. Throws
  /// ExecutionError naming the first op without a kernel.
  ReferenceExecutor(mlir::ModuleOp module, rt::ThreadPool &pool);
  ~ReferenceExecutor();

  const std::vector<TensorSpec> &inputs() const { return program_.inputs(); }
  const std::vector<TensorSpec> &outputs() const { return program_.outputs(); }
  /// The step list this executor runs; codegen bakes the same list into artifacts.
  const rt::Program &program() const { return program_; }
  /// Overrides the size rule above, e.g. for a quantized student of a large
  /// teacher (whose own weights are a quarter of the teacher's).
  void setWeightStreaming(bool on) { program_.setWeightStreaming(on); }
  /// The op each program step came from (parallel to program().steps()).
  const std::vector<mlir::Operation *> &stepOps() const { return stepOps_; }
  /// A name per program slot for constants (blob key or node name; "" for
  /// other slots), for manifests.
  const std::vector<std::string> &slotNames() const { return slotNames_; }

  /// Runs the graph on `inputs` (in inputs() order), checking each against its
  /// spec. Thread-compatible: one run at a time per executor.
  std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &inputs,
                              const OpObserver &observer = {}) const;

private:
  rt::Program program_;
  std::vector<mlir::Operation *> stepOps_;
  std::vector<std::string> slotNames_;
  rt::ThreadPool &pool_;
};

/// The runtime dtype of an MLIR element type (Undefined when unsupported).
rt::DType dtypeFromMlir(mlir::Type elementType);
/// An ElementsAttr (dense or dense_resource) as a tensor; dense_resource blobs
/// are borrowed, not copied.
rt::Tensor tensorFromElementsAttr(mlir::ElementsAttr attr);
/// The spec of a value of `type` (dtype + dims) under `name`.
TensorSpec specForType(const std::string &name, mlir::Type type);

/// The argument attribute of @main's inputs holding their --max-shape bounds
/// (DenseI64ArrayAttr, the largest size of every dim), read into TensorSpec::maxDims.
constexpr const char *kMaxShapeAttr = "ds.max_shape";
/// "node 'name' (ds.op)", as diagnostics name an op.
std::string describeOp(mlir::Operation *op);
/// An op's attributes as the kernel library reads them.
rt::AttrMap kernelAttrs(mlir::Operation *op);

} // namespace ds::exec
