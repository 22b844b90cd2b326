//===- FoldQdq.cpp - a QDQ model's activation scales -> ds.act_qparams ----===//
#include "passes/ConstantUtils.h"
#include "quantizers/Passes.h"

#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;

namespace ds::quant {
#define GEN_PASS_DEF_FOLDQDQPASS
#include "quantizers/Passes.h.inc"

namespace {

/// A scalar constant's value as double, if it is one.
std::optional<double> scalarConstant(Value v) {
  auto t = passes::constantTensor(v);
  if (!t || t->numel() != 1)
    return std::nullopt;
  return t->getAsDouble(0);
}

/// The (scale, uint8 zero point) of a per-tensor 8-bit quantize_linear /
/// dequantize_linear, or nullopt (per-axis, 16-bit, non-constant, ...).
std::optional<std::pair<double, double>> perTensorParams(Operation *op) {
  if (op->getNumOperands() < 2)
    return std::nullopt;
  auto scale = scalarConstant(op->getOperand(1));
  if (!scale || !(*scale > 0) || !std::isfinite(*scale))
    return std::nullopt;
  // The 8-bit type: the quantized operand of a DQ, the result of a Q.
  Value quantized = isa<ds::DequantizeLinearOp>(op) ? op->getOperand(0) : op->getResult(0);
  auto type = dyn_cast<ShapedType>(quantized.getType());
  auto intType = type ? dyn_cast<IntegerType>(type.getElementType()) : IntegerType();
  if (!intType || intType.getWidth() != 8)
    return std::nullopt;
  double zp = 0;
  if (op->getNumOperands() > 2 && !isa<NoneType>(op->getOperand(2).getType())) {
    auto z = scalarConstant(op->getOperand(2));
    if (!z)
      return std::nullopt;
    zp = *z;
  }
  if (!intType.isUnsigned())
    zp += 128; // int8 grid (q - zp) * s == uint8 grid (q + 128 - (zp + 128)) * s
  return std::make_pair(*scale, zp);
}

struct FoldQdqPass : impl::FoldQdqPassBase<FoldQdqPass> {
  void runOnOperation() override {
    std::vector<Operation *> dequantizes;
    getOperation().walk([&](ds::DequantizeLinearOp dq) { dequantizes.push_back(dq); });
    Builder b(&getContext());
    for (Operation *dq : dequantizes) {
      auto q = dq->getOperand(0).getDefiningOp<ds::QuantizeLinearOp>();
      if (!q)
        continue;
      auto qParams = perTensorParams(q), dqParams = perTensorParams(dq);
      if (!qParams || !dqParams || *qParams != *dqParams)
        continue;
      Value x = q->getOperand(0), y = dq->getResult(0);
      if (x.getType() != y.getType())
        continue;
      for (Operation *user : y.getUsers())
        if (isQuantCandidate(user) && user->getOperand(0) == y)
          user->setAttr(kActQParamsAttr,
                        b.getDenseF32ArrayAttr({static_cast<float>(qParams->first),
                                                static_cast<float>(qParams->second)}));
      y.replaceAllUsesWith(x);
      dq->erase();
      if (q->use_empty())
        q->erase();
    }
  }
};

} // namespace
} // namespace ds::quant
