//===- ShapeRulesMovement.cpp - shapes of data-movement and shape ops -----===//
//
// Shape, Reshape, Transpose, (Un)Squeeze, Flatten, Concat, Split, Slice,
// Gather*, Scatter*, Expand, Tile, ConstantOfShape, Range, Pad, OneHot,
// NonZero, Compress, DepthToSpace/SpaceToDepth. Operands that give a shape
// (Reshape's, Expand's, ...) are read as tracked values: constants or the
// output of the Shape/Gather/Concat arithmetic exporters emit.
//
//===----------------------------------------------------------------------===//
#include "dialects/ds/ShapeRules.h"

#include "mlir/IR/BuiltinTypes.h"

#include <limits>

using namespace mlir;

namespace ds::shapes {
namespace {

using Dims = SmallVector<Dim, 4>;

/// Axes from operand `operandIndex` (opset 13+) or the `axes` attribute.
std::optional<SmallVector<int64_t, 4>> axesOf(Operation *op, unsigned operandIndex,
                                              ShapeContext &ctx) {
  if (!isAbsent(op, operandIndex))
    return ctx.constInts(op->getOperand(operandIndex));
  if (auto attr = intsAttr(op, "axes"))
    return attr;
  return SmallVector<int64_t, 4>{};
}

Dim productOf(ArrayRef<Dim> dims, ShapeContext &ctx) {
  Dim p = Dim::constant(1);
  for (const Dim &d : dims) {
    auto next = mulDims(p, d);
    if (!next)
      return ctx.fresh();
    p = *next;
  }
  return p;
}

Results shapeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  int64_t r = x.rank();
  auto clampIndex = [r](int64_t i) { return std::clamp(i < 0 ? i + r : i, int64_t{0}, r); };
  int64_t start = clampIndex(intAttr(op, "start", 0)), end = clampIndex(intAttr(op, "end", r));
  Dims elems(x.dims.begin() + start, x.dims.begin() + std::max(start, end));
  ValueInfo out = ValueInfo::withDims({Dim::constant(static_cast<int64_t>(elems.size()))});
  out.elems = std::move(elems);
  return {out};
}

Results sizeRule(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ValueInfo::withDims({});
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (x.ranked)
    out.elems = Dims{productOf(x.dims, ctx)};
  return {out};
}

Results reshapeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  const ValueInfo &shape = ctx.info(op->getOperand(1));
  if (!shape.ranked || shape.rank() != 1 || !shape.dims[0].isConst())
    return {};
  int64_t n = shape.dims[0].coeff;
  if (!shape.elems) { // rank known, sizes not
    Dims dims;
    for (int64_t i = 0; i < n; ++i)
      dims.push_back(ctx.fresh());
    return {ValueInfo::withDims(dims)};
  }
  bool allowZero = intAttr(op, "allowzero", 0) != 0;
  Dims dims;
  std::optional<size_t> inferred;
  for (size_t i = 0; i < shape.elems->size(); ++i) {
    const Dim &e = (*shape.elems)[i];
    if (e.isConst(-1) && !inferred) {
      inferred = i;
      dims.push_back(Dim::constant(1)); // placeholder
    } else if (e.isConst(0) && !allowZero) {
      if (!x.ranked || static_cast<int64_t>(i) >= x.rank())
        return {};
      dims.push_back(x.dims[i]);
    } else {
      dims.push_back(asDim(e, ctx));
    }
  }
  if (inferred) {
    std::optional<Dim> d;
    if (x.ranked) {
      Dims others = dims;
      others.erase(others.begin() + static_cast<std::ptrdiff_t>(*inferred));
      d = divDims(productOf(x.dims, ctx), productOf(others, ctx));
    }
    dims[*inferred] = d ? *d : ctx.fresh();
  }
  ValueInfo out = ValueInfo::withDims(dims);
  if (dims.size() <= 1 && x.elems)
    out.elems = x.elems;
  return {out};
}

Results transposeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  SmallVector<int64_t, 4> perm;
  if (auto p = intsAttr(op, "perm"))
    perm = *p;
  else
    for (int64_t i = x.rank() - 1; i >= 0; --i)
      perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != x.rank())
    return {};
  Dims dims;
  for (int64_t p : perm) {
    if (p < 0 || p >= x.rank())
      return {};
    dims.push_back(x.dims[static_cast<size_t>(p)]);
  }
  return {ValueInfo::withDims(dims)};
}

