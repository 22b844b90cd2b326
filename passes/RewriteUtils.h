//===- RewriteUtils.h - running a pass's rewrite patterns -------------------===//
//
// The fold and fuse passes are each one or two OpRewritePatterns run to a fixed
// point over a function; applyRewrites is that whole body, so a pass reads
//   if (failed(applyRewrites<MyPattern>(getOperation()))) signalPassFailure();
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace ds::passes {

/// Applies `Patterns` greedily to `op` until nothing matches.
template <typename... Patterns>
mlir::LogicalResult applyRewrites(mlir::Operation *op,
                                  mlir::GreedyRewriteConfig config = mlir::GreedyRewriteConfig()) {
  mlir::RewritePatternSet patterns(op->getContext());
  patterns.add<Patterns...>(op->getContext());
  return mlir::applyPatternsGreedily(op, std::move(patterns), config);
}

} // namespace ds::passes
