//===- GraphImporter.cpp - LoadedModel -> func.func of ds ops -------------===//
//
// A mechanical translation: every ONNX node becomes the ds op of the same name
// (snake_case) with its operands in ONNX order and its attributes verbatim.
// Result types come from ONNX's shape inference when it ran; otherwise from the
// model's own value_info, or an unranked tensor whose element type follows the
// op's type rule (elementTypeRule below).
//
//===----------------------------------------------------------------------===//
#include "importer/ContribOps.h"
#include "importer/ModelLoader.h"
#include "importer/WidenHalf.h"

#include "dialects/ds/DsDialect.h"
#include "dialects/ds/ShapeInference.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"

#include <map>

using namespace mlir;

namespace ds::importer {

std::string dsOpNameForOnnxType(const std::string &onnxType) {
  static const std::map<std::string, std::string> kSpelledOut = {
      {"MatMul", "matmul"}, {"MatMulInteger", "matmul_integer"}, {"IsNaN", "is_nan"},
      {"PRelu", "prelu"},
  };
  if (auto it = kSpelledOut.find(onnxType); it != kSpelledOut.end())
    return it->second;
  std::string out;
  for (size_t i = 0; i < onnxType.size(); ++i) {
    char c = onnxType[i];
    bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0) {
      char prev = onnxType[i - 1];
      bool prevLowerOrDigit = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
      bool prevUpper = prev >= 'A' && prev <= 'Z';
      bool nextLower = i + 1 < onnxType.size() && onnxType[i + 1] >= 'a' && onnxType[i + 1] <= 'z';
      if (prevLowerOrDigit || (prevUpper && nextLower))
        out += '_';
    }
    out += upper ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

void registerImportDialects(MLIRContext &context) {
  context.loadDialect<ds::DsDialect, func::FuncDialect>();
}

namespace {

Type elementTypeFor(MLIRContext *ctx, int32_t dataType) {
  using T = onnx::TensorProto;
  Builder b(ctx);
  switch (dataType) {
  case T::FLOAT: return b.getF32Type();
  case T::DOUBLE: return b.getF64Type();
  case T::FLOAT16: return b.getF16Type();
  case T::BFLOAT16: return b.getBF16Type();
  case T::INT8: return b.getIntegerType(8);
  case T::INT16: return b.getIntegerType(16);
  case T::INT32: return b.getIntegerType(32);
  case T::INT64: return b.getIntegerType(64);
  case T::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case T::UINT16: return b.getIntegerType(16, false);
  case T::UINT32: return b.getIntegerType(32, false);
  case T::UINT64: return b.getIntegerType(64, false);
  case T::BOOL: return b.getI1Type();
  default: return {};
  }
}

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, std::shared_ptr<LoadedModel> model)
      : ctx_(ctx), model_(std::move(model)), builder_(&ctx) {}

  /// Fails on the first node whose operator has no ds op.
  void rejectUnsupportedOps() const;
  OwningOpRef<ModuleOp> run();

private:
  [[noreturn]] void failAt(const onnx::NodeProto &node, int index, const std::string &msg) const {
    model_->fail("node '" + nodeName(node, index) + "' (" + node.op_type() + ", opset " +
                 std::to_string(model_->opset()) + "): " + msg);
  }
  static std::string nodeName(const onnx::NodeProto &node, int index) {
    return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
  }

  Type typeFromProto(const onnx::TypeProto &type) const;
  Attribute tensorAttr(const onnx::TensorProto &tensor, bool forceDense);
  Value constant(const onnx::TensorProto &tensor, Location loc);
  NamedAttribute convertAttribute(const onnx::AttributeProto &attr, const onnx::NodeProto &node,
                                  int index);
  Type elementTypeRule(const std::string &dsName, ArrayRef<Value> operands,
                       ArrayRef<NamedAttribute> attrs, unsigned resultIndex) const;
  void importNode(const onnx::NodeProto &node, int index);
  class ContribAdapter;
  void importContribNode(const onnx::NodeProto &node, int index, Location loc);

  MLIRContext &ctx_;
  std::shared_ptr<LoadedModel> model_;
  OpBuilder builder_;
  std::map<std::string, Value> values_;
  std::map<std::string, Type> knownTypes_;
  Value none_;
};

Type GraphImporter::typeFromProto(const onnx::TypeProto &type) const {
  if (!type.has_tensor_type())
    return {};
  const auto &tt = type.tensor_type();
  Type elem = elementTypeFor(&ctx_, tt.elem_type());
  if (!elem)
    return {};
  if (!tt.has_shape())
    return UnrankedTensorType::get(elem);
  SmallVector<int64_t> dims;
  for (const auto &d : tt.shape().dim())
    dims.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : ShapedType::kDynamic);
  return RankedTensorType::get(dims, elem);
}