Results squeezeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  auto axes = axesOf(op, 1, ctx);
  if (!x.ranked || !axes)
    return {};
  SmallVector<bool, 4> drop(static_cast<size_t>(x.rank()), false);
  if (axes->empty()) {
    for (int64_t i = 0; i < x.rank(); ++i) {
      const Dim &d = x.dims[static_cast<size_t>(i)];
      if (!d.isConst())
        return {}; // which dims are 1 is only known at run time
      drop[static_cast<size_t>(i)] = d.coeff == 1;
    }
  }
  for (int64_t a : *axes) {
    auto axis = normalizeAxis(a, x.rank());
    if (!axis)
      return {};
    drop[static_cast<size_t>(*axis)] = true;
  }
  ValueInfo out;
  out.ranked = true;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (!drop[static_cast<size_t>(i)])
      out.dims.push_back(x.dims[static_cast<size_t>(i)]);
  if (out.rank() <= 1)
    out.elems = x.elems;
  return {out};
}

Results unsqueezeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  auto axes = axesOf(op, 1, ctx);
  if (!x.ranked || !axes || axes->empty())
    return {};
  int64_t rank = x.rank() + static_cast<int64_t>(axes->size());
  SmallVector<bool, 4> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : *axes) {
    auto axis = normalizeAxis(a, rank);
    if (!axis || inserted[static_cast<size_t>(*axis)])
      return {};
    inserted[static_cast<size_t>(*axis)] = true;
  }
  ValueInfo out;
  out.ranked = true;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.dims.push_back(inserted[static_cast<size_t>(i)] ? Dim::constant(1) : x.dims[next++]);
  if (rank <= 1)
    out.elems = x.elems;
  return {out};
}

Results flattenRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  int64_t axis = intAttr(op, "axis", 1);
  if (axis < 0)
    axis += x.rank();
  if (axis < 0 || axis > x.rank())
    return {};
  ArrayRef<Dim> dims(x.dims);
  return {ValueInfo::withDims({productOf(dims.take_front(static_cast<size_t>(axis)), ctx),
                               productOf(dims.drop_front(static_cast<size_t>(axis)), ctx)})};
}

Results concatRule(Operation *op, ShapeContext &ctx) {
  SmallVector<const ValueInfo *> ins;
  for (Value v : op->getOperands()) {
    ins.push_back(&ctx.info(v));
    if (!ins.back()->ranked || ins.back()->rank() != ins.front()->rank())
      return {};
  }
  if (ins.empty())
    return {};
  auto axis = normalizeAxis(intAttr(op, "axis", 0), ins.front()->rank());
  if (!axis)
    return {};
  ValueInfo out = *ins.front();
  out.elems.reset();
  out.dims[*axis] = Dim::constant(0);
  bool values = out.rank() == 1;
  Dims elems;
  for (const ValueInfo *in : ins) {
    for (int64_t i = 0; i < out.rank(); ++i) {
      Dim &d = out.dims[static_cast<size_t>(i)];
      const Dim &e = in->dims[static_cast<size_t>(i)];
      if (i == *axis)
        d = addDims(d, e, ctx);
      else if (!d.isConst() && e.isConst())
        d = e; // the operands agree off the axis; keep what is known
    }
    if (values && in->elems)
      elems.append(in->elems->begin(), in->elems->end());
    else
      values = false;
  }
  if (values)
    out.elems = std::move(elems);
  return {out};
}

Results splitRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  auto axis = axisAttr(op, x, 0);
  if (!axis)
    return {};
  int64_t n = op->getNumResults();
  const Dim &whole = x.dims[*axis];
  Dims sizes;
  std::optional<SmallVector<int64_t, 4>> given =
      isAbsent(op, 1) ? intsAttr(op, "split") : ctx.constInts(op->getOperand(1));
  if (given && static_cast<int64_t>(given->size()) == n) {
    for (int64_t s : *given)
      sizes.push_back(Dim::constant(s));
  } else if (!given && isAbsent(op, 1)) {
    if (whole.isConst()) { // opset 18: ceil-sized parts, the last one smaller
      int64_t part = (whole.coeff + n - 1) / n;
      for (int64_t i = 0; i < n; ++i)
        sizes.push_back(Dim::constant(std::clamp(whole.coeff - i * part, int64_t{0}, part)));
    } else {
      auto part = divDims(whole, Dim::constant(n));
      for (int64_t i = 0; i < n; ++i)
        sizes.push_back(part ? *part : ctx.fresh());
    }
  } else {
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(ctx.fresh());
  }
  Results r;
  for (const Dim &s : sizes) {
    ValueInfo out = ValueInfo::withDims(x.dims);
    out.dims[*axis] = s;
    r.push_back(out);
  }
  return r;
}

