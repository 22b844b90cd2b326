//===- FuseRotary.cpp - rotate-half rotary embedding -> ds.rotary ----------===//
//
// DESIGN §2 phase 3. Llama-style exporters spell rotary position embedding as
// x * cos + concat(-x[..., h:], x[..., :h]) * sin: seven kernels and four
// [..., D] intermediates per query/key tensor. ds.rotary does it in one pass
// with the same float operations. The match is anchored at the Concat.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FUSEROTARYPASS
#include "passes/Passes.h.inc"

namespace {

/// One int64 from a constant operand of one element, or nullopt.
std::optional<int64_t> scalarInt(Operation *op, unsigned i) {
  if (op->getNumOperands() <= i)
    return std::nullopt;
  auto t = constantTensor(op->getOperand(i));
  if (!t || t->numel() != 1)
    return std::nullopt;
  return t->getAsInt64(0);
}

/// The x of slice(x, [begin], [end], [last axis], [1]) with `end` at least D
/// when wantEnd is D (ONNX clamps), or null.
Value sliceOfLastAxis(Value v, int64_t begin, int64_t end, int64_t D, int64_t rank) {
  auto slice = v.getDefiningOp<ds::SliceOp>();
  if (!slice || !v.hasOneUse())
    return {};
  auto b = scalarInt(slice, 1), e = scalarInt(slice, 2), axis = scalarInt(slice, 3);
  auto step = slice->getNumOperands() > 4 ? scalarInt(slice, 4) : std::optional<int64_t>(1);
  if (!b || !e || !axis || !step || *step != 1 || *b != begin)
    return {};
  if (*axis != -1 && *axis != rank - 1)
    return {};
  if (end == D ? *e < D : *e != end)
    return {};
  return slice->getOperand(0);
}

/// A float [..., D] table (constant, or computed from position_ids as Optimum
/// exports do) that broadcasts to x's shape without growing it: each dim is 1,
/// x's static size, or dynamic where x's is. The kernel re-checks the real
/// shapes and refuses a table that would grow x (one line, never a wrong result).
bool isTable(Value v, RankedTensorType x) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  ArrayRef<int64_t> shape = x.getShape();
  if (!t || !t.getElementType().isF32() || t.getRank() < 1 ||
      t.getRank() > static_cast<int64_t>(shape.size()) || t.getShape().back() != shape.back())
    return false;
  for (int64_t i = 2; i <= t.getRank(); ++i) {
    int64_t d = t.getShape()[t.getRank() - i], want = shape[shape.size() - i];
    if (d != 1 && d != want)
      return false;
  }
  return true;
}

/// The other operand of a binary op whose operand is `v`.
Value otherOperand(Operation *op, Value v) {
  return op->getOperand(0) == v ? op->getOperand(1) : op->getOperand(0);
}

struct FuseRotaryHalf : OpRewritePattern<ds::ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::ConcatOp concat, PatternRewriter &rewriter) const override {
    if (concat->getNumOperands() != 2 || !concat->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(concat, "not a single-use concat of two");
    auto neg = concat->getOperand(0).getDefiningOp<ds::NegOp>();
    if (!neg || !concat->getOperand(0).hasOneUse())
      return rewriter.notifyMatchFailure(concat, "the first half is not a negation");
    // x is the sliced tensor; its type fixes D.
    auto sliceOp = neg->getOperand(0).getDefiningOp<ds::SliceOp>();
    if (!sliceOp)
      return rewriter.notifyMatchFailure(concat, "the negation is not of a slice");
    Value x = sliceOp->getOperand(0);
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !xType.getElementType().isF32() || xType.getRank() < 1 ||
        ShapedType::isDynamic(xType.getShape().back()) || xType.getShape().back() % 2 != 0)
      return rewriter.notifyMatchFailure(concat, "x is not a float tensor of a static, even D");
    const int64_t rank = xType.getRank(), D = xType.getShape().back(), h = D / 2;
    auto axis = concat->getAttrOfType<IntegerAttr>("axis");
    if (!axis || (axis.getInt() != -1 && axis.getInt() != rank - 1))
      return rewriter.notifyMatchFailure(concat, "the concat is not along the last axis");
    if (sliceOfLastAxis(neg->getOperand(0), h, D, D, rank) != x ||
        sliceOfLastAxis(concat->getOperand(1), 0, h, D, rank) != x)
      return rewriter.notifyMatchFailure(concat, "not concat(-x[..., h:], x[..., :h])");
    // rotated * sin
    Operation *mulSin = *concat->getResult(0).getUsers().begin();
    if (!isa<ds::MulOp>(mulSin) || !mulSin->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(concat, "the rotated half is not multiplied once");
    Value sin = otherOperand(mulSin, concat->getResult(0));
    // (x * cos) + (rotated * sin)
    Operation *add = *mulSin->getResult(0).getUsers().begin();
    if (!isa<ds::AddOp>(add))
      return rewriter.notifyMatchFailure(concat, "the products are not added");
    auto mulCos = otherOperand(add, mulSin->getResult(0)).getDefiningOp<ds::MulOp>();
    if (!mulCos || !mulCos->getResult(0).hasOneUse() ||
        !llvm::is_contained(mulCos->getOperands(), x))
      return rewriter.notifyMatchFailure(concat, "the other addend is not a product with x");
    Value cos = otherOperand(mulCos, x);
    if (!isTable(cos, xType) || !isTable(sin, xType) || add->getResult(0).getType() != xType)
      return rewriter.notifyMatchFailure(concat, "cos/sin are not [..., D] tables that broadcast to x");

    rewriter.setInsertionPoint(add);
    OperationState state(add->getLoc(), "ds.rotary");
    state.addOperands({x, cos, sin});
    state.addTypes(add->getResult(0).getType());
    Operation *fused = rewriter.create(state);
    Operation *slice2 = concat->getOperand(1).getDefiningOp();
    rewriter.replaceOp(add, fused->getResults());
    rewriter.eraseOp(mulCos);
    rewriter.eraseOp(mulSin);
    rewriter.eraseOp(concat);
    rewriter.eraseOp(slice2);
    rewriter.eraseOp(neg);
    rewriter.eraseOp(sliceOp);
    return success();
  }
};

struct FuseRotaryPass : impl::FuseRotaryPassBase<FuseRotaryPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseRotaryHalf>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
