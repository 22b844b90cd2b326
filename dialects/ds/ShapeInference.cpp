//===- ShapeInference.cpp - the driver of ds-infer-shapes ------------------===//
//
// Walks @main in order, asks each op's rule (ShapeRules*.cpp) what its results
// are, and merges that into the IR: an unranked result takes the inferred
// rank and dims; a ranked one keeps every static dim it has and takes the
// inferred static dims where it had `?`. A rule that contradicts a known type
// (another rank, another static dim) loses: the IR type stays, and its info
// continues from the type.
//
//===----------------------------------------------------------------------===//
#include "dialects/ds/ShapeInference.h"

#include "dialects/ds/DsDialect.h"
#include "dialects/ds/ShapeRules.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace ds::shapes {

//===----------------------------------------------------------------------===//
// ShapeContext
//===----------------------------------------------------------------------===//

Dim ShapeContext::named(StringRef name) {
  auto [it, inserted] = namedSymbols_.try_emplace(name, nextSymbol_);
  if (inserted)
    ++nextSymbol_;
  return Dim::symbol(it->second);
}

const ValueInfo &ShapeContext::info(Value v) {
  auto it = infos_.find(v);
  if (it != infos_.end())
    return *it->second;
  auto info = std::make_unique<ValueInfo>(fromType(v));
  const ValueInfo &ref = *info;
  infos_[v] = std::move(info);
  return ref;
}

/// Up to this many elements of an integer constant are tracked as values.
constexpr int64_t kMaxTrackedElements = 64;

/// The integer elements of a constant attribute, when it holds at most
/// kMaxTrackedElements of them.
static std::optional<SmallVector<int64_t, 4>> integerElements(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  if (!type.getElementType().isIntOrIndex() || type.getNumElements() > kMaxTrackedElements)
    return std::nullopt;
  SmallVector<int64_t, 4> out;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    bool isBool = type.getElementType().isInteger(1);
    bool isUnsigned = type.getElementType().isUnsignedInteger();
    for (const APInt &v : dense.getValues<APInt>())
      out.push_back(isBool || isUnsigned ? static_cast<int64_t>(v.getZExtValue()) : v.getSExtValue());
    return out;
  }
  if (auto blob = dyn_cast<DenseI64ResourceElementsAttr>(attr))
    if (auto values = blob.tryGetAsArrayRef())
      return SmallVector<int64_t, 4>(values->begin(), values->end());
  if (auto blob = dyn_cast<DenseI32ResourceElementsAttr>(attr))
    if (auto values = blob.tryGetAsArrayRef())
      return SmallVector<int64_t, 4>(values->begin(), values->end());
  return std::nullopt;
}

ValueInfo ShapeContext::fromType(Value v) {
  ValueInfo info;
  auto ranked = dyn_cast<RankedTensorType>(v.getType());
  if (!ranked)
    return info;
  info.ranked = true;
  ArrayAttr names;
  if (auto arg = dyn_cast<BlockArgument>(v))
    if (auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
      names = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), kDimNamesAttr);
  for (int64_t i = 0; i < ranked.getRank(); ++i) {
    int64_t d = ranked.getDimSize(i);
    if (!ShapedType::isDynamic(d)) {
      info.dims.push_back(Dim::constant(d));
      continue;
    }
    auto name = names && i < static_cast<int64_t>(names.size())
                    ? dyn_cast<StringAttr>(names[static_cast<size_t>(i)])
                    : StringAttr();
    info.dims.push_back(name && !name.getValue().empty() ? named(name.getValue()) : fresh());
  }
  if (auto constant = v.getDefiningOp<ds::ConstantOp>())
    if (ranked.getRank() <= 1)
      if (auto values = integerElements(constant.getValue())) {
        info.elems.emplace();
        for (int64_t x : *values)
          info.elems->push_back(Dim::constant(x));
      }
  return info;
}

std::optional<SmallVector<int64_t, 4>> ShapeContext::constInts(Value v) {
  if (isa<NoneType>(v.getType()))
    return std::nullopt;
  const ValueInfo &i = info(v);
  if (!i.elems)
    return std::nullopt;
  SmallVector<int64_t, 4> out;
  for (const Dim &d : *i.elems) {
    if (!d.isConst())
      return std::nullopt;
    out.push_back(d.coeff);
  }
  return out;
}