/// One axis of Slice with constant parameters, per the ONNX clamping rules.
Dim sliceDim(const Dim &d, int64_t start, int64_t end, int64_t step, ShapeContext &ctx) {
  constexpr int64_t kOpenEnd = std::numeric_limits<int32_t>::max();
  if (!d.isConst()) {
    if (step == 1 && start == 0 && end >= kOpenEnd)
      return d;
    return ctx.fresh();
  }
  int64_t n = d.coeff;
  if (step == 0)
    return ctx.fresh();
  if (start < 0)
    start += n;
  if (end < 0)
    end += n;
  if (step > 0) {
    start = std::clamp(start, int64_t{0}, n);
    end = std::clamp(end, int64_t{0}, n);
    return Dim::constant(end > start ? (end - start + step - 1) / step : 0);
  }
  start = std::clamp(start, int64_t{0}, n - 1);
  end = std::clamp(end, int64_t{-1}, n - 1);
  return Dim::constant(start > end ? (start - end - step - 1) / -step : 0);
}

Results sliceRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  bool fromAttrs = op->getNumOperands() == 1; // opset < 10
  auto starts = fromAttrs ? intsAttr(op, "starts") : ctx.constInts(op->getOperand(1));
  auto ends = fromAttrs ? intsAttr(op, "ends") : ctx.constInts(op->getOperand(2));
  std::optional<SmallVector<int64_t, 4>> axes, steps;
  axes = fromAttrs ? intsAttr(op, "axes") : isAbsent(op, 3) ? std::nullopt : ctx.constInts(op->getOperand(3));
  if (!fromAttrs && !isAbsent(op, 4))
    steps = ctx.constInts(op->getOperand(4));
  bool axesGiven = fromAttrs ? op->hasAttr("axes") : !isAbsent(op, 3);
  bool stepsGiven = !fromAttrs && !isAbsent(op, 4);
  ValueInfo out = ValueInfo::withDims(x.dims);
  if (!starts || !ends || (axesGiven && !axes) || (stepsGiven && !steps) ||
      starts->size() != ends->size()) {
    // Which axes change is unknown without the parameters: only the rank stays.
    if (axesGiven && !axes)
      for (Dim &d : out.dims)
        d = ctx.fresh();
    else {
      auto known = axesGiven ? axes : std::optional<SmallVector<int64_t, 4>>();
      for (int64_t i = 0; i < x.rank(); ++i)
        if (!known || llvm::is_contained(*known, i) || llvm::is_contained(*known, i - x.rank()))
          out.dims[static_cast<size_t>(i)] = ctx.fresh();
    }
    return {out};
  }
  if ((axes && axes->size() != starts->size()) || (steps && steps->size() != starts->size()))
    return {}; // malformed: the kernel reports it
  SmallVector<int64_t, 4> stepOf(starts->size(), 1);
  for (size_t i = 0; i < starts->size(); ++i) {
    auto axis = normalizeAxis(axes ? (*axes)[i] : static_cast<int64_t>(i), x.rank());
    int64_t step = steps ? (*steps)[i] : 1;
    if (!axis || step == 0)
      return {};
    out.dims[*axis] = sliceDim(x.dims[*axis], (*starts)[i], (*ends)[i], step, ctx);
    stepOf[i] = step;
  }
  // A slice of a tracked 1-D value (a shape) keeps the picked values.
  if (x.rank() == 1 && x.elems && x.dims[0].isConst() && out.dims[0].isConst()) {
    int64_t n = x.dims[0].coeff, start = (*starts)[0], step = stepOf[0];
    if (start < 0)
      start += n;
    start = step > 0 ? std::clamp(start, int64_t{0}, n) : std::clamp(start, int64_t{0}, n - 1);
    Dims elems;
    for (int64_t k = 0; k < out.dims[0].coeff; ++k)
      elems.push_back((*x.elems)[static_cast<size_t>(start + k * step)]);
    out.elems = std::move(elems);
  }
  return {out};
}

Results gatherRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &data = ctx.info(op->getOperand(0)), &idx = ctx.info(op->getOperand(1));
  auto axis = axisAttr(op, data, 0);
  if (!axis || !idx.ranked)
    return {};
  ValueInfo out;
  out.ranked = true;
  out.dims.append(data.dims.begin(), data.dims.begin() + *axis);
  out.dims.append(idx.dims.begin(), idx.dims.end());
  out.dims.append(data.dims.begin() + *axis + 1, data.dims.end());
  auto indices = ctx.constInts(op->getOperand(1));
  if (data.rank() == 1 && data.elems && indices && idx.rank() <= 1) {
    int64_t n = static_cast<int64_t>(data.elems->size());
    Dims elems;
    for (int64_t i : *indices) {
      if (i < -n || i >= n)
        return {out};
      elems.push_back((*data.elems)[static_cast<size_t>(i < 0 ? i + n : i)]);
    }
    out.elems = std::move(elems);
  }
  return {out};
}