/// Large tensors become dense_resource blobs over the model's own bytes (no
/// copy); small ones (shape operands, scalars) dense literals, which keeps the
/// IR readable and lets folders see them.
Attribute GraphImporter::tensorAttr(const onnx::TensorProto &tensor, bool forceDense) {
  constexpr int64_t kMaxInlineElements = 64;
  Type elem = elementTypeFor(&ctx_, tensor.data_type());
  if (!elem)
    model_->fail("tensor '" + tensor.name() + "': element type " +
                 std::to_string(tensor.data_type()) + " is not supported");
  SmallVector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  auto type = RankedTensorType::get(dims, elem);
  TensorBytes bytes = model_->tensorBytes(tensor, model_);
  int64_t numel = type.getNumElements();
  if (elem.isInteger(1)) {
    SmallVector<bool> values(bytes.data.begin(), bytes.data.end());
    return DenseElementsAttr::get(type, ArrayRef<bool>(values));
  }
  if (forceDense || numel <= kMaxInlineElements)
    return DenseElementsAttr::getFromRawBuffer(type, bytes.data);
  size_t align = onnxElementSize(tensor.data_type());
  bool aligned = reinterpret_cast<uintptr_t>(bytes.data.data()) % align == 0;
  AsmResourceBlob blob =
      aligned ? UnmanagedAsmResourceBlob::allocateWithAlign(
                    bytes.data, align, [owner = bytes.owner](void *, size_t, size_t) {})
              : HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes.data, align);
  std::string blobName = tensor.name().empty() ? "tensor" : tensor.name();
  return DenseResourceElementsAttr::get(type, blobName, std::move(blob));
}

Value GraphImporter::constant(const onnx::TensorProto &tensor, Location loc) {
  auto attr = llvm::cast<ElementsAttr>(tensorAttr(tensor, /*forceDense=*/false));
  return ds::ConstantOp::create(builder_, loc, attr.getType(), attr).getResult();
}

NamedAttribute GraphImporter::convertAttribute(const onnx::AttributeProto &attr,
                                               const onnx::NodeProto &node, int index) {
  using A = onnx::AttributeProto;
  auto name = builder_.getStringAttr(attr.name());
  switch (attr.type()) {
  case A::INT:
    return {name, builder_.getI64IntegerAttr(attr.i())};
  case A::FLOAT:
    return {name, builder_.getF32FloatAttr(attr.f())};
  case A::STRING:
    return {name, builder_.getStringAttr(attr.s())};
  case A::INTS:
    return {name, builder_.getDenseI64ArrayAttr(SmallVector<int64_t>(attr.ints().begin(),
                                                                     attr.ints().end()))};
  case A::FLOATS:
    return {name, builder_.getDenseF32ArrayAttr(SmallVector<float>(attr.floats().begin(),
                                                                   attr.floats().end()))};
  case A::STRINGS: {
    SmallVector<Attribute> strings;
    for (const auto &s : attr.strings())
      strings.push_back(builder_.getStringAttr(s));
    return {name, builder_.getArrayAttr(strings)};
  }
  case A::TENSOR:
    return {name, tensorAttr(attr.t(), /*forceDense=*/true)};
  default:
    failAt(node, index, "attribute '" + attr.name() +
                            "' is a graph/sparse/type attribute, which is not supported");
  }
}

