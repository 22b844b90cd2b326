//===- InferShapes.cpp - ds-infer-shapes: the dialect's shape rules as a pass ===//
//
// DESIGN §2 phase 1. The rules live with the dialect (the importer runs them
// on every model); this pass lets ds-opt and lit tests run them on any IR.
//
//===----------------------------------------------------------------------===//
#include "dialects/ds/ShapeInference.h"
#include "passes/Passes.h"

namespace ds::passes {
#define GEN_PASS_DEF_INFERSHAPESPASS
#include "passes/Passes.h.inc"

namespace {

struct InferShapesPass : impl::InferShapesPassBase<InferShapesPass> {
  using InferShapesPassBase::InferShapesPassBase;
  void runOnOperation() override { ds::inferShapes(getOperation(), foldValues); }
};

} // namespace
} // namespace ds::passes
