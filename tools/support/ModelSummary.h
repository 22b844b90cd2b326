//===- ModelSummary.h - a human-readable overview of imported ds IR -------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"

#include "llvm/Support/raw_ostream.h"

namespace ds::tools {

/// Prints inputs/outputs, the op histogram, and parameter count and bytes of
/// `@main`: what `ds-optimize MODEL` shows before later phases run.
void printModelSummary(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace ds::tools
