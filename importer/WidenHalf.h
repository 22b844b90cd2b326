//===- WidenHalf.h - float16/bfloat16 models compute in float32 ------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstddef>

namespace ds::importer {

/// Rewrites `func` (an imported graph) so that it computes in float32 while its
/// inputs and outputs keep their float16/bfloat16 types (see WidenHalf.cpp).
/// Returns the number of constants and values widened.
size_t widenHalfPrecision(mlir::func::FuncOp func);

} // namespace ds::importer
