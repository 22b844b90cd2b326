//===- FuseNorms.cpp - decomposed RMSNorm -> ds.rms_norm -------------------===//
//
// DESIGN §2 phase 3. Exporters (torch.onnx, the llama2.c converter) spell
// RMSNorm as six ONNX ops; the fused kernel does it in two passes over the row
// with no intermediate tensors. The match is anchored at the Sqrt and walks
// outwards, so every variant shares one piece of code.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FUSENORMSPASS
#include "passes/Passes.h.inc"

namespace {

std::optional<double> scalarConstantValue(Value v) {
  auto t = constantTensor(v);
  if (!t || t->numel() != 1 || t->dtype() != rt::DType::F32)
    return std::nullopt;
  return t->getAsDouble(0);
}

/// The x of x^2 (Pow(x, 2) or Mul(x, x)), or null.
Value squaredOperand(Value v) {
  Operation *op = v.getDefiningOp();
  if (!op || !v.hasOneUse())
    return {};
  if (isa<ds::PowOp>(op) && scalarConstantValue(op->getOperand(1)) == 2.0)
    return op->getOperand(0);
  if (isa<ds::MulOp>(op) && op->getOperand(0) == op->getOperand(1))
    return op->getOperand(0);
  return {};
}

/// True for reduce_mean over exactly the last axis with keepdims (attribute or
/// constant axes operand).
bool isLastAxisMean(Operation *op, int64_t rank) {
  if (!isa<ds::ReduceMeanOp>(op))
    return false;
  auto keep = op->getAttrOfType<IntegerAttr>("keepdims");
  if (keep && keep.getInt() == 0)
    return false;
  std::vector<int64_t> axes;
  if (auto a = op->getAttrOfType<DenseI64ArrayAttr>("axes"))
    axes.assign(a.asArrayRef().begin(), a.asArrayRef().end());
  else if (op->getNumOperands() > 1 && !isa<NoneType>(op->getOperand(1).getType())) {
    auto t = constantTensor(op->getOperand(1));
    if (!t)
      return false;
    axes = t->toInt64Vector();
  }
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

struct FuseRmsNorm : OpRewritePattern<ds::SqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::SqrtOp sqrt, PatternRewriter &rewriter) const override {
    // sqrt(mean(x^2) + eps)
    auto add = sqrt->getOperand(0).getDefiningOp<ds::AddOp>();
    if (!add || !add->getResult(0).hasOneUse() || !sqrt->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(sqrt, "not sqrt(single-use add)");
    Value meanValue = add->getOperand(0);
    auto eps = scalarConstantValue(add->getOperand(1));
    if (!eps) {
      meanValue = add->getOperand(1);
      eps = scalarConstantValue(add->getOperand(0));
    }
    Operation *mean = meanValue.getDefiningOp();
    if (!eps || !mean || !meanValue.hasOneUse())
      return rewriter.notifyMatchFailure(sqrt, "epsilon is not a scalar float constant");
    Value x = squaredOperand(mean->getOperand(0));
    auto xType = x ? dyn_cast<RankedTensorType>(x.getType()) : RankedTensorType();
    if (!xType || !xType.getElementType().isF32() || !isLastAxisMean(mean, xType.getRank()))
      return rewriter.notifyMatchFailure(sqrt, "not mean(x^2) over the last axis");
    // x / s, or x * (1 / s) with the inverse as Reciprocal(s) or Div(1, s) (torch)
    Operation *user = *sqrt->getResult(0).getUsers().begin();
    Operation *normalized = nullptr;
    bool divOne = isa<ds::DivOp>(user) && user->getOperand(1) == sqrt->getResult(0) &&
                  scalarConstantValue(user->getOperand(0)) == 1.0;
    if (isa<ds::DivOp>(user) && user->getOperand(0) == x && user->getOperand(1) == sqrt->getResult(0))
      normalized = user;
    else if ((isa<ds::ReciprocalOp>(user) || divOne) && user->getResult(0).hasOneUse()) {
      Operation *mul = *user->getResult(0).getUsers().begin();
      if (isa<ds::MulOp>(mul) && llvm::is_contained(mul->getOperands(), x))
        normalized = mul;
    }
    if (!normalized || normalized->getResult(0).getType() != x.getType())
      return rewriter.notifyMatchFailure(sqrt, "the inverse is not applied to x");
    // An optional scale: Mul by a constant of the last dim's size.
    Operation *last = normalized;
    Value scale;
    int64_t d = xType.getShape().back();
    if (normalized->getResult(0).hasOneUse()) {
      Operation *mul = *normalized->getResult(0).getUsers().begin();
      if (isa<ds::MulOp>(mul) && mul->getResult(0).getType() == x.getType()) {
        Value other = mul->getOperand(0) == normalized->getResult(0) ? mul->getOperand(1) : mul->getOperand(0);
        auto t = constantTensor(other);
        if (t && t->dtype() == rt::DType::F32 && t->rank() == 1 && t->dim(0) == d && !ShapedType::isDynamic(d)) {
          scale = other;
          last = mul;
        }
      }
    }
    rewriter.setInsertionPoint(last);
    OperationState state(last->getLoc(), "ds.rms_norm");
    state.addOperands(x);
    if (scale)
      state.addOperands(scale);
    state.addTypes(x.getType());
    state.addAttribute("epsilon", rewriter.getF32FloatAttr(static_cast<float>(*eps)));
    Operation *fused = rewriter.create(state);
    rewriter.replaceOp(last, fused->getResults());
    return success();
  }
};

struct FuseNormsPass : impl::FuseNormsPassBase<FuseNormsPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseRmsNorm>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
