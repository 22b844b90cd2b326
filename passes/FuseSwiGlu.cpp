//===- FuseSwiGlu.cpp - Sigmoid/Mul/Mul -> ds.swiglu -----------------------===//
//
// DESIGN §2 phase 3. SwiGLU MLPs compute silu(gate) * up as Sigmoid(g),
// Mul(g, .), Mul(., up): three passes over the MLP's widest tensors and two
// intermediates. ds.swiglu does it in one with the same float operations. The
// match is anchored at the Sigmoid.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FUSESWIGLUPASS
#include "passes/Passes.h.inc"

namespace {

Value otherOperand(Operation *op, Value v) {
  return op->getOperand(0) == v ? op->getOperand(1) : op->getOperand(0);
}

/// Whether `gate` and `up` (of one type) have one shape at run time too: a static
/// type says so; with dynamic dims (a decode graph's batch), both must be
/// products of the same activation with weights of one static shape, as the
/// gate and up projections of an MLP are. Two values of type tensor<?x344xf32>
/// could otherwise be 1x344 and 8x344 and broadcast, which ds.swiglu does not.
bool sameShapeAtRunTime(Value gate, Value up) {
  auto type = cast<RankedTensorType>(gate.getType());
  if (type.hasStaticShape())
    return true;
  // Block-quantized projections (an INT4 export's MatMulNBits): [..., N] of one A.
  auto gateNBits = gate.getDefiningOp<ds::MatMulNBitsOp>();
  auto upNBits = up.getDefiningOp<ds::MatMulNBitsOp>();
  if (gateNBits && upNBits)
    return gateNBits->getOperand(0) == upNBits->getOperand(0) &&
           gateNBits->getAttr("N") == upNBits->getAttr("N");
  auto gateProduct = gate.getDefiningOp<ds::MatMulOp>();
  auto upProduct = up.getDefiningOp<ds::MatMulOp>();
  if (!gateProduct || !upProduct || gateProduct->getOperand(0) != upProduct->getOperand(0))
    return false;
  auto gateWeight = dyn_cast<RankedTensorType>(gateProduct->getOperand(1).getType());
  auto upWeight = dyn_cast<RankedTensorType>(upProduct->getOperand(1).getType());
  return gateWeight && gateWeight == upWeight && gateWeight.hasStaticShape() &&
         gateWeight.getRank() == 2;
}

struct FuseSwiGluChain : OpRewritePattern<ds::SigmoidOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::SigmoidOp sigmoid, PatternRewriter &rewriter) const override {
    Value gate = sigmoid->getOperand(0);
    auto type = dyn_cast<RankedTensorType>(gate.getType());
    if (!type || !type.getElementType().isF32() || !sigmoid->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(sigmoid, "not a single-use sigmoid of a float tensor");
    // silu = gate * sigmoid(gate)
    Operation *silu = *sigmoid->getResult(0).getUsers().begin();
    if (!isa<ds::MulOp>(silu) || otherOperand(silu, sigmoid->getResult(0)) != gate ||
        silu->getResult(0).getType() != type || !silu->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(sigmoid, "not a single-use gate * sigmoid(gate)");
    // silu * up, up of the gate's type (no broadcasting)
    Operation *product = *silu->getResult(0).getUsers().begin();
    if (!isa<ds::MulOp>(product) || product->getResult(0).getType() != type)
      return rewriter.notifyMatchFailure(sigmoid, "silu is not multiplied by a tensor of its type");
    Value up = otherOperand(product, silu->getResult(0));
    if (up.getType() != type || up == silu->getResult(0) || !sameShapeAtRunTime(gate, up))
      return rewriter.notifyMatchFailure(sigmoid, "the other factor broadcasts, or may");

    rewriter.setInsertionPoint(product);
    OperationState state(product->getLoc(), "ds.swiglu");
    state.addOperands({gate, up});
    state.addTypes(type);
    Operation *fused = rewriter.create(state);
    rewriter.replaceOp(product, fused->getResults());
    rewriter.eraseOp(silu);
    rewriter.eraseOp(sigmoid);
    return success();
  }
};

struct FuseSwiGluPass : impl::FuseSwiGluPassBase<FuseSwiGluPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseSwiGluChain>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
