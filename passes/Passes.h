//===- Passes.h - ds-optimize's graph passes -------------------------------===//
//
// The optimize and fuse phases (DESIGN §2 phases 2-3). ds-opt registers them
// all; ds-optimize builds its pipeline from them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/ds/DsDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace ds::passes {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace ds::passes
