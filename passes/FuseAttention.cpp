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

#include <cmath>

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

/// `v` without a single-use multiplication by a scalar constant, and the factor.
std::pair<Value, float> unscaled(Value v) {
  auto mul = v.getDefiningOp<ds::MulOp>();
  if (!mul || !v.hasOneUse())
    return {v, 1.0f};
  for (unsigned i = 0; i < 2; ++i)
    if (auto c = scalarF32Constant(mul->getOperand(i)))
      return {mul->getOperand(1 - i), *c};
  return {v, 1.0f};
}

/// torch.onnx / Optimum's form: matmul(softmax(matmul(q * c, kT * c) +
/// where(mask, 0, fill)), v), the scale on q and k (or a Div/Mul of the scores),
/// optionally with where(isnan(p), 0, p) guarding the probabilities. Adding a
/// huge negative fill is where(mask, scores, fill) (scores + fill rounds to
/// fill), so it lands on ds.attention with masked_value = fill; the guard
/// becomes nan_rows_to_zero. The mask may have the scores' rank ([B, 1, S, T]
/// from attention_mask): the kernel checks at run time that it adds no dims.
struct FuseAdditiveMaskAttention : OpRewritePattern<ds::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::SoftmaxOp softmax, PatternRewriter &rewriter) const override {
    if (!isLastAxisSoftmax(softmax))
      return rewriter.notifyMatchFailure(softmax, "not a softmax over the last axis");
    Value p = softmax->getResult(0);
    // matmul(p, v), or matmul(where(isnan(p), 0, p), v)
    Operation *guardWhere = nullptr, *isNan = nullptr, *pv = nullptr;
    if (p.hasOneUse()) {
      pv = *p.getUsers().begin();
    } else if (std::distance(p.getUsers().begin(), p.getUsers().end()) == 2) {
      for (Operation *user : p.getUsers()) {
        if (isa<ds::IsNaNOp>(user))
          isNan = user;
        else if (isa<ds::WhereOp>(user))
          guardWhere = user;
      }
      if (!isNan || !guardWhere || !isNan->getResult(0).hasOneUse() ||
          guardWhere->getOperand(0) != isNan->getResult(0) || guardWhere->getOperand(2) != p ||
          scalarF32Constant(guardWhere->getOperand(1)) != 0.0f || !guardWhere->getResult(0).hasOneUse())
        return rewriter.notifyMatchFailure(softmax, "the probabilities' users are not a NaN guard");
      pv = *guardWhere->getResult(0).getUsers().begin();
    }
    Value probs = guardWhere ? guardWhere->getResult(0) : p;
    if (!pv || !isa<ds::MatMulOp>(pv) || pv->getOperand(0) != probs || !isF32Tensor(pv->getResult(0)))
      return rewriter.notifyMatchFailure(softmax, "the probabilities do not multiply V");
    // scores + where(mask, 0, fill)
    auto add = softmax->getOperand(0).getDefiningOp<ds::AddOp>();
    if (!add || !add->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(softmax, "the softmax input is not a single-use add");
    Operation *bias = nullptr;
    Value scores;
    for (unsigned i = 0; i < 2 && !bias; ++i)
      if (auto w = add->getOperand(i).getDefiningOp<ds::WhereOp>()) {
        bias = w;
        scores = add->getOperand(1 - i);
      }
    if (!bias || scalarF32Constant(bias->getOperand(1)) != 0.0f)
      return rewriter.notifyMatchFailure(softmax, "the scores are not added to where(mask, 0, fill)");
    auto fill = scalarF32Constant(bias->getOperand(2));
    // Only a fill that swallows any score turns the sum into a selection.
    if (!fill || !(*fill <= -1e30f))
      return rewriter.notifyMatchFailure(softmax, "the masked fill is not a huge negative constant");
    Value mask = bias->getOperand(0);
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    auto scoreType = dyn_cast<RankedTensorType>(scores.getType());
    if (!maskType || !maskType.getElementType().isInteger(1) || !scoreType ||
        maskType.getRank() > scoreType.getRank())
      return rewriter.notifyMatchFailure(softmax, "the mask is not a bool tensor of at most the scores' rank");
    // matmul(q * cq, kT * ck), possibly divided or multiplied by a constant
    float factor = 1.0f;
    Operation *scale = scores.getDefiningOp();
    if (scale && (isa<ds::DivOp>(scale) || isa<ds::MulOp>(scale)) && scores.hasOneUse())
      if (auto c = scalarF32Constant(scale->getOperand(1))) {
        factor = isa<ds::DivOp>(scale) ? 1.0f / *c : *c;
        scores = scale->getOperand(0);
      }
    auto qk = scores.getDefiningOp<ds::MatMulOp>();
    if (!qk || !scores.hasOneUse() || !isF32Tensor(qk->getResult(0)))
      return rewriter.notifyMatchFailure(softmax, "the scores are not a single-use matmul");
    auto [q, cq] = unscaled(qk->getOperand(0));
    auto [kT, ck] = unscaled(qk->getOperand(1));
    factor *= cq * ck;
    if (!(factor > 0.0f) || !std::isfinite(1.0f / factor))
      return rewriter.notifyMatchFailure(softmax, "the score scale is not a positive constant");
    for (Value operand : {q, kT, pv->getOperand(1)})
      if (auto t = dyn_cast<RankedTensorType>(operand.getType()); !t || t.getRank() < 2)
        return rewriter.notifyMatchFailure(softmax, "a matmul operand is a vector or unranked");

    rewriter.setInsertionPoint(pv);
    OperationState state(pv->getLoc(), "ds.attention");
    state.addOperands({q, kT, pv->getOperand(1), mask});
    state.addTypes(pv->getResult(0).getType());
    state.addAttribute("scale_divisor", rewriter.getF32FloatAttr(1.0f / factor));
    state.addAttribute("masked_value", rewriter.getF32FloatAttr(*fill));
    if (guardWhere)
      state.addAttribute("nan_rows_to_zero", rewriter.getI64IntegerAttr(1));
    Operation *fused = rewriter.create(state);
    rewriter.replaceOp(pv, fused->getResults());
    return success(); // the chain is dead now: the canonicalizer removes it
  }
};

struct FuseAttentionPass : impl::FuseAttentionPassBase<FuseAttentionPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseMaskedAttention, FuseAdditiveMaskAttention>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