Results gatherNdRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &data = ctx.info(op->getOperand(0)), &idx = ctx.info(op->getOperand(1));
  if (!data.ranked || !idx.ranked || idx.rank() == 0 || !idx.dims.back().isConst())
    return {};
  int64_t batch = intAttr(op, "batch_dims", 0), m = idx.dims.back().coeff;
  if (batch < 0 || batch + m > data.rank())
    return {};
  Dims dims(idx.dims.begin(), idx.dims.end() - 1);
  dims.append(data.dims.begin() + batch + m, data.dims.end());
  return {ValueInfo::withDims(dims)};
}

/// Broadcast of `x` against dims given as values (Expand's shape operand).
Results expandRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0)), &shape = ctx.info(op->getOperand(1));
  if (!shape.ranked || shape.rank() != 1 || !shape.dims[0].isConst())
    return {};
  ValueInfo target;
  target.ranked = true;
  for (int64_t i = 0; i < shape.dims[0].coeff; ++i)
    target.dims.push_back(shape.elems ? asDim((*shape.elems)[static_cast<size_t>(i)], ctx) : ctx.fresh());
  if (!shape.elems) {
    if (!x.ranked)
      return {};
    int64_t rank = std::max(x.rank(), target.rank());
    Dims dims;
    for (int64_t i = 0; i < rank; ++i)
      dims.push_back(ctx.fresh());
    return {ValueInfo::withDims(dims)};
  }
  auto dims = broadcastDims({&x, &target}, ctx);
  if (!dims)
    return {};
  return {ValueInfo::withDims(*dims)};
}

Results tileRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0)), &reps = ctx.info(op->getOperand(1));
  if (!x.ranked)
    return {};
  ValueInfo out = ValueInfo::withDims(x.dims);
  for (int64_t i = 0; i < x.rank(); ++i) {
    Dim &d = out.dims[static_cast<size_t>(i)];
    auto r = reps.elems && static_cast<int64_t>(reps.elems->size()) == x.rank()
                 ? mulDims(d, (*reps.elems)[static_cast<size_t>(i)])
                 : std::nullopt;
    d = r ? *r : ctx.fresh();
  }
  return {out};
}

Results constantOfShapeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &shape = ctx.info(op->getOperand(0));
  if (!shape.ranked || shape.rank() != 1 || !shape.dims[0].isConst())
    return {};
  ValueInfo out;
  out.ranked = true;
  for (int64_t i = 0; i < shape.dims[0].coeff; ++i)
    out.dims.push_back(shape.elems ? asDim((*shape.elems)[static_cast<size_t>(i)], ctx) : ctx.fresh());
  if (out.rank() == 1 && out.dims[0].isConst() && out.dims[0].coeff <= 64) {
    int64_t fill = 0;
    if (auto value = op->getAttrOfType<DenseIntElementsAttr>("value")) {
      if (value.getNumElements() != 1)
        return {out};
      fill = (*value.getValues<APInt>().begin()).getSExtValue();
    } else if (op->hasAttr("value")) {
      return {out};
    }
    out.elems = Dims(static_cast<size_t>(out.dims[0].coeff), Dim::constant(fill));
  }
  return {out};
}

/// Range(start, limit, delta): exact when all are constants, and for
/// Range(0, n, 1) of a size n (the positions `arange(seq)` of exporters).
Results rangeRule(Operation *op, ShapeContext &ctx) {
  auto scalar = [&](unsigned i) -> std::optional<Dim> {
    const ValueInfo &v = ctx.info(op->getOperand(i));
    if (!v.elems || v.elems->size() != 1)
      return std::nullopt;
    return v.elems->front();
  };
  auto start = scalar(0), limit = scalar(1), delta = scalar(2);
  Dim n = ctx.fresh();
  if (start && limit && delta && start->isConst() && delta->isConst() && delta->coeff != 0) {
    if (limit->isConst()) {
      int64_t span = limit->coeff - start->coeff;
      int64_t len = span / delta->coeff + (span % delta->coeff != 0 ? 1 : 0);
      n = Dim::constant(std::max<int64_t>(len, 0));
    } else if (start->isConst(0) && delta->isConst(1) && !limit->unknown) {
      n = *limit;
    }
  }
  return {ValueInfo::withDims({n})};
}

