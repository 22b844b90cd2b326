//===- FuseAttention.cpp - MatMul/Div/Where/Softmax/MatMul -> ds.attention -===//
//
// DESIGN §2 phase 3. Exporters spell masked scaled-dot-product attention as
// five ops whose intermediates are [..., Lq, Lk] score tensors; ds.attention
// computes each query row in one pass without writing them and skips the keys
// a causal mask removes. The match is anchored at the Softmax and walks up to
// the scores' MatMul and down to the product with V.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FUSEATTENTIONPASS
#include "passes/Passes.h.inc"

namespace {

/// A one-element float constant of rank <= 2: broadcasting it against the
/// [..., Lq, Lk] scores cannot change their shape.
std::optional<float> scalarF32Constant(Value v) {
  auto t = constantTensor(v);
  if (!t || t->numel() != 1 || t->dtype() != rt::DType::F32 || t->rank() > 2)
    return std::nullopt;
  return static_cast<float>(t->getAsDouble(0));
}

bool isF32Tensor(Value v) {
  auto t = dyn_cast<TensorType>(v.getType());
  return t && t.getElementType().isF32();
}

/// Softmax over the last axis (opset >= 13 form).
bool isLastAxisSoftmax(Operation *op) {
  if (auto legacy = op->getAttrOfType<IntegerAttr>("legacy_flatten"); legacy && legacy.getInt())
    return false;
  auto axis = op->getAttrOfType<IntegerAttr>("axis");
  if (!axis || axis.getInt() == -1)
    return true;
  auto t = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  return t && axis.getInt() == t.getRank() - 1;
}

struct FuseMaskedAttention : OpRewritePattern<ds::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::SoftmaxOp softmax, PatternRewriter &rewriter) const override {
    if (!isLastAxisSoftmax(softmax) || !softmax->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(softmax, "not a single-use softmax over the last axis");
    // matmul(softmax, v)
    Operation *pv = *softmax->getResult(0).getUsers().begin();
    if (!isa<ds::MatMulOp>(pv) || pv->getOperand(0) != softmax->getResult(0) ||
        !isF32Tensor(pv->getResult(0)))
      return rewriter.notifyMatchFailure(softmax, "the probabilities do not multiply V");
    // where(mask, scores, masked_value)
    auto where = softmax->getOperand(0).getDefiningOp<ds::WhereOp>();
    if (!where || !where->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(softmax, "the softmax input is not a single-use where");
    Value mask = where->getOperand(0);
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    // A mask of rank <= 2 cannot add dims to the scores (see ds.attention).
    if (!maskType || !maskType.getElementType().isInteger(1) || maskType.getRank() > 2)
      return rewriter.notifyMatchFailure(softmax, "the mask is not a bool tensor of rank <= 2");
    auto maskedValue = scalarF32Constant(where->getOperand(2));
    if (!maskedValue)
      return rewriter.notifyMatchFailure(softmax, "the masked value is not a scalar constant");
    // div(matmul(q, kT), c)
    auto div = where->getOperand(1).getDefiningOp<ds::DivOp>();
    if (!div || !div->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(softmax, "the scores are not a single-use division");
    auto divisor = scalarF32Constant(div->getOperand(1));
    auto qk = div->getOperand(0).getDefiningOp<ds::MatMulOp>();
    if (!divisor || !qk || !qk->getResult(0).hasOneUse() || !isF32Tensor(qk->getResult(0)))
      return rewriter.notifyMatchFailure(softmax, "not matmul(q, kT) / scalar constant");
    for (Value operand : {qk->getOperand(0), qk->getOperand(1), pv->getOperand(1)})
      if (auto t = dyn_cast<RankedTensorType>(operand.getType()); t && t.getRank() < 2)
        return rewriter.notifyMatchFailure(softmax, "a matmul operand is a vector");

    rewriter.setInsertionPoint(pv);
    OperationState state(pv->getLoc(), "ds.attention");
    state.addOperands({qk->getOperand(0), qk->getOperand(1), pv->getOperand(1), mask});
    state.addTypes(pv->getResult(0).getType());
    state.addAttribute("scale_divisor", rewriter.getF32FloatAttr(*divisor));
    state.addAttribute("masked_value", rewriter.getF32FloatAttr(*maskedValue));
    Operation *fused = rewriter.create(state);
    rewriter.replaceOp(pv, fused->getResults());
    rewriter.eraseOp(softmax);
    rewriter.eraseOp(where);
    rewriter.eraseOp(div);
    rewriter.eraseOp(qk);
    return success();
  }
};

struct FuseAttentionPass : impl::FuseAttentionPassBase<FuseAttentionPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseMaskedAttention>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
