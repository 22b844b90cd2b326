//===- DsOps.cpp - ds dialect registration, verifiers and folders ---------===//
#include "dialects/ds/DsDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;

#include "dialects/ds/DsOpsDialect.cpp.inc"

void ds::DsDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/ds/DsOps.cpp.inc"
      >();
}

LogicalResult ds::ConstantOp::verify() {
  auto valueType = llvm::cast<ShapedType>(getValue().getType());
  if (valueType != getOutput().getType())
    return emitOpError() << "value type " << valueType << " does not match result type "
                         << getOutput().getType();
  return success();
}

OpFoldResult ds::ConstantOp::fold(FoldAdaptor) { return getValue(); }
OpFoldResult ds::NoneOp::fold(FoldAdaptor) { return UnitAttr::get(getContext()); }

namespace {
/// Rules shared by ds.quant_matmul and ds.quant_conv (see their descriptions).
/// `weightRank` is the rank `w` must have, `outChannelDim` the dim of `w` that
/// w_scale and bias index.
LogicalResult verifyQuantCompute(Operation *op, int64_t weightRank, int64_t outChannelDim) {
  auto tensorType = [&](unsigned i) { return dyn_cast<RankedTensorType>(op->getOperand(i).getType()); };
  auto x = tensorType(0), w = tensorType(1), scale = tensorType(2);
  if (!x || !x.getElementType().isF32())
    return op->emitOpError() << "activation must be a ranked float32 tensor";
  if (!w || !w.getElementType().isSignlessInteger(8) || w.getRank() != weightRank)
    return op->emitOpError() << "weights must be a rank-" << weightRank << " int8 tensor";
  int64_t channels = w.getDimSize(outChannelDim);
  auto matchesChannels = [&](RankedTensorType t) {
    return t && t.getElementType().isF32() &&
           (t.getNumElements() == 1 || (t.getRank() == 1 && t.getDimSize(0) == channels));
  };
  if (!matchesChannels(scale))
    return op->emitOpError() << "w_scale must be float32 of " << channels << " elements or one";
  if (op->getNumOperands() == 4 && !isa<NoneType>(op->getOperand(3).getType())) {
    auto bias = tensorType(3);
    if (!bias || bias.getRank() != 1 || !matchesChannels(bias))
      return op->emitOpError() << "bias must be float32 [" << channels << "]";
  }
  if (auto xScale = op->getAttrOfType<FloatAttr>("x_scale")) {
    double v = xScale.getValueAsDouble();
    if (!(v >= 0) || !std::isfinite(v))
      return op->emitOpError() << "x_scale must be finite and >= 0 (0: dynamic)";
  }
  if (auto zp = op->getAttrOfType<IntegerAttr>("x_zero_point"))
    if (zp.getInt() < 0 || zp.getInt() > 255)
      return op->emitOpError() << "x_zero_point must be in [0, 255] (uint8 activations)";
  if (auto g = op->getAttrOfType<StringAttr>("x_granularity"))
    if (g.getValue() != "tensor" && g.getValue() != "row")
      return op->emitOpError() << "x_granularity must be \"tensor\" or \"row\"";
  if (auto act = op->getAttrOfType<StringAttr>("activation"))
    if (act.getValue() != "none" && act.getValue() != "relu")
      return op->emitOpError() << "activation must be \"none\" or \"relu\"";
  return success();
}
} // namespace

LogicalResult ds::QuantMatMulOp::verify() {
  if (failed(verifyQuantCompute(*this, 2, 1)))
    return failure();
  auto x = cast<RankedTensorType>(getOperand(0).getType());
  auto w = cast<RankedTensorType>(getOperand(1).getType());
  if (x.getRank() < 2)
    return emitOpError() << "activation must have rank >= 2";
  int64_t k = x.getDimSize(x.getRank() - 1);
  if (!ShapedType::isDynamic(k) && k != w.getDimSize(0))
    return emitOpError() << "activation has K = " << k << ", weights have K = " << w.getDimSize(0);
  return success();
}

LogicalResult ds::QuantConvOp::verify() { return verifyQuantCompute(*this, 4, 0); }

#define GET_OP_CLASSES
#include "dialects/ds/DsOps.cpp.inc"
