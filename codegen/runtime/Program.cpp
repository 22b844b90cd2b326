//===- Program.cpp --------------------------------------------------------===//
#include "ds/runtime/Program.h"
#include "ds/runtime/ResidentPages.h"

namespace ds::rt {

std::string ValueSpec::toString() const {
  if (!ranked)
    return "[*]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

std::string ValueSpec::mismatch(const Tensor &value) const {
  if (dtype != DType::Undefined && value.dtype() != dtype)
    return std::string("element type is ") + dtypeName(value.dtype()) + ", expected " +
           dtypeName(dtype);
  if (!ranked)
    return {};
  bool ok = value.rank() == static_cast<int64_t>(dims.size());
  for (size_t i = 0; ok && i < dims.size(); ++i)
    ok = dims[i] < 0 || dims[i] == value.shape()[i];
  if (!ok)
    return "shape is " + shapeToString(value.shape()) + ", expected " + toString();
  for (size_t i = 0; i < maxDims.size() && i < dims.size(); ++i)
    if (maxDims[i] >= 0 && value.shape()[i] > maxDims[i])
      return "shape is " + shapeToString(value.shape()) + ": dim " + std::to_string(i) + " is " +
             std::to_string(value.shape()[i]) + ", above the maximum " +
             std::to_string(maxDims[i]) + " the model was compiled for (ds-optimize --max-shape " +
             name + "=...)";
  return {};
}

int Program::newSlot() {
  constants_.emplace_back();
  return static_cast<int>(numSlots_++);
}

int Program::addInput(ValueSpec spec) {
  int slot = newSlot();
  inputSlots_.push_back(slot);
  inputSpecs_.push_back(std::move(spec));
  return slot;
}

int Program::addConstant(Tensor value) {
  int slot = newSlot();
  constants_[static_cast<size_t>(slot)] = std::move(value);
  return slot;
}

void Program::addStep(ProgramStep step) {
  Resolved r;
  r.kernel = findKernel(step.kernelName);
  if (!r.kernel)
    throw ProgramError(step.where + ": the kernel library has no kernel '" + step.kernelName + "'");
  if (step.outputSlots.empty())
    for (size_t i = 0; i < step.resultSpecs.size(); ++i)
      step.outputSlots.push_back(newSlot());
  if (step.resultSpecs.size() != step.outputSlots.size())
    throw ProgramError(step.where + ": " + std::to_string(step.outputSlots.size()) +
                       " result slots for " + std::to_string(step.resultSpecs.size()) +
                       " result specs");
  for (int slot : step.inputSlots)
    if (slot >= static_cast<int>(numSlots_))
      throw ProgramError(step.where + ": reads slot " + std::to_string(slot) +
                         ", which is not defined yet");
  steps_.push_back(std::move(step));
  resolved_.push_back(std::move(r));
}

void Program::addOutput(int slot, ValueSpec spec) {
  if (slot < 0 || slot >= static_cast<int>(numSlots_))
    throw ProgramError("graph output '" + spec.name + "' reads an undefined slot");
  outputSlots_.push_back(slot);
  outputSpecs_.push_back(std::move(spec));
}

uint64_t Program::constantBytes() const {
  uint64_t bytes = 0;
  for (const Tensor &t : constants_)
    bytes += t.isAbsent() ? 0 : t.byteSize();
  return bytes;
}

void Program::finalize() {
  std::vector<int> lastReader(numSlots_, -1);
  for (size_t s = 0; s < steps_.size(); ++s)
    for (int slot : steps_[s].inputSlots)
      if (slot >= 0)
        lastReader[static_cast<size_t>(slot)] = static_cast<int>(s);
  std::vector<bool> keep(numSlots_, false);
  for (int slot : outputSlots_)
    keep[static_cast<size_t>(slot)] = true;
  for (auto &r : resolved_)
    r.releaseAfter.clear();
  for (size_t slot = 0; slot < numSlots_; ++slot)
    if (!keep[slot] && lastReader[slot] >= 0 && constants_[slot].isAbsent())
      resolved_[static_cast<size_t>(lastReader[slot])].releaseAfter.push_back(static_cast<int>(slot));
  finalized_ = true;
}

std::vector<Tensor> Program::run(const std::vector<Tensor> &inputs, ThreadPool &pool,
                                 const StepObserver &observer) const {
  if (!finalized_)
    throw ProgramError("program run before finalize()");
  if (inputs.size() != inputSpecs_.size())
    throw ProgramError("the model takes " + std::to_string(inputSpecs_.size()) + " inputs, got " +
                       std::to_string(inputs.size()));
  // Values of this run; constants are read from constants_ in place instead of
  // being copied into every run's slots (each copy allocates its shape vector).
  std::vector<Tensor> slots(constants_.size());
  auto value = [&](int slot) -> const Tensor & {
    const Tensor &constant = constants_[static_cast<size_t>(slot)];
    return constant.isAbsent() ? slots[static_cast<size_t>(slot)] : constant;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string why = inputSpecs_[i].mismatch(inputs[i]);
    if (!why.empty())
      throw ProgramError("input '" + inputSpecs_[i].name + "': " + why);
    slots[static_cast<size_t>(inputSlots_[i])] = inputs[i];
  }
  static const Tensor kAbsent;
  std::vector<Tensor> operands, results;
  for (size_t s = 0; s < steps_.size(); ++s) {
    const ProgramStep &step = steps_[s];
    const Resolved &r = resolved_[s];
    operands.clear();
    for (int slot : step.inputSlots)
      operands.push_back(slot < 0 ? kAbsent : value(slot));
    results.clear();
    KernelContext ctx{step.attrs, pool, step.outputSlots.size(),
                      streamWeights_ ? nullptr : &r.state};
    try {
      r.kernel(ctx, operands, results);
    } catch (const std::exception &e) {
      throw ProgramError(step.where + ": " + e.what());
    }
    if (results.size() != step.outputSlots.size())
      throw ProgramError(step.where + ": kernel produced " + std::to_string(results.size()) +
                         " results, the op has " + std::to_string(step.outputSlots.size()));
    for (size_t i = 0; i < results.size(); ++i) {
      std::string why = step.resultSpecs[i].mismatch(results[i]);
      if (!why.empty())
        throw ProgramError(step.where + ": result #" + std::to_string(i) + " " + why +
                           " (the IR's type); the model's declared shapes do not hold for "
                           "these inputs");
      if (!observer) // the results are not read again: no copy (and no shape vector to allocate)
        slots[static_cast<size_t>(step.outputSlots[i])] = std::move(results[i]);
      else
        slots[static_cast<size_t>(step.outputSlots[i])] = results[i];
    }
    if (observer)
      observer(s, results);
    for (int slot : r.releaseAfter)
      slots[static_cast<size_t>(slot)] = Tensor();
    if (streamWeights_)
      for (int slot : step.inputSlots)
        if (slot >= 0 && !constants_[static_cast<size_t>(slot)].isAbsent())
          releaseResidentPages(constants_[static_cast<size_t>(slot)]);
  }
  std::vector<Tensor> outputs;
  for (int slot : outputSlots_)
    outputs.push_back(value(slot));
  return outputs;
}

} // namespace ds::rt
