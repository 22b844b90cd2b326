//===- ConstantUtils.cpp --------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "passes/SpillFile.h"

#include "dialects/ds/DsDialect.h"
#include "executor/ReferenceExecutor.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace ds::passes {

std::optional<rt::Tensor> constantTensor(Value v) {
  auto constant = v.getDefiningOp<ds::ConstantOp>();
  if (!constant)
    return std::nullopt;
  try {
    return exec::tensorFromElementsAttr(constant.getValue());
  } catch (const std::exception &) {
    return std::nullopt; // elided or unsupported: not a constant a pass can read
  }
}

namespace {
Type elementTypeFor(MLIRContext *ctx, rt::DType dtype) {
  switch (dtype) {
  case rt::DType::F32: return Float32Type::get(ctx);
  case rt::DType::I8: return IntegerType::get(ctx, 8);
  case rt::DType::U8: return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case rt::DType::I16: return IntegerType::get(ctx, 16);
  case rt::DType::U16: return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case rt::DType::I32: return IntegerType::get(ctx, 32);
  case rt::DType::U32: return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case rt::DType::I64: return IntegerType::get(ctx, 64);
  case rt::DType::U64: return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  case rt::DType::Bool: return IntegerType::get(ctx, 1);
  case rt::DType::F64: return Float64Type::get(ctx);
  case rt::DType::F16: return Float16Type::get(ctx);
  case rt::DType::BF16: return BFloat16Type::get(ctx);
  default: break;
  }
  throw rt::Error(std::string("cannot create a constant of element type ") + rt::dtypeName(dtype));
}
} // namespace

Value createConstant(OpBuilder &builder, Location loc, const rt::Tensor &t, StringRef nameHint) {
  auto type = RankedTensorType::get(t.shape(), elementTypeFor(builder.getContext(), t.dtype()));
  ArrayRef<char> bytes(static_cast<const char *>(t.rawData()), t.byteSize());
  std::optional<AsmResourceBlob> spilled;
  if (bytes.size() >= kSpillMinBytes)
    spilled = spillBlob(bytes, 64);
  AsmResourceBlob blob = spilled ? std::move(*spilled)
                                 : HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64);
  auto attr = DenseResourceElementsAttr::get(type, nameHint, std::move(blob));
  return ds::ConstantOp::create(builder, loc, type, cast<ElementsAttr>(attr)).getResult();
}

std::string nodeName(Operation *op) {
  if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
    return nameLoc.getName().str();
  return {};
}

std::string blobPrefix(Operation *op) {
  std::string name = nodeName(op);
  return name.empty() ? op->getName().stripDialect().str() : name;
}

} // namespace ds::passes
