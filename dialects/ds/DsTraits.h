//===- DsTraits.h - C++ traits used by ds ops ------------------------------===//
#pragma once

#include "mlir/IR/OpDefinition.h"

namespace ds::OpTrait {

/// Checks that an ONNX-derived op has between MinIn and MaxIn operands and
/// between MinOut and MaxOut results (ONNX optional inputs/outputs), and that
/// required operands are tensors, not `none`.
template <int MinIn, int MaxIn, int MinOut, int MaxOut> struct OnnxArity {
  template <typename ConcreteOp>
  class Impl : public mlir::OpTrait::TraitBase<ConcreteOp, Impl> {
  public:
    static llvm::LogicalResult verifyTrait(mlir::Operation *op) {
      auto inRange = [](unsigned n, int lo, int hi) {
        return n >= static_cast<unsigned>(lo) && n <= static_cast<unsigned>(hi);
      };
      if (!inRange(op->getNumOperands(), MinIn, MaxIn))
        return op->emitOpError() << "expects " << MinIn
                                 << (MinIn == MaxIn ? "" : " or more") << " operands"
                                 << (MaxIn != MinIn && MaxIn < 1000
                                         ? " (at most " + std::to_string(MaxIn) + ")"
                                         : std::string())
                                 << ", got " << op->getNumOperands();
      if (!inRange(op->getNumResults(), MinOut, MaxOut))
        return op->emitOpError() << "expects " << MinOut << " to " << MaxOut
                                 << " results, got " << op->getNumResults();
      for (int i = 0; i < MinIn && i < static_cast<int>(op->getNumOperands()); ++i)
        if (llvm::isa<mlir::NoneType>(op->getOperand(i).getType()))
          return op->emitOpError() << "operand #" << i << " is required but is none";
      return llvm::success();
    }
  };
};

/// Marks ops that passes create and no ONNX model may contain (quantized and
/// fused compute): the importer refuses an ONNX op type that maps onto one.
template <typename ConcreteOp>
class CompilerOnly : public mlir::OpTrait::TraitBase<ConcreteOp, CompilerOnly> {};

} // namespace ds::OpTrait
