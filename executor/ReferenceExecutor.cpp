//===- ReferenceExecutor.cpp ----------------------------------------------===//
#include "executor/ReferenceExecutor.h"

#include "dialects/ds/DsDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace ds::exec {

struct ReferenceExecutor::Step {
  Operation *op;
  std::string kernelName;
  rt::KernelFn kernel;
  rt::AttrMap attrs;
  std::vector<int> inputSlots;  // -1: absent optional input
  std::vector<int> outputSlots; // one per result
  std::vector<TensorSpec> resultSpecs;
  std::vector<int> releaseAfter; // slots whose last reader is this step
};

namespace {

std::string describe(Operation *op) {
  std::string where;
  if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
    where = "node '" + nameLoc.getName().str() + "' ";
  return where + "(" + op->getName().getStringRef().str() + ")";
}

TensorSpec specFor(const std::string &name, Type type) {
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

/// Checks `value` against `spec`; returns an empty string when it fits.
std::string mismatch(const TensorSpec &spec, const rt::Tensor &value) {
  if (spec.dtype != rt::DType::Undefined && value.dtype() != spec.dtype)
    return std::string("element type is ") + rt::dtypeName(value.dtype()) + ", expected " +
           rt::dtypeName(spec.dtype);
  if (!spec.ranked)
    return {};
  bool ok = value.rank() == static_cast<int64_t>(spec.dims.size());
  for (size_t i = 0; ok && i < spec.dims.size(); ++i)
    ok = spec.dims[i] < 0 || spec.dims[i] == value.shape()[i];
  return ok ? std::string() : "shape is " + rt::shapeToString(value.shape()) + ", expected " +
                                  spec.toString();
}

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
        throw ExecutionError(describe(op) + ": attribute '" + name.str() +
                             "' is a list of non-strings, which kernels cannot read");
      strings.push_back(s.str());
    }
    return strings;
  }
  throw ExecutionError(describe(op) + ": attribute '" + name.str() + "' has an unsupported kind");
}

} // namespace

std::string TensorSpec::toString() const {
  if (!ranked)
    return "[*]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

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
  } else {
    std::memcpy(out, raw.data(), t.byteSize());
  }
  return t;
}

ReferenceExecutor::ReferenceExecutor(ModuleOp module, rt::ThreadPool &pool) : pool_(pool) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || func.getBody().empty())
    throw ExecutionError("module has no func.func @main to run");
  Block &body = func.getBody().front();

  llvm::DenseMap<Value, int> slotOf;
  auto newSlot = [&](Value v) {
    int slot = static_cast<int>(numSlots_++);
    slotOf[v] = slot;
    return slot;
  };
  auto nameOf = [](DictionaryAttr attrs, unsigned i) {
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("ds.name"))
        return n.str();
    return "arg" + std::to_string(i);
  };
  for (BlockArgument arg : body.getArguments()) {
    inputSlots_.push_back(newSlot(arg));
    inputs_.push_back(specFor(nameOf(func.getArgAttrDict(arg.getArgNumber()), arg.getArgNumber()),
                              arg.getType()));
  }

  std::vector<int> lastReader; // slot -> step index
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        outputSlots_.push_back(slotOf.at(v));
        outputs_.push_back(specFor(nameOf(func.getResultAttrDict(static_cast<unsigned>(i)),
                                          static_cast<unsigned>(i)),
                                   v.getType()));
      }
      continue;
    }
    if (isa<ds::NoneOp>(op)) {
      slotOf[op.getResult(0)] = -1;
      continue;
    }
    if (auto constant = dyn_cast<ds::ConstantOp>(op)) {
      int slot = newSlot(constant.getResult());
      constants_.resize(numSlots_);
      try {
        constants_[static_cast<size_t>(slot)] = tensorFromElementsAttr(constant.getValue());
      } catch (const std::exception &e) {
        throw ExecutionError(describe(&op) + ": " + e.what());
      }
      continue;
    }
    Step step;
    step.op = &op;
    StringRef name = op.getName().getStringRef();
    if (!name.consume_front("ds."))
      throw ExecutionError(describe(&op) + ": only ds ops can be executed");
    step.kernelName = name.str();
    step.kernel = rt::findKernel(step.kernelName);
    if (!step.kernel)
      throw ExecutionError(describe(&op) + ": the reference executor has no kernel for this op");
    for (NamedAttribute attr : op.getDiscardableAttrs())
      step.attrs.set(attr.getName().str(), convertAttr(attr.getValue(), &op, attr.getName()));
    for (Value operand : op.getOperands())
      step.inputSlots.push_back(slotOf.at(operand));
    for (OpResult result : op.getResults()) {
      step.outputSlots.push_back(newSlot(result));
      step.resultSpecs.push_back(specFor("result #" + std::to_string(result.getResultNumber()),
                                         result.getType()));
    }
    steps_.push_back(std::move(step));
  }
  constants_.resize(numSlots_);

  // Liveness: release each computed slot after its last reader.
  lastReader.assign(numSlots_, -1);
  for (size_t s = 0; s < steps_.size(); ++s)
    for (int slot : steps_[s].inputSlots)
      if (slot >= 0)
        lastReader[static_cast<size_t>(slot)] = static_cast<int>(s);
  std::vector<bool> keep(numSlots_, false);
  for (int slot : outputSlots_)
    keep[static_cast<size_t>(slot)] = true;
  for (size_t slot = 0; slot < numSlots_; ++slot)
    if (!keep[slot] && lastReader[slot] >= 0 && constants_[slot].isAbsent())
      steps_[static_cast<size_t>(lastReader[slot])].releaseAfter.push_back(static_cast<int>(slot));
}

