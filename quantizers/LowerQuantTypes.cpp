//===- LowerQuantTypes.cpp - quantized types -> the kernels' storage form --===//
//
// ds-quant-int8 states the INT8 numerics in MLIR's quant types: int8 weights
// `quant.scast` to a per-channel `!quant.uniform<i8<-127:127>:f32:axis, {...}>`,
// a statically quantized activation `quant.qcast` to
// `!quant.uniform<u8:f32, scale:zero_point>`. The kernels (the reference
// executor and the artifact alike) read plain tensors: int8 weights, a float
// scale tensor and x_scale / x_zero_point attributes. This pass is that
// lowering, our compute ops' counterpart of MLIR's lower-quant-ops: it moves
// the parameters out of the types and changes no number.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "quantizers/Passes.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace ds::quant {
#define GEN_PASS_DEF_LOWERQUANTTYPESPASS
#include "quantizers/Passes.h.inc"

namespace {

/// The float scales of a symmetric int8 weight type: [channels] per axis, [1]
/// per tensor (the verifier has checked the zero points are 0).
rt::Tensor weightScales(mlir::quant::QuantizedType type) {
  if (auto perAxis = dyn_cast<mlir::quant::UniformQuantizedPerAxisType>(type)) {
    ArrayRef<double> scales = perAxis.getScales();
    rt::Tensor t(rt::DType::F32, {static_cast<int64_t>(scales.size())});
    for (size_t i = 0; i < scales.size(); ++i)
      t.mutableData<float>()[i] = static_cast<float>(scales[i]);
    return t;
  }
  rt::Tensor t(rt::DType::F32, {1});
  t.mutableData<float>()[0] = static_cast<float>(cast<mlir::quant::UniformQuantizedType>(type).getScale());
  return t;
}

LogicalResult lowerOperands(Operation *op) {
  Value w = op->getOperand(1);
  auto weightType = dyn_cast<mlir::quant::QuantizedType>(getElementTypeOrSelf(w.getType()));
  if (!weightType)
    return success(); // already in storage form
  auto storage = w.getDefiningOp<mlir::quant::StorageCastOp>();
  if (!storage)
    return op->emitOpError() << "ds-lower-quant-types: quantized weights must be a quant.scast "
                                "of their int8 storage";
  // The scales go beside the int8 constant (where ds-quant-int8 used to put them).
  OpBuilder builder(op);
  if (Operation *def = storage.getInput().getDefiningOp())
    builder.setInsertionPointAfter(def);
  Value scales = passes::createConstant(builder, op->getLoc(), weightScales(weightType),
                                        passes::blobPrefix(op) + ".weight_scale");
  Value x = op->getOperand(0);
  if (auto xType = dyn_cast<mlir::quant::UniformQuantizedType>(getElementTypeOrSelf(x.getType()))) {
    auto quantize = x.getDefiningOp<mlir::quant::QuantizeCastOp>();
    if (!quantize)
      return op->emitOpError() << "ds-lower-quant-types: a quantized activation must be a "
                                  "quant.qcast of a float tensor (the kernel quantizes it)";
    x = quantize.getInput();
    Builder b(op->getContext());
    op->setAttr("x_scale", b.getF32FloatAttr(static_cast<float>(xType.getScale())));
    op->setAttr("x_zero_point", b.getI64IntegerAttr(xType.getZeroPoint()));
  }
  SmallVector<Value, 4> operands{x, storage.getInput(), scales};
  if (op->getNumOperands() > 2)
    operands.push_back(op->getOperand(2));
  op->setOperands(operands);
  return success();
}

struct LowerQuantTypesPass : impl::LowerQuantTypesPassBase<LowerQuantTypesPass> {
  void runOnOperation() override {
    SmallVector<Operation *> computeOps;
    getOperation().walk([&](Operation *op) {
      if (isa<ds::QuantMatMulOp, ds::QuantConvOp>(op))
        computeOps.push_back(op);
    });
    for (Operation *op : computeOps)
      if (failed(lowerOperands(op)))
        return signalPassFailure();
    // The casts the compute ops read are dead now.
    getOperation().walk([](Operation *op) {
      if (isa<mlir::quant::StorageCastOp, mlir::quant::QuantizeCastOp>(op) && op->use_empty())
        op->erase();
    });
  }
};

} // namespace
} // namespace ds::quant
