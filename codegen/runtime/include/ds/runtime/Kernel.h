//===- Kernel.h - the kernel library's calling convention -----------------===//
//
// One kernel per ONNX-level op, keyed by the `ds` op name without the dialect
// prefix ("add", "reduce_mean", "conv"). Kernels are plain C++ over rt::Tensor;
// they register themselves with DS_REGISTER_KERNEL so there is no hand-kept list.
// Attribute names and meanings are ONNX's (the importer copies them verbatim).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"
#include "ds/runtime/ThreadPool.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ds::rt {

/// One attribute value, as ONNX's AttributeProto kinds.
using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>, Tensor>;

/// A node's attributes by ONNX name. Getters return the ONNX default when absent
/// and throw rt::Error when present with the wrong kind.
class AttrMap {
public:
  void set(const std::string &name, AttrValue value) { values_[name] = std::move(value); }
  bool has(const std::string &name) const { return values_.count(name) != 0; }
  const std::map<std::string, AttrValue> &all() const { return values_; }

  int64_t getInt(const std::string &name, int64_t dflt) const;
  float getFloat(const std::string &name, float dflt) const;
  std::string getString(const std::string &name, const std::string &dflt) const;
  std::vector<int64_t> getInts(const std::string &name,
                               const std::vector<int64_t> &dflt = {}) const;
  std::vector<float> getFloats(const std::string &name,
                               const std::vector<float> &dflt = {}) const;
  std::vector<std::string> getStrings(const std::string &name) const;
  /// Throws if absent.
  const Tensor &getTensor(const std::string &name) const;

  int64_t requireInt(const std::string &name) const;

private:
  std::map<std::string, AttrValue> values_;
};

/// What a kernel may use besides its operands.
struct KernelContext {
  const AttrMap &attrs;
  ThreadPool &pool;
  /// How many results the node has (ONNX optional trailing outputs may be fewer
  /// than the op's maximum, e.g. TopK always 2, Dropout 1 or 2).
  size_t numOutputs;
  /// Per-node state that lives as long as the program (e.g. weights packed on
  /// the first call, as ONNX Runtime's PrePack). Null when the caller keeps none
  /// (unit tests): a kernel then recomputes what it would have cached. Only
  /// valid for inputs that are constants of the program.
  std::shared_ptr<void> *state = nullptr;
};

/// inputs: the node's operands in ONNX order; an absent optional input is a
/// Tensor with isAbsent() (trailing absent ones may simply be missing, so check
/// inputs.size()). outputs: empty on entry; the kernel pushes ctx.numOutputs tensors.
using KernelFn = void (*)(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                          std::vector<Tensor> &outputs);

/// Kernel lookup by `ds` op name (without "ds."); nullptr when none is registered.
KernelFn findKernel(const std::string &opName);
/// All registered kernel names, sorted (for docs and diagnostics).
std::vector<std::string> registeredKernels();

struct KernelRegistration {
  KernelRegistration(const char *opName, KernelFn fn);
};

#define DS_KERNEL_CONCAT_INNER(a, b) a##b
#define DS_KERNEL_CONCAT(a, b) DS_KERNEL_CONCAT_INNER(a, b)
/// Registers `fn` as the kernel of `ds.<opName>`. Use at namespace scope in a .cpp.
#define DS_REGISTER_KERNEL(opName, fn)                                         \
  static ::ds::rt::KernelRegistration DS_KERNEL_CONCAT(kDsKernelReg_,          \
                                                       __COUNTER__)(opName, fn)

/// Throws unless inputs.size() is in [minCount, maxCount] (absent ones count).
void checkInputCount(const std::vector<Tensor> &inputs, size_t minCount,
                     size_t maxCount, const char *opName);
/// The input at `i`, or an absent tensor when i is past the end.
const Tensor &optionalInput(const std::vector<Tensor> &inputs, size_t i);

} // namespace ds::rt
