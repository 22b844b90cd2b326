//===- ShapeInference.h - result types of ds ops, whatever the opset -------===//
//
// DESIGN §2 phase 1: "every op infers its result type in the dialect". ONNX's
// C++ library (1.12 on Debian) infers shapes only up to opset 17, and never
// for compiler-only ops; inferShapes gives every value of a well-formed graph
// its rank and every dim that ONNX semantics fix, from the operands' types and
// the values of small constant or shape-derived integer tensors (data
// propagation through Shape/Gather/Concat/Unsqueeze chains). Types that are
// already known are only refined, never contradicted: ONNX's inference, where
// it ran, stays the cross-check.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstddef>

namespace ds {

/// Name of the @main argument attribute (an array of strings, "" where a dim
/// has no name) that records an ONNX input's dim_param names: two inputs'
/// dims with one name are one size.
inline constexpr const char *kDimNamesAttr = "ds.dim_names";

struct ShapeInferenceStats {
  size_t refined = 0;  // results whose type became more precise
  size_t unranked = 0; // tensor results still unranked afterwards
  size_t folded = 0;   // ops replaced by the constants they compute
};

/// Refines the result types of every op in `func` in order, then the
/// function's result types to what it returns. With `foldKnownValues`, an op
/// whose small integer results are all known (a `Shape(x)[3] / 2` of a static
/// dim, a Concat of such) becomes a ds.constant: shape arithmetic over static
/// dims disappears although the tensor it reads is dynamic.
ShapeInferenceStats inferShapes(mlir::func::FuncOp func, bool foldKnownValues = false);

} // namespace ds