Type GraphImporter::elementTypeRule(const std::string &op, ArrayRef<Value> operands,
                                    ArrayRef<NamedAttribute> attrs, unsigned result) const {
  Builder b(&ctx_);
  auto operandElem = [&](unsigned i) -> Type {
    if (i >= operands.size() || isa<NoneType>(operands[i].getType()))
      return {};
    return cast<ShapedType>(operands[i].getType()).getElementType();
  };
  auto intAttr = [&](StringRef name) -> std::optional<int64_t> {
    for (auto &a : attrs)
      if (a.getName() == name)
        if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
          return i.getInt();
    return std::nullopt;
  };
  static const std::set<std::string> kBoolResults = {
      "equal", "less", "less_or_equal", "greater", "greater_or_equal", "and", "or", "xor",
      "not", "is_nan", "is_inf"};
  static const std::set<std::string> kIndexResults = {"shape", "size", "arg_max", "arg_min",
                                                      "non_zero"};
  if (kBoolResults.count(op) || (op == "dropout" && result == 1))
    return b.getI1Type();
  if (kIndexResults.count(op) || ((op == "top_k" || op == "max_pool") && result == 1))
    return b.getI64Type();
  if (op == "matmul_integer" || op == "conv_integer")
    return b.getI32Type();
  if (op == "gather_block_quantized")
    return b.getF32Type();
  if (op == "cast")
    return intAttr("to") ? elementTypeFor(&ctx_, static_cast<int32_t>(*intAttr("to"))) : Type();
  if (op == "cast_like")
    return operandElem(1);
  if (op == "quantize_linear") {
    if (Type zp = operandElem(2))
      return zp;
    if (auto dt = intAttr("output_dtype"); dt && *dt != 0)
      return elementTypeFor(&ctx_, static_cast<int32_t>(*dt));
    return b.getIntegerType(8, false);
  }
  if (op == "dequantize_linear")
    return operandElem(1);
  if (op == "dynamic_quantize_linear")
    return result == 1 ? Type(b.getF32Type()) : Type(b.getIntegerType(8, false));
  if (op == "constant_of_shape") {
    for (auto &a : attrs)
      if (a.getName() == "value")
        return cast<ElementsAttr>(a.getValue()).getElementType();
    return b.getF32Type();
  }
  if (op == "eye_like" && intAttr("dtype"))
    return elementTypeFor(&ctx_, static_cast<int32_t>(*intAttr("dtype")));
  if (op == "where")
    return operandElem(1);
  if (op == "one_hot")
    return operandElem(2);
  return operandElem(0);
}

/// The importer's side of ContribBuilder for one com.microsoft node.
class GraphImporter::ContribAdapter : public ContribBuilder {
public:
  ContribAdapter(GraphImporter &g, const onnx::NodeProto &node, int index, Location loc)
      : g_(g), node_(node), index_(index), loc_(loc) {}
  Value operand(int i) override {
    if (i >= node_.input_size() || node_.input(i).empty())
      return {};
    return g_.values_.at(node_.input(i));
  }
  void setResult(int i, Value v) override {
    if (resultUsed(i))
      g_.values_[node_.output(i)] = v;
  }
  bool resultUsed(int i) override { return i < node_.output_size() && !node_.output(i).empty(); }
  Operation *emit(const std::string &dsOp, ArrayRef<Value> operands, ArrayRef<NamedAttribute> attrs,
                  unsigned results) override {
    OperationState state(loc_, dsOp);
    state.addOperands(operands);
    for (unsigned i = 0; i < results; ++i) {
      Type elem = g_.elementTypeRule(dsOp.substr(3), operands, attrs, i);
      if (!elem)
        fail("cannot determine the element type of an intermediate " + dsOp);
      state.addTypes(UnrankedTensorType::get(elem));
    }
    state.addAttributes(attrs);
    return g_.builder_.create(state);
  }
  Value constantI64(ArrayRef<int64_t> values, bool scalar) override {
    SmallVector<int64_t> shape;
    if (!scalar)
      shape.push_back(static_cast<int64_t>(values.size()));
    auto type = RankedTensorType::get(shape, g_.builder_.getI64Type());
    auto attr = DenseElementsAttr::get(type, values);
    return ds::ConstantOp::create(g_.builder_, loc_, type, attr).getResult();
  }
  Value none() override {
    if (!g_.none_)
      g_.none_ = ds::NoneOp::create(g_.builder_, g_.builder_.getUnknownLoc(), g_.builder_.getNoneType())
                     .getResult();
    return g_.none_;
  }
  Value constantF32(ArrayRef<float> values, ArrayRef<int64_t> shape) override {
    auto type = RankedTensorType::get(shape, g_.builder_.getF32Type());
    ElementsAttr attr;
    if (values.size() <= 64)
      attr = DenseElementsAttr::get(type, values);
    else
      attr = DenseResourceElementsAttr::get(type, nodeName(node_, index_) + ".weights",
                                            HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
    return ds::ConstantOp::create(g_.builder_, loc_, type, attr).getResult();
  }
  void refineInputDim(Value v, int64_t dim, int64_t size) override {
    auto arg = dyn_cast<BlockArgument>(v);
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!arg || !type || dim >= type.getRank() || !type.isDynamicDim(dim))
      return;
    SmallVector<int64_t> shape(type.getShape());
    shape[static_cast<size_t>(dim)] = size;
    arg.setType(RankedTensorType::get(shape, type.getElementType()));
  }
  [[noreturn]] void fail(const std::string &message) override { g_.failAt(node_, index_, message); }
  OpBuilder &builder() override { return g_.builder_; }

private:
  GraphImporter &g_;
  const onnx::NodeProto &node_;
  int index_;
  Location loc_;
};

