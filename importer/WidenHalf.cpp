//===- WidenHalf.cpp - float16/bfloat16 models compute in float32 ----------===//
//
// Most published LLM exports store weights and activations in float16 or
// bfloat16, and the kernels compute in float32. At import the model's half
// constants become float32 constants (exactly: widening loses nothing), every
// half value becomes a float32 value, Cast/EyeLike targets and
// ConstantOfShape values of a half type become float32, and the graph keeps
// its interface: a half input is Cast to float32 where it enters, a half
// output Cast back (round to nearest even) where it leaves. So an artifact
// takes and returns what the model declares, and the teacher, calibration and
// quantization all start from the float32 values of the model's own numbers.
// Results differ from a runtime that rounds every intermediate to half (ONNX
// Runtime does for some ops) by half-precision rounding, not more.
//
//===----------------------------------------------------------------------===//
#include "importer/WidenHalf.h"

#include "importer/ElementBytes.h"

#include "dialects/ds/DsDialect.h"

#include "ds/runtime/numerics/Half.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace ds::importer {

namespace {

constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10, kOnnxBFloat16 = 16;
constexpr int64_t kMaxInlineElements = 64;

bool isHalf(Type t) { return t.isF16() || t.isBF16(); }

Type widened(Type t) {
  auto shaped = dyn_cast<ShapedType>(t);
  if (!shaped || !isHalf(shaped.getElementType()))
    return t;
  return shaped.clone(Float32Type::get(t.getContext()));
}

/// `attr` (float16 or bfloat16) as float32, inline when small, else a blob.
ElementsAttr widenConstant(ElementsAttr attr, StringRef blobName) {
  auto type = cast<ShapedType>(attr.getType());
  bool bf16 = type.getElementType().isBF16(), splat = false;
  auto bytes = elementBytes(attr, splat);
  if (!bytes)
    return {};
  int64_t n = type.getNumElements();
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, bytes->data() + (splat ? 0 : 2 * i), 2);
    values[static_cast<size_t>(i)] = bf16 ? rt::numerics::bf16ToFloat(bits)
                                          : rt::numerics::halfToFloat(bits);
  }
  auto f32 = cast<ShapedType>(widened(type));
  if (n <= kMaxInlineElements)
    return DenseElementsAttr::get(f32, ArrayRef<float>(values));
  return DenseResourceElementsAttr::get(
      f32, (blobName + ".f32").str(),
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<float>(values)));
}

} // namespace

size_t widenHalfPrecision(func::FuncOp func) {
  size_t widenedValues = 0;
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) { ops.push_back(op); });
  for (Operation *op : ops) {
    if (auto c = dyn_cast<ds::ConstantOp>(op); c && isHalf(c.getValue().getElementType())) {
      std::string name = "tensor";
      if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
        name = r.getRawHandle().getKey().str();
      ElementsAttr wide = widenConstant(c.getValue(), name);
      if (!wide)
        continue;
      OpBuilder b(op);
      Value replacement = ds::ConstantOp::create(b, op->getLoc(), wide.getType(), wide).getResult();
      c.getResult().replaceAllUsesWith(replacement);
      op->erase();
      ++widenedValues;
      continue;
    }
    for (Value r : op->getResults())
      if (Type t = widened(r.getType()); t != r.getType()) {
        r.setType(t);
        ++widenedValues;
      }
    for (const char *attr : {"to", "dtype"})
      if (auto to = op->getAttrOfType<IntegerAttr>(attr))
        if ((to.getInt() == kOnnxFloat16 || to.getInt() == kOnnxBFloat16) &&
            (isa<ds::CastOp>(op) || isa<ds::EyeLikeOp>(op)))
          op->setAttr(attr, IntegerAttr::get(to.getType(), kOnnxFloat));
    if (auto value = op->getAttrOfType<ElementsAttr>("value"); value && isHalf(value.getElementType()))
      if (ElementsAttr wide = widenConstant(value, "value"))
        op->setAttr("value", wide);
  }
  // The interface keeps the model's types: Casts where half values enter and leave.
  Block &body = func.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<ShapedType>(arg.getType());
    if (!type || !isHalf(type.getElementType()))
      continue;
    OperationState state(arg.getLoc(), "ds.cast");
    state.addOperands(arg);
    state.addTypes(widened(type));
    state.addAttribute("to", b.getI64IntegerAttr(kOnnxFloat));
    Operation *cast = b.create(state);
    arg.replaceAllUsesExcept(cast->getResult(0), cast);
  }
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  for (auto [i, type] : llvm::enumerate(func.getResultTypes())) {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped || !isHalf(shaped.getElementType()))
      continue;
    OperationState state(ret.getLoc(), "ds.cast");
    state.addOperands(ret.getOperand(static_cast<unsigned>(i)));
    state.addTypes(type);
    state.addAttribute("to", b.getI64IntegerAttr(shaped.getElementType().isBF16() ? kOnnxBFloat16
                                                                                 : kOnnxFloat16));
    ret.setOperand(static_cast<unsigned>(i), b.create(state)->getResult(0));
  }
  return widenedValues;
}

} // namespace ds::importer