std::optional<SmallVector<double, 4>> ShapeContext::constFloats(Value v) {
  auto constant = v.getDefiningOp<ds::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue());
  if (!dense || dense.getNumElements() > kMaxTrackedElements)
    return std::nullopt;
  SmallVector<double, 4> out;
  for (const APFloat &f : dense.getValues<APFloat>())
    out.push_back(f.convertToDouble());
  return out;
}

//===----------------------------------------------------------------------===//
// Helpers shared by the rules
//===----------------------------------------------------------------------===//

bool isAbsent(Operation *op, unsigned i) {
  return i >= op->getNumOperands() || isa<NoneType>(op->getOperand(i).getType());
}

int64_t intAttr(Operation *op, StringRef name, int64_t dflt) {
  auto a = op->getAttrOfType<IntegerAttr>(name);
  return a ? a.getInt() : dflt;
}

std::optional<SmallVector<int64_t, 4>> intsAttr(Operation *op, StringRef name) {
  auto a = op->getAttrOfType<DenseI64ArrayAttr>(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t, 4>(a.asArrayRef().begin(), a.asArrayRef().end());
}

std::string stringAttr(Operation *op, StringRef name, StringRef dflt) {
  auto a = op->getAttrOfType<StringAttr>(name);
  return (a ? a.getValue() : dflt).str();
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<int64_t> axisAttr(Operation *op, const ValueInfo &x, int64_t dflt) {
  if (!x.ranked)
    return std::nullopt;
  return normalizeAxis(intAttr(op, "axis", dflt), x.rank());
}

Dim broadcastDim(const Dim &a, const Dim &b, ShapeContext &ctx) {
  if (a == b || b.isConst(1))
    return a;
  if (a.isConst(1))
    return b;
  // A constant other than 1 is what the other side must be (1 or the same).
  if (a.isConst())
    return a;
  if (b.isConst())
    return b;
  return ctx.fresh();
}

std::optional<SmallVector<Dim, 4>> broadcastDims(ArrayRef<const ValueInfo *> ins,
                                                 ShapeContext &ctx) {
  int64_t rank = 0;
  for (const ValueInfo *in : ins) {
    if (!in->ranked)
      return std::nullopt;
    rank = std::max(rank, in->rank());
  }
  SmallVector<Dim, 4> out;
  for (int64_t i = 0; i < rank; ++i) {
    std::optional<Dim> d;
    for (const ValueInfo *in : ins) {
      int64_t j = i - (rank - in->rank());
      if (j < 0)
        continue;
      const Dim &x = in->dims[static_cast<size_t>(j)];
      d = d ? broadcastDim(*d, x, ctx) : x;
    }
    out.push_back(*d);
  }
  return out;
}

Dim addDims(const Dim &a, const Dim &b, ShapeContext &ctx) {
  if (a.isConst() && b.isConst())
    return Dim::constant(a.coeff + b.coeff);
  if (b.isConst(0) && !a.unknown)
    return a;
  if (a.isConst(0) && !b.unknown)
    return b;
  return ctx.fresh();
}

Dim asDim(const Dim &value, ShapeContext &ctx) {
  if (value.unknown || (value.isConst() && value.coeff < 0))
    return ctx.fresh();
  return value;
}

Results same(const ValueInfo &v, unsigned n) {
  Results r;
  for (unsigned i = 0; i < n; ++i) {
    ValueInfo copy = v;
    r.push_back(std::move(copy));
  }
  return r;
}

const Rule *findShapeRule(Operation *op) {
  static const llvm::StringMap<Rule> rules = [] {
    llvm::StringMap<Rule> r;
    addElementwiseShapeRules(r);
    addMovementShapeRules(r);
    addComputeShapeRules(r);
    return r;
  }();
  StringRef name = op->getName().getStringRef();
  if (!name.consume_front("ds."))
    return nullptr;
  auto it = rules.find(name);
  return it == rules.end() ? nullptr : &it->second;
}

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

/// Merges `inferred` into `result`'s type; returns the info to continue with
/// and whether the type changed.
static std::pair<ValueInfo, bool> merge(Value result, const ValueInfo &inferred, ShapeContext &ctx) {
  auto tensor = dyn_cast<TensorType>(result.getType());
  if (!tensor || !inferred.ranked)
    return {ctx.info(result), false};
  auto ranked = dyn_cast<RankedTensorType>(tensor);
  if (ranked && ranked.getRank() != inferred.rank())
    return {ctx.info(result), false};
  ValueInfo merged = inferred;
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < inferred.rank(); ++i) {
    Dim &d = merged.dims[static_cast<size_t>(i)];
    if (d.unknown || (d.isConst() && d.coeff < 0))
      d = ctx.fresh();
    int64_t known = ranked ? ranked.getDimSize(i) : ShapedType::kDynamic;
    if (!ShapedType::isDynamic(known)) {
      if (d.isConst() && d.coeff != known)
        return {ctx.info(result), false}; // the type says otherwise: keep it
      d = Dim::constant(known);
    }
    shape.push_back(d.isConst() ? d.coeff : ShapedType::kDynamic);
  }
  auto type = RankedTensorType::get(shape, tensor.getElementType());
  bool changed = type != result.getType();
  if (!type.getElementType().isIntOrIndex() || inferred.rank() > 1)
    merged.elems.reset();
  if (merged.elems && type.hasStaticShape() &&
      static_cast<int64_t>(merged.elems->size()) != type.getNumElements())
    merged.elems.reset();
  if (changed)
    result.setType(type);
  return {std::move(merged), changed};
}

} // namespace ds::shapes