Results padRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  auto pads = isAbsent(op, 1) ? intsAttr(op, "pads") : ctx.constInts(op->getOperand(1));
  std::optional<SmallVector<int64_t, 4>> axes;
  if (!isAbsent(op, 3)) {
    axes = ctx.constInts(op->getOperand(3));
    if (!axes)
      pads.reset();
  } else {
    axes.emplace();
    for (int64_t i = 0; i < x.rank(); ++i)
      axes->push_back(i);
  }
  ValueInfo out = ValueInfo::withDims(x.dims);
  if (!pads || pads->size() != 2 * axes->size()) {
    for (Dim &d : out.dims)
      d = ctx.fresh();
    return {out};
  }
  size_t n = axes->size();
  for (size_t i = 0; i < n; ++i) {
    auto axis = normalizeAxis((*axes)[i], x.rank());
    if (!axis)
      return {};
    Dim &d = out.dims[*axis];
    d = addDims(d, Dim::constant((*pads)[i] + (*pads)[i + n]), ctx);
  }
  return {out};
}

Results oneHotRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &idx = ctx.info(op->getOperand(0));
  if (!idx.ranked)
    return {};
  auto axis = normalizeAxis(intAttr(op, "axis", -1), idx.rank() + 1);
  if (!axis)
    return {};
  auto depth = ctx.info(op->getOperand(1)).elems;
  ValueInfo out = ValueInfo::withDims(idx.dims);
  out.dims.insert(out.dims.begin() + *axis,
                  depth && depth->size() == 1 ? asDim(depth->front(), ctx) : ctx.fresh());
  return {out};
}

Results nonZeroRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  return {ValueInfo::withDims({Dim::constant(x.rank()), ctx.fresh()})};
}

Results compressRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!op->hasAttr("axis"))
    return {ValueInfo::withDims({ctx.fresh()})};
  auto axis = axisAttr(op, x, 0);
  if (!axis)
    return {};
  ValueInfo out = ValueInfo::withDims(x.dims);
  out.dims[*axis] = ctx.fresh();
  return {out};
}

/// DepthToSpace (`toSpace`) and SpaceToDepth on NCHW.
Rule depthSpaceRule(bool toSpace) {
  return [toSpace](Operation *op, ShapeContext &ctx) -> Results {
    const ValueInfo &x = ctx.info(op->getOperand(0));
    int64_t b = intAttr(op, "blocksize", 0);
    if (!x.ranked || x.rank() != 4 || b <= 0)
      return {};
    Dim bb = Dim::constant(b * b), bd = Dim::constant(b);
    auto mul = [&](const Dim &d, const Dim &f) { return mulDims(d, f).value_or(ctx.fresh()); };
    auto div = [&](const Dim &d, const Dim &f) { return divDims(d, f).value_or(ctx.fresh()); };
    const Dims &d = x.dims;
    if (toSpace)
      return {ValueInfo::withDims({d[0], div(d[1], bb), mul(d[2], bd), mul(d[3], bd)})};
    return {ValueInfo::withDims({d[0], mul(d[1], bb), div(d[2], bd), div(d[3], bd)})};
  };
}

Results sameAsData(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(0));
  out.elems.reset();
  return {out};
}

Results sameAsIndices(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(1));
  out.elems.reset();
  return {out};
}

} // namespace

void addMovementShapeRules(llvm::StringMap<Rule> &rules) {
  rules["shape"] = shapeRule;
  rules["size"] = sizeRule;
  rules["reshape"] = reshapeRule;
  rules["transpose"] = transposeRule;
  rules["squeeze"] = squeezeRule;
  rules["unsqueeze"] = unsqueezeRule;
  rules["flatten"] = flattenRule;
  rules["concat"] = concatRule;
  rules["split"] = splitRule;
  rules["slice"] = sliceRule;
  rules["gather"] = gatherRule;
  rules["gather_elements"] = sameAsIndices;
  rules["gather_nd"] = gatherNdRule;
  rules["scatter_nd"] = sameAsData;
  rules["scatter_elements"] = sameAsData;
  rules["reverse_sequence"] = sameAsData;
  rules["eye_like"] = sameAsData;
  rules["trilu"] = sameAsData;
  rules["expand"] = expandRule;
  rules["tile"] = tileRule;
  rules["constant_of_shape"] = constantOfShapeRule;
  rules["range"] = rangeRule;
  rules["pad"] = padRule;
  rules["one_hot"] = oneHotRule;
  rules["non_zero"] = nonZeroRule;
  rules["compress"] = compressRule;
  rules["depth_to_space"] = depthSpaceRule(true);
  rules["space_to_depth"] = depthSpaceRule(false);
}

} // namespace ds::shapes
