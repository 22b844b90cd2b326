//===- Program.h - a straight-line list of kernel calls -------------------===//
//
// The one execution loop behind both drivers of the kernel library (DESIGN §2):
// the reference executor builds a Program from `ds` IR, and generated artifact
// code builds the same Program from tables baked in at compile time. Because
// both run this loop, an artifact computes exactly what the executor computes.
//
// A Program owns slots (graph inputs, constants, step results), steps (kernel +
// attributes + slot lists) and the liveness that frees each intermediate after
// its last reader. No MLIR, no protobuf: artifacts link it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds::rt {

/// A run-time failure; what() is one line naming the node.
class ProgramError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What a value must look like: dtype and dims (-1 = dynamic; `ranked` false
/// when the rank itself is unknown, dtype Undefined when any dtype goes).
struct ValueSpec {
  std::string name;
  DType dtype = DType::Undefined;
  bool ranked = false;
  std::vector<int64_t> dims;
  /// Inputs only, optional: per dim the largest size accepted (-1: no bound;
  /// ds-optimize --max-shape gives every dim). Empty when the input has no bounds.
  std::vector<int64_t> maxDims;

  /// "[1, ?, 128]" or "[*]".
  std::string toString() const;
  /// Empty when `value` fits, else what is wrong ("shape is [2], expected [3]").
  std::string mismatch(const Tensor &value) const;
};

/// One kernel call. `where` names the node in diagnostics ("node 'mm0' (ds.matmul)").
struct ProgramStep {
  std::string kernelName;
  std::string where;
  AttrMap attrs;
  std::vector<int> inputSlots;  // -1: absent optional input
  std::vector<int> outputSlots; // one per result
  std::vector<ValueSpec> resultSpecs;
};

/// Called after every step with its index and results (calibration observers).
using StepObserver = std::function<void(size_t step, const std::vector<Tensor> &results)>;

class Program {
public:
  /// Building, in graph order. Each returns the new slot.
  int addInput(ValueSpec spec);
  int addConstant(Tensor value);
  /// Resolves the kernel now; throws ProgramError naming `step.where` when none
  /// is registered. Result slots are allocated here (step.outputSlots is filled).
  void addStep(ProgramStep step);
  /// A fresh slot for a step result, to be listed in ProgramStep::outputSlots
  /// (addStep allocates them itself when outputSlots is empty).
  int newSlot();
  void addOutput(int slot, ValueSpec spec);
  /// Computes liveness; call once after the last add*.
  void finalize();
  /// For models larger than memory: run without per-step kernel state (no
  /// packed copies of the weights kept between runs) and give back the pages
  /// of large constants after each step that reads them
  /// (ds/runtime/ResidentPages.h). Results are the same; runs are slower.
  void setWeightStreaming(bool on) { streamWeights_ = on; }
  /// Bytes of all constants (to decide on streaming).
  uint64_t constantBytes() const;

  const std::vector<ValueSpec> &inputs() const { return inputSpecs_; }
  const std::vector<ValueSpec> &outputs() const { return outputSpecs_; }
  const std::vector<ProgramStep> &steps() const { return steps_; }
  /// For code generators that replay this program: slot count, which slots are
  /// inputs/outputs (in order) and the constant held by a slot (absent if none).
  size_t numSlots() const { return numSlots_; }
  const std::vector<int> &inputSlots() const { return inputSlots_; }
  const std::vector<int> &outputSlots() const { return outputSlots_; }
  const Tensor &constantAt(int slot) const { return constants_.at(static_cast<size_t>(slot)); }

  /// Runs on `inputs` (in inputs() order), checking each against its spec and
  /// every result against the step's result spec. Thread-compatible: one run
  /// at a time per Program (kernel state such as packed weights is per step).
  std::vector<Tensor> run(const std::vector<Tensor> &inputs, ThreadPool &pool,
                          const StepObserver &observer = {}) const;

private:
  struct Resolved {
    KernelFn kernel = nullptr;
    std::vector<int> releaseAfter;         // slots whose last reader is this step
    mutable std::shared_ptr<void> state;   // KernelContext::state
  };
  std::vector<ValueSpec> inputSpecs_, outputSpecs_;
  std::vector<int> inputSlots_, outputSlots_;
  std::vector<ProgramStep> steps_;
  std::vector<Resolved> resolved_;
  std::vector<Tensor> constants_; // slot-indexed; absent for non-constant slots
  size_t numSlots_ = 0;
  bool finalized_ = false;
  bool streamWeights_ = false;
};

} // namespace ds::rt
