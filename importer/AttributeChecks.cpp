//===- AttributeChecks.cpp - window and block attributes in range ---------===//
#include "importer/AttributeChecks.h"

#include <cstdint>
#include <map>

namespace ds::importer {

namespace {

/// Window sizes above this are refused: they overflow int32 arithmetic in
/// ONNX's inference and mean nothing for a tensor that fits in memory.
constexpr int64_t kMaxWindow = int64_t{1} << 31;

const onnx::AttributeProto *find(const onnx::NodeProto &node, const char *name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

std::string list(const onnx::AttributeProto &a) {
  std::string s = "[";
  for (int i = 0; i < a.ints_size(); ++i)
    s += (i ? ", " : "") + std::to_string(a.ints(i));
  return s + "]";
}

} // namespace

std::optional<std::string> badAttribute(const onnx::NodeProto &node) {
  // Integer lists whose every entry must lie in [least, kMaxWindow].
  static const std::map<std::string, int64_t> kLists = {
      {"strides", 1}, {"dilations", 1}, {"kernel_shape", 1}, {"pads", 0}, {"output_padding", 0}};
  // Scalars that something divides by or loops over.
  static const std::map<std::string, int64_t> kScalars = {{"group", 1}, {"blocksize", 1}};
  for (const auto &[name, least] : kLists)
    if (const auto *a = find(node, name.c_str())) {
      if (name == "pads" && node.op_type() == "Pad")
        continue; // Pad-2's pads attribute may be negative (it crops)
      if (a->type() != onnx::AttributeProto::INTS)
        return "attribute '" + name + "' must be a list of integers";
      for (int64_t v : a->ints())
        if (v < least || v > kMaxWindow)
          return "attribute '" + name + "' is " + list(*a) + "; every entry must be " +
                 (least ? "positive" : "non-negative") + " (and at most 2^31)";
    }
  for (const auto &[name, least] : kScalars)
    if (const auto *a = find(node, name.c_str()))
      if (a->type() != onnx::AttributeProto::INT || a->i() < least || a->i() > kMaxWindow)
        return "attribute '" + name + "' must be a positive integer (at most 2^31), got " +
               (a->type() == onnx::AttributeProto::INT ? std::to_string(a->i()) : "another type");
  // The spatial rank is the kernel's: strides and dilations name one entry per
  // spatial dim, pads two.
  if (const auto *kernel = find(node, "kernel_shape")) {
    const int rank = kernel->ints_size();
    for (const char *name : {"strides", "dilations"})
      if (const auto *a = find(node, name); a && a->ints_size() != rank)
        return "attribute '" + std::string(name) + "' has " + std::to_string(a->ints_size()) +
               " entries, kernel_shape " + std::to_string(rank);
    if (const auto *pads = find(node, "pads"); pads && pads->ints_size() != 2 * rank)
      return "attribute 'pads' has " + std::to_string(pads->ints_size()) + " entries, expected " +
             std::to_string(2 * rank) + " (begin and end per spatial dim of kernel_shape)";
  }
  return std::nullopt;
}

} // namespace ds::importer
