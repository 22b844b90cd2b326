//===- ReferenceExecutor.cpp ----------------------------------------------===//
#include "executor/ReferenceExecutor.h"

#include "dialects/ds/DsDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace ds::exec {


std::string describeOp(Operation *op) {
  std::string where;
  if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
    where = "node '" + nameLoc.getName().str() + "' ";
  return where + "(" + op->getName().getStringRef().str() + ")";
}

TensorSpec specForType(const std::string &name, Type type) {
  TensorSpec spec;
  spec.name = name;
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped)
    return spec;
  spec.dtype = dtypeFromMlir(shaped.getElementType());
  if (shaped.hasRank()) {
    spec.ranked = true;
    for (int64_t d : shaped.getShape())
      spec.dims.push_back(ShapedType::isDynamic(d) ? -1 : d);
  }
  return spec;
}

namespace {

rt::AttrValue convertAttr(Attribute attr, Operation *op, StringRef name) {
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getType().isUnsignedInteger() ? static_cast<int64_t>(i.getUInt()) : i.getInt();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return static_cast<float>(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(attr))
    return s.str();
  if (auto ints = dyn_cast<DenseI64ArrayAttr>(attr))
    return std::vector<int64_t>(ints.asArrayRef().begin(), ints.asArrayRef().end());
  if (auto floats = dyn_cast<DenseF32ArrayAttr>(attr))
    return std::vector<float>(floats.asArrayRef().begin(), floats.asArrayRef().end());
  if (auto elements = dyn_cast<ElementsAttr>(attr))
    return tensorFromElementsAttr(elements);
  if (auto array = dyn_cast<ArrayAttr>(attr)) {
    std::vector<std::string> strings;
    for (Attribute a : array) {
      auto s = dyn_cast<StringAttr>(a);
      if (!s)
        throw ExecutionError(describeOp(op) + ": attribute '" + name.str() +
                             "' is a list of non-strings, which kernels cannot read");
      strings.push_back(s.str());
    }
    return strings;
  }
  throw ExecutionError(describeOp(op) + ": attribute '" + name.str() + "' has an unsupported kind");
}

} // namespace

rt::DType dtypeFromMlir(Type t) {
  if (t.isF32()) return rt::DType::F32;
  if (t.isF64()) return rt::DType::F64;
  if (t.isF16()) return rt::DType::F16;
  if (t.isBF16()) return rt::DType::BF16;
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1: return rt::DType::Bool;
    case 8: return u ? rt::DType::U8 : rt::DType::I8;
    case 16: return u ? rt::DType::U16 : rt::DType::I16;
    case 32: return u ? rt::DType::U32 : rt::DType::I32;
    case 64: return u ? rt::DType::U64 : rt::DType::I64;
    default: break;
    }
  }
  return rt::DType::Undefined;
}

rt::Tensor tensorFromElementsAttr(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  rt::DType dtype = dtypeFromMlir(type.getElementType());
  if (dtype == rt::DType::Undefined)
    throw ExecutionError("constant of unsupported element type");
  rt::Shape shape(type.getShape().begin(), type.getShape().end());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      throw ExecutionError("constant '" + resource.getRawHandle().getKey().str() +
                           "' has no data (elided resource?)");
    ArrayRef<char> bytes = blob->getData();
    rt::Tensor t = rt::Tensor::borrow(dtype, shape, bytes.data(), nullptr);
    if (bytes.size() != t.byteSize())
      throw ExecutionError("constant '" + resource.getRawHandle().getKey().str() + "' holds " +
                           std::to_string(bytes.size()) + " bytes, its type needs " +
                           std::to_string(t.byteSize()));
    return t;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    throw ExecutionError("constant attribute kind is not supported");
  rt::Tensor t(dtype, shape);
  if (dtype == rt::DType::Bool) {
    bool *out = t.mutableData<bool>();
    int64_t i = 0;
    for (bool v : dense.getValues<bool>())
      out[i++] = v;
    return t;
  }
  ArrayRef<char> raw = dense.getRawData();
  size_t elem = rt::dtypeSize(dtype);
  char *out = static_cast<char *>(t.mutableRawData());
  if (dense.isSplat()) {
    for (int64_t i = 0; i < t.numel(); ++i)
      std::memcpy(out + i * elem, raw.data(), elem);
  } else if (t.byteSize() > 0) { // an empty tensor's raw data may be null
    std::memcpy(out, raw.data(), t.byteSize());
  }
  return t;
}