void GraphImporter::importContribNode(const onnx::NodeProto &node, int index, Location loc) {
  ContribAdapter adapter(*this, node, index, loc);
  lowerContribOp(node, adapter);
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !values_.count(node.output(i)))
      failAt(node, index, "output " + std::to_string(i) + " ('" + node.output(i) +
                              "') is not supported by the lowering");
}

void GraphImporter::rejectUnsupportedOps() const {
  const onnx::GraphProto &graph = model_->graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    if (isContribNode(node)) {
      if (!isSupportedContribOp(node.op_type()))
        failAt(node, i, "com.microsoft operator is not supported; supported: "
                        "GroupQueryAttention, RotaryEmbedding, SimplifiedLayerNormalization, "
                        "SkipSimplifiedLayerNormalization, SkipLayerNormalization, MatMulNBits, "
                        "GatherBlockQuantized, "
                        "FastGelu, BiasGelu, QuickGelu");
      continue;
    }
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      failAt(node, i, "operator domain '" + node.domain() +
                          "' is not supported; supported: the default ONNX domain "
                          "(see docs/supported-ops.md)");
    if (node.op_type() == "Constant")
      continue;
    auto opName = RegisteredOperationName::lookup("ds." + dsOpNameForOnnxType(node.op_type()), &ctx_);
    if (!opName || opName->hasTrait<ds::OpTrait::CompilerOnly>())
      failAt(node, i, "operator is not supported (see docs/supported-ops.md for the list)");
  }
}