namespace ds {

/// The constant `v` holds, when its type is static and integer and every
/// element is known.
static std::optional<DenseElementsAttr> knownConstant(Value v, shapes::ShapeContext &ctx) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  auto elem = type ? dyn_cast<IntegerType>(type.getElementType()) : IntegerType();
  auto values = elem && type.hasStaticShape() ? ctx.constInts(v) : std::nullopt;
  if (!values || static_cast<int64_t>(values->size()) != type.getNumElements())
    return std::nullopt;
  if (elem.getWidth() == 1) {
    SmallVector<bool> bits;
    for (int64_t x : *values)
      bits.push_back(x != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  }
  SmallVector<APInt> ints;
  for (int64_t x : *values)
    ints.push_back(APInt(elem.getWidth(), static_cast<uint64_t>(x), /*isSigned=*/!elem.isUnsigned(),
                         /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, ints);
}

ShapeInferenceStats inferShapes(func::FuncOp func, bool foldKnownValues) {
  using namespace shapes;
  ShapeContext ctx;
  ShapeInferenceStats stats;
  SmallVector<Operation *> computed;
  func.walk([&](Operation *op) {
    if (op->getNumResults() == 0 || isa<ds::ConstantOp, ds::NoneOp>(op))
      return;
    computed.push_back(op);
    Results inferred;
    if (const Rule *rule = findShapeRule(op))
      inferred = (*rule)(op, ctx);
    else if (op->hasTrait<mlir::OpTrait::SameOperandsAndResultShape>() && op->getNumOperands() > 0) {
      ValueInfo in = ctx.info(op->getOperand(0));
      in.elems.reset();
      inferred = same(in, op->getNumResults());
    }
    for (unsigned i = 0; i < op->getNumResults(); ++i) {
      Value result = op->getResult(i);
      if (i < inferred.size() && inferred[i]) {
        auto [info, changed] = merge(result, *inferred[i], ctx);
        stats.refined += changed;
        ctx.set(result, std::move(info));
      }
      if (isa<UnrankedTensorType>(result.getType()))
        ++stats.unranked;
    }
  });
  for (Operation *op : foldKnownValues ? computed : SmallVector<Operation *>{}) {
    if (!isa_and_nonnull<ds::DsDialect>(op->getDialect()))
      continue;
    SmallVector<DenseElementsAttr> values;
    for (Value r : op->getResults())
      if (auto c = knownConstant(r, ctx))
        values.push_back(*c);
    if (values.size() != op->getNumResults())
      continue;
    OpBuilder b(op);
    for (auto [r, c] : llvm::zip(op->getResults(), values))
      r.replaceAllUsesWith(ds::ConstantOp::create(b, op->getLoc(), c.getType(), c).getResult());
    op->erase();
    ++stats.folded;
  }
  // A refined value the function returns refines the function's result type.
  func.walk([&](func::ReturnOp ret) {
    func.setFunctionType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                           ret.getOperandTypes()));
  });
  return stats;
}

} // namespace ds
