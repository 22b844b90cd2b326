//===- DsOps.cpp - ds dialect registration, verifiers and folders ---------===//
#include "dialects/ds/DsDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

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

#define GET_OP_CLASSES
#include "dialects/ds/DsOps.cpp.inc"