rt::AttrMap kernelAttrs(Operation *op) {
  rt::AttrMap attrs;
  for (NamedAttribute attr : op->getDiscardableAttrs())
    if (!attr.getName().getValue().starts_with("ds.")) // compiler annotations, not ONNX's
      attrs.set(attr.getName().str(), convertAttr(attr.getValue(), op, attr.getName()));
  return attrs;
}

ReferenceExecutor::ReferenceExecutor(ModuleOp module, rt::ThreadPool &pool) : pool_(pool) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || func.getBody().empty())
    throw ExecutionError("module has no func.func @main to run");
  Block &body = func.getBody().front();

  llvm::DenseMap<Value, int> slotOf;
  auto nameOf = [](DictionaryAttr attrs, unsigned i) {
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("ds.name"))
        return n.str();
    return "arg" + std::to_string(i);
  };
  try {
    for (BlockArgument arg : body.getArguments()) {
      DictionaryAttr attrs = func.getArgAttrDict(arg.getArgNumber());
      TensorSpec spec = specForType(nameOf(attrs, arg.getArgNumber()), arg.getType());
      if (attrs)
        if (auto max = attrs.getAs<DenseI64ArrayAttr>(kMaxShapeAttr))
          spec.maxDims.assign(max.asArrayRef().begin(), max.asArrayRef().end());
      slotOf[arg] = program_.addInput(std::move(spec));
    }

    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (auto [i, v] : llvm::enumerate(ret.getOperands()))
          program_.addOutput(slotOf.at(v),
                             specForType(nameOf(func.getResultAttrDict(static_cast<unsigned>(i)),
                                                static_cast<unsigned>(i)),
                                         v.getType()));
        continue;
      }
      if (isa<ds::NoneOp>(op)) {
        slotOf[op.getResult(0)] = -1;
        continue;
      }
      if (auto constant = dyn_cast<ds::ConstantOp>(op)) {
        rt::Tensor value;
        try {
          value = tensorFromElementsAttr(constant.getValue());
        } catch (const std::exception &e) {
          throw ExecutionError(describeOp(&op) + ": " + e.what());
        }
        int slot = program_.addConstant(std::move(value));
        slotOf[constant.getResult()] = slot;
        slotNames_.resize(static_cast<size_t>(slot) + 1);
        if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
          slotNames_[static_cast<size_t>(slot)] = resource.getRawHandle().getKey().str();
        else if (auto nameLoc = dyn_cast<NameLoc>(op.getLoc()))
          slotNames_[static_cast<size_t>(slot)] = nameLoc.getName().str();
        continue;
      }
      StringRef name = op.getName().getStringRef();
      if (!name.consume_front("ds."))
        throw ExecutionError(describeOp(&op) + ": only ds ops can be executed");
      rt::ProgramStep step;
      step.kernelName = name.str();
      step.where = describeOp(&op);
      if (!rt::findKernel(step.kernelName))
        throw ExecutionError(step.where + ": the reference executor has no kernel for this op");
      step.attrs = kernelAttrs(&op);
      for (Value operand : op.getOperands())
        step.inputSlots.push_back(slotOf.at(operand));
      for (OpResult result : op.getResults()) {
        int slot = program_.newSlot();
        slotOf[result] = slot;
        step.outputSlots.push_back(slot);
        step.resultSpecs.push_back(specForType(
            "result #" + std::to_string(result.getResultNumber()), result.getType()));
      }
      program_.addStep(std::move(step));
      stepOps_.push_back(&op);
    }
    program_.finalize();
    program_.setWeightStreaming(program_.constantBytes() >= kStreamWeightsMinBytes);
    slotNames_.resize(program_.numSlots());
  } catch (const rt::ProgramError &e) {
    throw ExecutionError(e.what());
  }
}

ReferenceExecutor::~ReferenceExecutor() = default;

std::vector<rt::Tensor> ReferenceExecutor::run(const std::vector<rt::Tensor> &inputs,
                                               const OpObserver &observer) const {
  rt::StepObserver stepObserver;
  if (observer)
    stepObserver = [&](size_t step, const std::vector<rt::Tensor> &results) {
      observer(stepOps_[step], results);
    };
  try {
    return program_.run(inputs, pool_, stepObserver);
  } catch (const rt::ProgramError &e) {
    throw ExecutionError(e.what());
  }
}

} // namespace ds::exec
