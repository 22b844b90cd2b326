//===- ShapeRulesElementwise.cpp - broadcasting ops and value arithmetic ---===//
//
// Elementwise ops take the numpy broadcast of their operands. On small integer
// tensors they also compute values where the operands' values are known, which
// is how exporters build shapes: `Mul(Gather(Shape(x), 1), 8)`,
// `Where(Equal(shape, -1), 1, shape)` (a size is never -1).
//
//===----------------------------------------------------------------------===//
#include "dialects/ds/ShapeRules.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace ds::shapes {
namespace {

using ValueFn = std::function<Dim(const Dim &, const Dim &)>;

/// The element values of a broadcast binary op on small tensors, when both
/// operands' values are tracked and the result has rank <= 1.
std::optional<SmallVector<Dim, 4>> broadcastValues(const ValueInfo &a, const ValueInfo &b,
                                                   const ValueFn &fn) {
  if (!a.elems || !b.elems || a.rank() > 1 || b.rank() > 1)
    return std::nullopt;
  size_t na = a.elems->size(), nb = b.elems->size();
  if (na != nb && na != 1 && nb != 1)
    return std::nullopt;
  SmallVector<Dim, 4> out;
  for (size_t i = 0; i < std::max(na, nb); ++i)
    out.push_back(fn((*a.elems)[na == 1 ? 0 : i], (*b.elems)[nb == 1 ? 0 : i]));
  return out;
}

Dim addValues(const Dim &a, const Dim &b) {
  if (a.isConst() && b.isConst())
    return Dim::constant(a.coeff + b.coeff);
  if (b.isConst(0))
    return a;
  if (a.isConst(0))
    return b;
  return Dim::unknownValue();
}
Dim subValues(const Dim &a, const Dim &b) {
  if (a.isConst() && b.isConst())
    return Dim::constant(a.coeff - b.coeff);
  if (b.isConst(0))
    return a;
  return Dim::unknownValue();
}
Dim mulValues(const Dim &a, const Dim &b) {
  return mulDims(a, b).value_or(Dim::unknownValue());
}
Dim divValues(const Dim &a, const Dim &b) {
  if (a.isConst() && b.isConst() && b.coeff != 0)
    return Dim::constant(a.coeff / b.coeff); // ONNX integer Div truncates
  return divDims(a, b).value_or(Dim::unknownValue());
}
/// Equal: decided for constants, for one monomial against itself, and for a
/// size (never negative) against a negative constant.
Dim equalValues(const Dim &a, const Dim &b) {
  if (a.unknown || b.unknown)
    return Dim::unknownValue();
  if (a == b)
    return Dim::constant(1);
  if (a.isConst() && b.isConst())
    return Dim::constant(0);
  if ((a.isConst() && a.coeff < 0) || (b.isConst() && b.coeff < 0))
    return Dim::constant(0);
  return Dim::unknownValue();
}

Rule broadcastRule(ValueFn values) {
  return [values](Operation *op, ShapeContext &ctx) -> Results {
    SmallVector<const ValueInfo *> ins;
    for (Value v : op->getOperands())
      ins.push_back(&ctx.info(v));
    auto dims = broadcastDims(ins, ctx);
    if (!dims)
      return {};
    ValueInfo out = ValueInfo::withDims(*dims);
    if (values && ins.size() == 2)
      out.elems = broadcastValues(*ins[0], *ins[1], values);
    return {out};
  };
}

Results whereRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &c = ctx.info(op->getOperand(0)), &x = ctx.info(op->getOperand(1)),
                  &y = ctx.info(op->getOperand(2));
  auto dims = broadcastDims({&c, &x, &y}, ctx);
  if (!dims)
    return {};
  ValueInfo out = ValueInfo::withDims(*dims);
  if (c.elems && x.elems && y.elems && dims->size() <= 1) {
    size_t n = dims->empty() ? 1 : static_cast<size_t>(std::max<size_t>(
                                       {c.elems->size(), x.elems->size(), y.elems->size()}));
    auto at = [n](const SmallVector<Dim, 4> &e, size_t i) -> const Dim * {
      if (e.size() == 1)
        return &e[0];
      return e.size() == n ? &e[i] : nullptr;
    };
    SmallVector<Dim, 4> picked;
    for (size_t i = 0; i < n; ++i) {
      const Dim *ci = at(*c.elems, i), *xi = at(*x.elems, i), *yi = at(*y.elems, i);
      if (!ci || !xi || !yi)
        return {out};
      picked.push_back(!ci->isConst() ? Dim::unknownValue() : ci->coeff ? *xi : *yi);
    }
    out.elems = std::move(picked);
  }
  return {out};
}

/// Same shape as operand 0 (values not tracked: Clip, Dropout, Q/DQ).
Results sameShape(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(0));
  out.elems.reset();
  return same(out, op->getNumResults());
}

/// Same shape and values as operand 0 when both are integer (Identity, or a
/// Cast of a shape from int64 to int32 and back).
Results sameValues(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(0));
  auto elem = [](Value v) { return cast<ShapedType>(v.getType()).getElementType(); };
  bool integers = elem(op->getOperand(0)).isIntOrIndex() && elem(op->getResult(0)).isIntOrIndex() &&
                  !elem(op->getResult(0)).isInteger(1);
  if (!integers)
    out.elems.reset();
  return same(out, op->getNumResults());
}

Results dynamicQuantizeRule(Operation *op, ShapeContext &ctx) {
  ValueInfo y = ctx.info(op->getOperand(0));
  y.elems.reset();
  return {y, ValueInfo::withDims({}), ValueInfo::withDims({})};
}

} // namespace

void addElementwiseShapeRules(llvm::StringMap<Rule> &rules) {
  rules["add"] = broadcastRule(addValues);
  rules["sub"] = broadcastRule(subValues);
  rules["mul"] = broadcastRule(mulValues);
  rules["div"] = broadcastRule(divValues);
  rules["equal"] = broadcastRule(equalValues);
  for (const char *name : {"pow", "mod", "less", "less_or_equal", "greater", "greater_or_equal",
                           "and", "or", "xor", "prelu", "bit_shift", "bitwise_and", "bitwise_or",
                           "bitwise_xor", "max", "min", "sum", "mean", "swiglu"})
    rules[name] = broadcastRule(nullptr);
  rules["where"] = whereRule;
  for (const char *name : {"identity", "cast", "cast_like"})
    rules[name] = sameValues;
  for (const char *name : {"clip", "dropout", "quantize_linear", "dequantize_linear"})
    rules[name] = sameShape;
  rules["dynamic_quantize_linear"] = dynamicQuantizeRule;
}

} // namespace ds::shapes
