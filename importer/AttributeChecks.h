//===- AttributeChecks.h - node attributes checked before ONNX's code runs ===//
//
// ONNX 1.12's shape-inference functions divide by strides, dilations and block
// sizes and index by kernel ranks without checking them (a Conv with strides
// 0 dies with SIGFPE inside the library), and its version converter runs the
// same functions. Every node's window and block attributes are checked here
// first, for every opset, whatever the op: one error line naming the node.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace ds::importer {

/// What is wrong with the node's attributes, or nullopt.
std::optional<std::string> badAttribute(const onnx::NodeProto &node);

} // namespace ds::importer