void GraphImporter::importNode(const onnx::NodeProto &node, int index) {
  Location loc = NameLoc::get(builder_.getStringAttr(nodeName(node, index)),
                              FileLineColLoc::get(&ctx_, model_->path(), index + 1, 0));
  if (node.op_type() == "Constant") {
    if (node.output_size() != 1 || node.attribute_size() != 1)
      failAt(node, index, "Constant needs exactly one output and one value attribute");
    const auto &attr = node.attribute(0);
    onnx::TensorProto tensor;
    if (attr.name() == "value") {
      tensor = attr.t();
    } else if (attr.name() == "value_float" || attr.name() == "value_floats") {
      tensor.set_data_type(onnx::TensorProto::FLOAT);
      if (attr.name() == "value_float")
        tensor.add_float_data(attr.f());
      else {
        tensor.add_dims(attr.floats_size());
        for (float f : attr.floats())
          tensor.add_float_data(f);
      }
    } else if (attr.name() == "value_int" || attr.name() == "value_ints") {
      tensor.set_data_type(onnx::TensorProto::INT64);
      if (attr.name() == "value_int")
        tensor.add_int64_data(attr.i());
      else {
        tensor.add_dims(attr.ints_size());
        for (int64_t v : attr.ints())
          tensor.add_int64_data(v);
      }
    } else {
      failAt(node, index, "Constant attribute '" + attr.name() + "' is not supported");
    }
    tensor.set_name(node.output(0));
    // The converted tensor lives on the stack: copy its bytes into the IR.
    auto value = cast<ElementsAttr>(tensorAttr(tensor, /*forceDense=*/attr.name() != "value"));
    if (isa<DenseResourceElementsAttr>(value)) {
      // attr.t() lives in the model proto, so the blob may reference it directly.
      value = cast<ElementsAttr>(tensorAttr(attr.t(), false));
    }
    values_[node.output(0)] =
        ds::ConstantOp::create(builder_, loc, value.getType(), value).getResult();
    return;
  }

  if (isContribNode(node))
    return importContribNode(node, index, loc);
  std::string dsName = dsOpNameForOnnxType(node.op_type());
  auto opName = RegisteredOperationName::lookup("ds." + dsName, &ctx_);

  SmallVector<Value> operands;
  for (const auto &in : node.input()) {
    if (in.empty()) {
      if (!none_)
        none_ = ds::NoneOp::create(builder_, builder_.getUnknownLoc(), builder_.getNoneType()).getResult();
      operands.push_back(none_);
    } else {
      operands.push_back(values_.at(in));
    }
  }
  SmallVector<NamedAttribute> attrs;
  for (const auto &attr : node.attribute())
    attrs.push_back(convertAttribute(attr, node, index));
  // Softmax-family semantics changed in opset 13 (coerce to 2-D before).
  if ((dsName == "softmax" || dsName == "log_softmax" || dsName == "hardmax") &&
      model_->opset() < 13)
    attrs.push_back(builder_.getNamedAttr("legacy_flatten", builder_.getI64IntegerAttr(1)));

  SmallVector<Type> resultTypes;
  for (int i = 0; i < node.output_size(); ++i) {
    Type type;
    if (auto it = knownTypes_.find(node.output(i)); it != knownTypes_.end())
      type = it->second;
    if (!type) {
      Type elem = elementTypeRule(dsName, operands, attrs, static_cast<unsigned>(i));
      if (!elem)
        failAt(node, index, "cannot determine the element type of output '" + node.output(i) + "'");
      type = UnrankedTensorType::get(elem);
    }
    resultTypes.push_back(type);
  }
  OperationState state(loc, *opName);
  state.addOperands(operands);
  state.addTypes(resultTypes);
  state.addAttributes(attrs);
  Operation *op = builder_.create(state);
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      values_[node.output(i)] = op->getResult(static_cast<unsigned>(i));
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  const onnx::GraphProto &graph = model_->graph();
  Location fileLoc = FileLineColLoc::get(&ctx_, model_->path(), 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  (*module)->setAttr("ds.opset", builder_.getI64IntegerAttr(model_->opset()));
  if (model_->upgradedFromOpset())
    (*module)->setAttr("ds.upgraded_from_opset",
                       builder_.getI64IntegerAttr(model_->upgradedFromOpset()));
  (*module)->setAttr("ds.source", builder_.getStringAttr(model_->path()));

  for (const auto &vi : graph.value_info())
    knownTypes_[vi.name()] = typeFromProto(vi.type());
  for (const auto &vi : graph.output())
    if (Type t = typeFromProto(vi.type()))
      knownTypes_[vi.name()] = t;

  std::set<std::string> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<ArrayAttr> argDimNames; // dim_param names, for ds.dim_names
  for (const auto &input : graph.input()) {
    if (initializerNames.count(input.name()))
      continue;
    Type t = typeFromProto(input.type());
    if (!t || !isa<TensorType>(t))
      model_->fail("graph input '" + input.name() +
                   "' is not a tensor of a supported element type");
    argTypes.push_back(t);
    argNames.push_back(input.name());
    SmallVector<Attribute> dimNames;
    bool named = false;
    if (input.type().tensor_type().has_shape())
      for (const auto &d : input.type().tensor_type().shape().dim()) {
        named |= !d.dim_param().empty() && !d.has_dim_value();
        dimNames.push_back(builder_.getStringAttr(d.has_dim_value() ? "" : d.dim_param()));
      }
    argDimNames.push_back(named ? builder_.getArrayAttr(dimNames) : ArrayAttr());
  }
  SmallVector<Type> resultTypes(graph.output_size());

  builder_.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder_, fileLoc, "main",
                                            builder_.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (unsigned i = 0; i < argNames.size(); ++i) {
    func.setArgAttr(i, "ds.name", builder_.getStringAttr(argNames[i]));
    if (argDimNames[i])
      func.setArgAttr(i, ds::kDimNamesAttr, argDimNames[i]);
    values_[argNames[i]] = body->getArgument(i);
  }
  builder_.setInsertionPointToEnd(body);
  for (const auto &init : graph.initializer())
    values_[init.name()] = constant(init, NameLoc::get(builder_.getStringAttr(init.name()), fileLoc));
  for (int i = 0; i < graph.node_size(); ++i)
    importNode(graph.node(i), i);

  SmallVector<Value> results;
  for (const auto &out : graph.output())
    results.push_back(values_.at(out.name()));
  func::ReturnOp::create(builder_, fileLoc, results);
  SmallVector<Type> returnTypes;
  for (Value v : results)
    returnTypes.push_back(v.getType());
  // Argument types as the block has them (a contrib lowering may have fixed a dim).
  func.setFunctionType(builder_.getFunctionType(body->getArgumentTypes(), returnTypes));
  for (int i = 0; i < graph.output_size(); ++i)
    func.setResultAttr(static_cast<unsigned>(i), "ds.name",
                       builder_.getStringAttr(graph.output(i).name()));
  // Half-precision models compute in float32 behind their own interface.
  if (widenHalfPrecision(func))
    (*module)->setAttr("ds.widened_half", builder_.getUnitAttr());
  // Ranks and dims from the dialect's own rules, whatever ONNX's library knew.
  ds::inferShapes(func);

  std::string diagnostic;
  {
    ScopedDiagnosticHandler handler(&ctx_, [&](Diagnostic &diag) {
      if (diagnostic.empty()) {
        std::string where;
        if (auto nameLoc = dyn_cast<NameLoc>(diag.getLocation()))
          where = "node '" + nameLoc.getName().str() + "': ";
        diagnostic = where + diag.str();
      }
      return success();
    });
    if (failed(verify(*module)))
      model_->fail("invalid graph: " + diagnostic);
  }
  return module;
}

} // namespace

