//===- Kernel.cpp - attribute access and the kernel registry --------------===//
#include "ds/runtime/Kernel.h"

#include <algorithm>

namespace ds::rt {

namespace {
std::map<std::string, KernelFn> &registry() {
  static std::map<std::string, KernelFn> kernels;
  return kernels;
}

template <typename T>
const T *getAs(const std::map<std::string, AttrValue> &values, const std::string &name,
               const char *kind) {
  auto it = values.find(name);
  if (it == values.end())
    return nullptr;
  const T *v = std::get_if<T>(&it->second);
  if (!v)
    throw Error("attribute '" + name + "' must be " + kind);
  return v;
}
} // namespace

KernelRegistration::KernelRegistration(const char *opName, KernelFn fn) {
  registry()[opName] = fn;
}

KernelFn findKernel(const std::string &opName) {
  auto it = registry().find(opName);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> registeredKernels() {
  std::vector<std::string> names;
  for (auto &[name, fn] : registry())
    names.push_back(name);
  return names;
}

int64_t AttrMap::getInt(const std::string &name, int64_t dflt) const {
  auto *v = getAs<int64_t>(values_, name, "an int");
  return v ? *v : dflt;
}
float AttrMap::getFloat(const std::string &name, float dflt) const {
  auto it = values_.find(name);
  if (it != values_.end())
    if (auto *i = std::get_if<int64_t>(&it->second))
      return static_cast<float>(*i);
  auto *v = getAs<float>(values_, name, "a float");
  return v ? *v : dflt;
}
std::string AttrMap::getString(const std::string &name, const std::string &dflt) const {
  auto *v = getAs<std::string>(values_, name, "a string");
  return v ? *v : dflt;
}
std::vector<int64_t> AttrMap::getInts(const std::string &name,
                                      const std::vector<int64_t> &dflt) const {
  auto *v = getAs<std::vector<int64_t>>(values_, name, "a list of ints");
  return v ? *v : dflt;
}
std::vector<float> AttrMap::getFloats(const std::string &name,
                                      const std::vector<float> &dflt) const {
  auto *v = getAs<std::vector<float>>(values_, name, "a list of floats");
  return v ? *v : dflt;
}
std::vector<std::string> AttrMap::getStrings(const std::string &name) const {
  auto *v = getAs<std::vector<std::string>>(values_, name, "a list of strings");
  return v ? *v : std::vector<std::string>{};
}
const Tensor &AttrMap::getTensor(const std::string &name) const {
  auto *v = getAs<Tensor>(values_, name, "a tensor");
  if (!v)
    throw Error("missing required tensor attribute '" + name + "'");
  return *v;
}
int64_t AttrMap::requireInt(const std::string &name) const {
  auto *v = getAs<int64_t>(values_, name, "an int");
  if (!v)
    throw Error("missing required attribute '" + name + "'");
  return *v;
}

void checkInputCount(const std::vector<Tensor> &inputs, size_t minCount,
                     size_t maxCount, const char *opName) {
  if (inputs.size() < minCount || inputs.size() > maxCount)
    throw Error(std::string(opName) + " takes " + std::to_string(minCount) +
                (minCount == maxCount ? "" : " to " + std::to_string(maxCount)) +
                " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < minCount; ++i)
    if (inputs[i].isAbsent())
      throw Error(std::string(opName) + ": required input " + std::to_string(i) +
                  " is missing");
}

const Tensor &optionalInput(const std::vector<Tensor> &inputs, size_t i) {
  static const Tensor kAbsent;
  return i < inputs.size() ? inputs[i] : kAbsent;
}

} // namespace ds::rt
