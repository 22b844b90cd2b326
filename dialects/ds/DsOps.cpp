//===- DsOps.cpp - ds dialect registration, verifiers and folders ---------===//
#include "dialects/ds/DsDialect.h"
#include "codegen/runtime/kernels/QuantPackedLayout.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
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

/// A one-result op whose only operand already has the result's type is a no-op.
static LogicalResult foldToOperand(Operation *op, SmallVectorImpl<OpFoldResult> &results) {
  if (op->getNumOperands() != 1 || op->getNumResults() != 1 ||
      op->getOperand(0).getType() != op->getResult(0).getType())
    return failure();
  results.push_back(op->getOperand(0));
  return success();
}

LogicalResult ds::CastOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &results) {
  return foldToOperand(getOperation(), results);
}

LogicalResult ds::IdentityOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &results) {
  return foldToOperand(getOperation(), results);
}

namespace {
/// Checks the quantized weight type of the quantized-types form: symmetric int8
/// in [-127, 127] (what the INT8 kernels multiply), per tensor or per
/// `outChannelDim` with one scale per channel.
LogicalResult verifyQuantizedWeightType(Operation *op, quant::QuantizedType type,
                                        int64_t outChannelDim, int64_t channels) {
  if (!type.isSigned() || type.getStorageTypeIntegralWidth() != 8 ||
      !type.getExpressedType().isF32() || type.getStorageTypeMin() < -127)
    return op->emitOpError() << "quantized weights must be !quant.uniform<i8<-127:127>:f32...> "
                                "(the INT8 kernels multiply int8 in [-127, 127]), got "
                             << type;
  if (auto perTensor = dyn_cast<quant::UniformQuantizedType>(type)) {
    if (perTensor.getZeroPoint() != 0)
      return op->emitOpError() << "quantized weights must be symmetric (zero point 0)";
    return success();
  }
  auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(type);
  if (!perAxis)
    return op->emitOpError() << "quantized weights must be uniform, per tensor or per axis";
  if (perAxis.getQuantizedDimension() != outChannelDim)
    return op->emitOpError() << "quantized weights must be quantized along dim " << outChannelDim
                             << " (the output channels), got " << perAxis.getQuantizedDimension();
  if (static_cast<int64_t>(perAxis.getScales().size()) != channels)
    return op->emitOpError() << "quantized weights have " << perAxis.getScales().size()
                             << " scales for " << channels << " output channels";
  if (llvm::any_of(perAxis.getZeroPoints(), [](int64_t zp) { return zp != 0; }))
    return op->emitOpError() << "quantized weights must be symmetric (zero points 0)";
  return success();
}

/// Rules shared by ds.quant_matmul and ds.quant_conv in both forms (see
/// DsOps.td). `weightRank` is the rank `w` must have, `outChannelDim` the dim of
/// `w` that the weight scales and bias index.
LogicalResult verifyQuantCompute(Operation *op, int64_t weightRank, int64_t outChannelDim) {
  auto tensorType = [&](unsigned i) { return dyn_cast<RankedTensorType>(op->getOperand(i).getType()); };
  auto x = tensorType(0), w = tensorType(1);
  int64_t channels = 0;
  if (auto packed = op->getAttrOfType<DenseI64ArrayAttr>("w_packed")) {
    // ds-pack-int8-weights: w is the INT8 GEMM's packed block(s) for the
    // logical weights [K, N] (matmul) or [M, C/group, kh, kw] (conv, one block
    // per group).
    if (static_cast<int64_t>(packed.size()) != weightRank ||
        llvm::any_of(packed.asArrayRef(), [](int64_t d) { return d < 0; }))
      return op->emitOpError() << "w_packed must be the weights' logical shape (rank "
                               << weightRank << ")";
    int64_t bytes = 0;
    if (weightRank == 2) {
      bytes = ds::rt::quantPackedBBytes(packed[0], packed[1]);
    } else {
      auto groupAttr = op->getAttrOfType<IntegerAttr>("group");
      int64_t groups = groupAttr ? groupAttr.getInt() : 1;
      if (groups < 1 || packed[0] % groups != 0)
        return op->emitOpError() << "w_packed's " << packed[0] << " output channels are not "
                                 << "divisible by group " << groups;
      bytes = groups * ds::rt::quantPackedBBytes(packed[1] * packed[2] * packed[3],
                                                  packed[0] / groups);
    }
    if (!w || w.getRank() != 1 || !w.getElementType().isSignlessInteger(8) || w.getDimSize(0) != bytes)
      return op->emitOpError() << "packed weights for [" << packed.asArrayRef() << "] must be tensor<"
                               << bytes << "xi8>";
    channels = packed[outChannelDim];
  } else {
    if (!w || w.getRank() != weightRank)
      return op->emitOpError() << "weights must be a rank-" << weightRank
                               << " tensor of int8 or !quant.uniform<i8...>";
    channels = w.getDimSize(outChannelDim);
  }
  auto weightType = dyn_cast<quant::QuantizedType>(w.getElementType());
  bool typedForm = weightType != nullptr;
  auto activationType = x ? dyn_cast<quant::QuantizedType>(x.getElementType()) : nullptr;
  if (!x || (!activationType && !x.getElementType().isF32()))
    return op->emitOpError() << "activation must be a ranked float32 tensor or a tensor of "
                                "!quant.uniform<u8:f32, ...>";
  if (activationType) {
    auto perTensor = dyn_cast<quant::UniformQuantizedType>(activationType);
    if (!typedForm)
      return op->emitOpError() << "a quantized activation needs quantized weights";
    if (!perTensor || perTensor.isSigned() || perTensor.getStorageTypeIntegralWidth() != 8 ||
        !perTensor.getExpressedType().isF32())
      return op->emitOpError() << "a quantized activation must be !quant.uniform<u8:f32, "
                                  "scale:zero_point> (the INT8 kernels read uint8 per tensor), got "
                               << activationType;
    if (op->hasAttr("x_scale") || op->hasAttr("x_zero_point") || op->hasAttr("x_granularity"))
      return op->emitOpError() << "a quantized activation carries its parameters in its type: "
                                  "no x_scale, x_zero_point or x_granularity";
  }
  auto matchesChannels = [&](RankedTensorType t) {
    return t && t.getElementType().isF32() &&
           (t.getNumElements() == 1 || (t.getRank() == 1 && t.getDimSize(0) == channels));
  };
  unsigned biasIndex = 3;
  if (typedForm) {
    if (failed(verifyQuantizedWeightType(op, weightType, outChannelDim, channels)))
      return failure();
    if (op->getNumOperands() > 3)
      return op->emitOpError() << "with quantized weights the operands are x, w and an optional "
                                  "bias (the scales are in w's type)";
    biasIndex = 2;
  } else {
    if (!w.getElementType().isSignlessInteger(8))
      return op->emitOpError() << "weights must be a rank-" << weightRank
                               << " tensor of int8 or !quant.uniform<i8...>";
    if (op->getNumOperands() < 3 || !matchesChannels(tensorType(2)))
      return op->emitOpError() << "w_scale must be float32 of " << channels << " elements or one";
  }
  if (op->getNumOperands() > biasIndex && !isa<NoneType>(op->getOperand(biasIndex).getType())) {
    auto bias = tensorType(biasIndex);
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
  auto packed = (*this)->getAttrOfType<DenseI64ArrayAttr>("w_packed");
  int64_t weightK = packed ? packed[0] : cast<RankedTensorType>(getOperand(1).getType()).getDimSize(0);
  if (x.getRank() < 2)
    return emitOpError() << "activation must have rank >= 2";
  int64_t k = x.getDimSize(x.getRank() - 1);
  if (!ShapedType::isDynamic(k) && k != weightK)
    return emitOpError() << "activation has K = " << k << ", weights have K = " << weightK;
  return success();
}

LogicalResult ds::QuantConvOp::verify() { return verifyQuantCompute(*this, 4, 0); }

#define GET_OP_CLASSES
#include "dialects/ds/DsOps.cpp.inc"
