//===- ConstantUtils.h - read and create ds.constant values in passes ------===//
//
// Passes that rewrite weights (BatchNorm folding, quantization) read constants
// as runtime tensors and write new ones as dense_resource blobs, so weights are
// never copied into MLIR attribute storage (DESIGN §2 phase 1).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace ds::passes {

/// The value of `v` when it is a ds.constant (borrowed, not copied).
std::optional<rt::Tensor> constantTensor(mlir::Value v);

/// A new ds.constant holding a copy of `t` (type from its dtype/shape), whose
/// blob is named after `nameHint`. Large copies go to the spill file
/// (passes/SpillFile.h), not the heap.
mlir::Value createConstant(mlir::OpBuilder &builder, mlir::Location loc, const rt::Tensor &t,
                           llvm::StringRef nameHint);

/// The ONNX node name of an op (its NameLoc), or "" when it has none.
std::string nodeName(mlir::Operation *op);
/// A prefix for the blobs a pass derives from `op`'s weights: its node name, or
/// its op name for unnamed (hand-written) IR.
std::string blobPrefix(mlir::Operation *op);

} // namespace ds::passes