ReferenceExecutor::~ReferenceExecutor() = default;

std::vector<rt::Tensor> ReferenceExecutor::run(const std::vector<rt::Tensor> &inputs,
                                               const OpObserver &observer) const {
  if (inputs.size() != inputs_.size())
    throw ExecutionError("the model takes " + std::to_string(inputs_.size()) + " inputs, got " +
                         std::to_string(inputs.size()));
  std::vector<rt::Tensor> slots = constants_;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string why = mismatch(inputs_[i], inputs[i]);
    if (!why.empty())
      throw ExecutionError("input '" + inputs_[i].name + "': " + why);
    slots[static_cast<size_t>(inputSlots_[i])] = inputs[i];
  }
  static const rt::Tensor kAbsent;
  std::vector<rt::Tensor> operands, results;
  for (const Step &step : steps_) {
    operands.clear();
    for (int slot : step.inputSlots)
      operands.push_back(slot < 0 ? kAbsent : slots[static_cast<size_t>(slot)]);
    results.clear();
    rt::KernelContext ctx{step.attrs, pool_, step.outputSlots.size()};
    try {
      step.kernel(ctx, operands, results);
    } catch (const std::exception &e) {
      throw ExecutionError(describe(step.op) + ": " + e.what());
    }
    if (results.size() != step.outputSlots.size())
      throw ExecutionError(describe(step.op) + ": kernel produced " +
                           std::to_string(results.size()) + " results, the op has " +
                           std::to_string(step.outputSlots.size()));
    for (size_t r = 0; r < results.size(); ++r) {
      std::string why = mismatch(step.resultSpecs[r], results[r]);
      if (!why.empty())
        throw ExecutionError(describe(step.op) + ": result #" + std::to_string(r) + " " + why +
                             " (the IR's type); the model's declared shapes do not hold for "
                             "these inputs");
      slots[static_cast<size_t>(step.outputSlots[r])] = results[r];
    }
    if (observer)
      observer(step.op, results);
    for (int slot : step.releaseAfter)
      slots[static_cast<size_t>(slot)] = rt::Tensor();
  }
  std::vector<rt::Tensor> outputs;
  for (int slot : outputSlots_)
    outputs.push_back(slots[static_cast<size_t>(slot)]);
  return outputs;
}

} // namespace ds::exec