/// Checks the --max-shape bounds against @main's input types and records them
/// as `ds.max_shape` argument attributes (the largest size of every dim).
static void annotateMaxShapes(ModuleOp module, const LoadedModel &model,
                       const std::map<std::string, std::vector<int64_t>> &maxShapes) {
  if (maxShapes.empty())
    return;
  auto func = module.lookupSymbol<func::FuncOp>("main");
  std::string names;
  std::map<std::string, unsigned> argOf;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "ds.name")) {
      argOf[n.str()] = i;
      names += (names.empty() ? "" : ", ") + n.str();
    }
  for (const auto &[name, dims] : maxShapes) {
    auto it = argOf.find(name);
    if (it == argOf.end())
      model.fail("--max-shape names '" + name + "', which is not a graph input; inputs: " + names);
    auto type = dyn_cast<RankedTensorType>(func.getArgumentTypes()[it->second]);
    if (!type || type.getRank() != static_cast<int64_t>(dims.size()))
      model.fail("--max-shape gives input '" + name + "' " + std::to_string(dims.size()) +
                 " dims, the model declares " +
                 (type ? std::to_string(type.getRank()) : std::string("an unranked tensor")));
    std::vector<int64_t> bounds;
    for (size_t i = 0; i < dims.size(); ++i) {
      const int64_t fixed = type.getDimSize(static_cast<unsigned>(i));
      if (dims[i] <= 0)
        model.fail("--max-shape: dim " + std::to_string(i) + " of '" + name + "' must be positive");
      if (!ShapedType::isDynamic(fixed) && fixed != dims[i])
        model.fail("--max-shape: dim " + std::to_string(i) + " of '" + name + "' is fixed at " +
                   std::to_string(fixed) + " in the model; repeat it (or leave the input out)");
      bounds.push_back(dims[i]);
    }
    func.setArgAttr(it->second, "ds.max_shape", DenseI64ArrayAttr::get(module.getContext(), bounds));
  }
}

OwningOpRef<ModuleOp> importOnnxModel(MLIRContext &context, const std::string &path,
                                      const ImportOptions &options) {
  registerImportDialects(context);
  std::shared_ptr<LoadedModel> model = LoadedModel::load(path, options);
  GraphImporter importer(context, model);
  importer.rejectUnsupportedOps();
  model->specializeInputs(options.inputShapes);
  model->runLibraryChecks(options);
  OwningOpRef<ModuleOp> module = importer.run();
  annotateMaxShapes(*module, *model, options.maxInputShapes);
  return module;
}

} // namespace ds::importer
