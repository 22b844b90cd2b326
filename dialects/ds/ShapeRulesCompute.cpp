//===- ShapeRulesCompute.cpp - shapes of compute ops -----------------------===//
//
// Reductions, MatMul/Gemm, Conv/ConvTranspose and pools, Resize,
// normalizations, TopK, and the compiler's fused and quantized ops. Window
// geometry follows the runtime's (codegen/runtime/kernels/ConvCommon.cpp), so
// a static dim inferred here is the size the kernel produces.
//
//===----------------------------------------------------------------------===//
#include "dialects/ds/ShapeRules.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>

using namespace mlir;

namespace ds::shapes {
namespace {

using Dims = SmallVector<Dim, 4>;

Results sameAsInput(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(0));
  out.elems.reset();
  return {out};
}

Dims freshDims(int64_t rank, ShapeContext &ctx) {
  Dims d;
  for (int64_t i = 0; i < rank; ++i)
    d.push_back(ctx.fresh());
  return d;
}

/// ReduceX: axes from operand 1 (ReduceSum 13+, all at 18+) or the attribute.
Results reduceRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  bool keep = intAttr(op, "keepdims", 1) != 0;
  std::optional<SmallVector<int64_t, 4>> axes;
  if (!isAbsent(op, 1))
    axes = ctx.constInts(op->getOperand(1));
  else
    axes = intsAttr(op, "axes").value_or(SmallVector<int64_t, 4>{});
  if (!axes) // axes computed at run time: with keepdims only the rank is known
    return keep ? Results{ValueInfo::withDims(freshDims(x.rank(), ctx))} : Results{};
  if (axes->empty() && intAttr(op, "noop_with_empty_axes", 0))
    return sameAsInput(op, ctx);
  SmallVector<bool, 4> reduced(static_cast<size_t>(x.rank()), axes->empty());
  for (int64_t a : *axes) {
    auto axis = normalizeAxis(a, x.rank());
    if (!axis)
      return {};
    reduced[static_cast<size_t>(*axis)] = true;
  }
  ValueInfo out;
  out.ranked = true;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (!reduced[static_cast<size_t>(i)])
      out.dims.push_back(x.dims[static_cast<size_t>(i)]);
    else if (keep)
      out.dims.push_back(Dim::constant(1));
  }
  return {out};
}

Results argReduceRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  auto axis = axisAttr(op, x, 0);
  if (!axis)
    return {};
  ValueInfo out = ValueInfo::withDims(x.dims);
  if (intAttr(op, "keepdims", 1))
    out.dims[*axis] = Dim::constant(1);
  else
    out.dims.erase(out.dims.begin() + *axis);
  return {out};
}

/// numpy matmul: 1-D operands are promoted and their dim dropped again.
std::optional<Dims> matmulDims(const ValueInfo &a, const ValueInfo &b, ShapeContext &ctx) {
  if (!a.ranked || !b.ranked || a.rank() == 0 || b.rank() == 0)
    return std::nullopt;
  ValueInfo a2 = a, b2 = b;
  if (a.rank() == 1)
    a2.dims.insert(a2.dims.begin(), Dim::constant(1));
  if (b.rank() == 1)
    b2.dims.push_back(Dim::constant(1));
  ValueInfo aBatch = ValueInfo::withDims(Dims(a2.dims.begin(), a2.dims.end() - 2));
  ValueInfo bBatch = ValueInfo::withDims(Dims(b2.dims.begin(), b2.dims.end() - 2));
  auto dims = broadcastDims({&aBatch, &bBatch}, ctx);
  if (a.rank() > 1)
    dims->push_back(a2.dims[a2.dims.size() - 2]);
  if (b.rank() > 1)
    dims->push_back(b2.dims.back());
  return dims;
}

Results matmulRule(Operation *op, ShapeContext &ctx) {
  auto dims = matmulDims(ctx.info(op->getOperand(0)), ctx.info(op->getOperand(1)), ctx);
  if (!dims)
    return {};
  return {ValueInfo::withDims(*dims)};
}

Results gemmRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &a = ctx.info(op->getOperand(0)), &b = ctx.info(op->getOperand(1));
  if (!a.ranked || !b.ranked || a.rank() != 2 || b.rank() != 2)
    return {};
  const Dim &m = a.dims[intAttr(op, "transA", 0) ? 1 : 0];
  const Dim &n = b.dims[intAttr(op, "transB", 0) ? 0 : 1];
  return {ValueInfo::withDims({m, n})};
}

/// One spatial dim of a forward window op (ConvCommon.cpp's forwardGeometry).
Dim windowDim(const Dim &in, int64_t extent, int64_t stride, int64_t padBegin, int64_t padEnd,
              const std::string &autoPad, bool ceilMode, ShapeContext &ctx) {
  if (!in.isConst() || stride < 1 || extent < 1)
    return ctx.fresh();
  int64_t n = in.coeff, out = 0;
  if (autoPad == "NOTSET") {
    int64_t span = n + padBegin + padEnd - extent;
    if (span < 0)
      return ctx.fresh();
    if (ceilMode) {
      out = (span + stride - 1) / stride + 1;
      if ((out - 1) * stride >= n + padBegin)
        --out;
    } else {
      out = span / stride + 1;
    }
  } else if (autoPad == "VALID") {
    if (n < extent)
      return ctx.fresh();
    out = (n - extent) / stride + 1;
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    out = (n + stride - 1) / stride;
  } else {
    return ctx.fresh();
  }
  return out >= 1 ? Dim::constant(out) : ctx.fresh();
}

/// Conv, ConvInteger, MaxPool, AveragePool, LpPool and quant_conv: [N, C or M,
/// spatial...]. `kernelFromWeights`: the window is operand 1's spatial dims.
Rule windowRule(bool kernelFromWeights) {
  return [kernelFromWeights](Operation *op, ShapeContext &ctx) -> Results {
    const ValueInfo &x = ctx.info(op->getOperand(0));
    if (!x.ranked || x.rank() < 3)
      return {};
    int64_t spatial = x.rank() - 2;
    Dim channels = x.dims[1];
    SmallVector<int64_t, 4> kernel;
    if (auto k = intsAttr(op, "kernel_shape"))
      kernel = *k;
    if (kernelFromWeights) {
      const ValueInfo &w = ctx.info(op->getOperand(1));
      if (!w.ranked || w.rank() != x.rank())
        return {};
      channels = w.dims[0];
      if (kernel.empty())
        for (int64_t i = 2; i < w.rank(); ++i)
          kernel.push_back(w.dims[static_cast<size_t>(i)].isConst() ? w.dims[static_cast<size_t>(i)].coeff : -1);
    }
    auto strides = intsAttr(op, "strides").value_or(SmallVector<int64_t, 4>(spatial, 1));
    auto dilations = intsAttr(op, "dilations").value_or(SmallVector<int64_t, 4>(spatial, 1));
    auto pads = intsAttr(op, "pads").value_or(SmallVector<int64_t, 4>(2 * spatial, 0));
    if (static_cast<int64_t>(kernel.size()) != spatial || static_cast<int64_t>(strides.size()) != spatial ||
        static_cast<int64_t>(dilations.size()) != spatial || static_cast<int64_t>(pads.size()) != 2 * spatial)
      return {};
    std::string autoPad = stringAttr(op, "auto_pad", "NOTSET");
    bool ceilMode = intAttr(op, "ceil_mode", 0) != 0;
    Dims dims{x.dims[0], channels};
    for (int64_t i = 0; i < spatial; ++i) {
      size_t s = static_cast<size_t>(i);
      int64_t extent = kernel[s] < 1 ? -1 : (kernel[s] - 1) * dilations[s] + 1;
      dims.push_back(windowDim(x.dims[s + 2], extent, strides[s], pads[s], pads[s + spatial],
                               autoPad, ceilMode, ctx));
    }
    return same(ValueInfo::withDims(dims), op->getNumResults()); // MaxPool's indices too
  };
}

Results convTransposeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0)), &w = ctx.info(op->getOperand(1));
  if (!x.ranked || !w.ranked || x.rank() < 3 || w.rank() != x.rank())
    return {};
  int64_t spatial = x.rank() - 2, group = intAttr(op, "group", 1);
  Dim channels = mulDims(w.dims[1], Dim::constant(group)).value_or(ctx.fresh());
  Dims dims{x.dims[0], channels};
  auto outputShape = intsAttr(op, "output_shape");
  auto strides = intsAttr(op, "strides").value_or(SmallVector<int64_t, 4>(spatial, 1));
  auto dilations = intsAttr(op, "dilations").value_or(SmallVector<int64_t, 4>(spatial, 1));
  auto pads = intsAttr(op, "pads").value_or(SmallVector<int64_t, 4>(2 * spatial, 0));
  auto outPad = intsAttr(op, "output_padding").value_or(SmallVector<int64_t, 4>(spatial, 0));
  std::string autoPad = stringAttr(op, "auto_pad", "NOTSET");
  for (int64_t i = 0; i < spatial; ++i) {
    size_t s = static_cast<size_t>(i);
    const Dim &in = x.dims[s + 2], &k = w.dims[s + 2];
    if (outputShape && static_cast<int64_t>(outputShape->size()) == spatial) {
      dims.push_back(Dim::constant((*outputShape)[s]));
    } else if (!in.isConst() || !k.isConst() || static_cast<int64_t>(strides.size()) != spatial ||
               static_cast<int64_t>(pads.size()) != 2 * spatial ||
               static_cast<int64_t>(outPad.size()) != spatial || static_cast<int64_t>(dilations.size()) != spatial) {
      dims.push_back(ctx.fresh());
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      dims.push_back(Dim::constant(in.coeff * strides[s]));
    } else {
      int64_t out = strides[s] * (in.coeff - 1) + outPad[s] + (k.coeff - 1) * dilations[s] + 1 -
                    (autoPad == "VALID" ? 0 : pads[s] + pads[s + spatial]);
      dims.push_back(out >= 1 ? Dim::constant(out) : ctx.fresh());
    }
  }
  return {ValueInfo::withDims(dims)};
}

Results globalPoolRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked || x.rank() < 2)
    return {};
  Dims dims{x.dims[0], x.dims[1]};
  dims.append(static_cast<size_t>(x.rank() - 2), Dim::constant(1));
  return {ValueInfo::withDims(dims)};
}

/// Resize: `sizes` when given (opset 11+ operand 3), else floor(in * scale)
/// as ONNX Runtime computes it (in float).
Results resizeRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  if (!x.ranked)
    return {};
  bool opset10 = op->getNumOperands() == 2;
  unsigned scalesIndex = opset10 ? 1 : 2, sizesIndex = 3;
  SmallVector<int64_t, 4> axes;
  if (auto a = intsAttr(op, "axes")) {
    for (int64_t v : *a) {
      auto axis = normalizeAxis(v, x.rank());
      if (!axis)
        return {};
      axes.push_back(*axis);
    }
  } else {
    for (int64_t i = 0; i < x.rank(); ++i)
      axes.push_back(i);
  }
  ValueInfo out = ValueInfo::withDims(x.dims);
  if (!isAbsent(op, sizesIndex)) {
    const ValueInfo &sizes = ctx.info(op->getOperand(sizesIndex));
    bool stretch = stringAttr(op, "keep_aspect_ratio_policy", "stretch") == "stretch";
    for (size_t i = 0; i < axes.size(); ++i)
      out.dims[static_cast<size_t>(axes[i])] =
          stretch && sizes.elems && sizes.elems->size() == axes.size() ? asDim((*sizes.elems)[i], ctx)
                                                                        : ctx.fresh();
    return {out};
  }
  auto scales = isAbsent(op, scalesIndex) ? std::nullopt : ctx.constFloats(op->getOperand(scalesIndex));
  for (size_t i = 0; i < axes.size(); ++i) {
    Dim &d = out.dims[static_cast<size_t>(axes[i])];
    if (!scales || scales->size() != axes.size()) {
      d = ctx.fresh();
      continue;
    }
    double s = (*scales)[i];
    if (s == std::floor(s) && s >= 1 && s < 1e6)
      d = mulDims(d, Dim::constant(static_cast<int64_t>(s))).value_or(ctx.fresh());
    else if (d.isConst())
      d = Dim::constant(static_cast<int64_t>(static_cast<float>(d.coeff) * static_cast<float>(s)));
    else
      d = ctx.fresh();
  }
  return {out};
}

/// LayerNormalization: y like x; mean and inverse std-dev with 1s from `axis` on.
Results layerNormRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0));
  auto axis = axisAttr(op, x, -1);
  if (!axis)
    return {};
  ValueInfo stats = ValueInfo::withDims(x.dims);
  for (int64_t i = *axis; i < x.rank(); ++i)
    stats.dims[static_cast<size_t>(i)] = Dim::constant(1);
  ValueInfo y = ValueInfo::withDims(x.dims);
  return {y, stats, stats};
}

Results topKRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &x = ctx.info(op->getOperand(0)), &k = ctx.info(op->getOperand(1));
  auto axis = axisAttr(op, x, -1);
  if (!axis)
    return {};
  ValueInfo out = ValueInfo::withDims(x.dims);
  out.dims[*axis] = k.elems && k.elems->size() == 1 ? asDim(k.elems->front(), ctx) : ctx.fresh();
  return {out, out};
}

/// ds.attention: q [..., Lq, D] with v [..., Lk, Dv] gives [..., Lq, Dv].
Results attentionRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &q = ctx.info(op->getOperand(0)), &v = ctx.info(op->getOperand(2));
  if (!q.ranked || !v.ranked || q.rank() < 2 || v.rank() < 2)
    return {};
  ValueInfo out = ValueInfo::withDims(q.dims);
  out.dims.back() = v.dims.back();
  return {out};
}

/// ds.matmul_nbits: A's dims with the last one N.
Results matmulNBitsRule(Operation *op, ShapeContext &ctx) {
  ValueInfo out = ctx.info(op->getOperand(0));
  int64_t n = intAttr(op, "N", 0);
  if (!out.ranked || out.rank() == 0 || n <= 0)
    return {};
  out.elems.reset();
  out.dims.back() = Dim::constant(n);
  return {out};
}

/// ds.gather_block_quantized: indices' dims and the table's unpacked width.
Results gatherBlockQuantizedRule(Operation *op, ShapeContext &ctx) {
  const ValueInfo &idx = ctx.info(op->getOperand(1));
  int64_t columns = intAttr(op, "columns", 0);
  if (!idx.ranked || columns <= 0)
    return {};
  ValueInfo out = ValueInfo::withDims(idx.dims);
  out.dims.push_back(Dim::constant(columns));
  return {out};
}

} // namespace

void addComputeShapeRules(llvm::StringMap<Rule> &rules) {
  rules["matmul_nbits"] = matmulNBitsRule;
  rules["gather_block_quantized"] = gatherBlockQuantizedRule;
  for (const char *name : {"reduce_mean", "reduce_sum", "reduce_max", "reduce_min", "reduce_prod",
                           "reduce_sum_square", "reduce_log_sum", "reduce_log_sum_exp"})
    rules[name] = reduceRule;
  rules["arg_max"] = argReduceRule;
  rules["arg_min"] = argReduceRule;
  rules["matmul"] = matmulRule;
  rules["matmul_integer"] = matmulRule;
  rules["quant_matmul"] = matmulRule;
  rules["gemm"] = gemmRule;
  rules["conv"] = windowRule(/*kernelFromWeights=*/true);
  rules["conv_integer"] = windowRule(true);
  rules["quant_conv"] = windowRule(true);
  rules["max_pool"] = windowRule(false);
  rules["average_pool"] = windowRule(false);
  rules["lp_pool"] = windowRule(false);
  rules["conv_transpose"] = convTransposeRule;
  rules["global_average_pool"] = globalPoolRule;
  rules["global_max_pool"] = globalPoolRule;
  rules["resize"] = resizeRule;
  rules["layer_normalization"] = layerNormRule;
  rules["top_k"] = topKRule;
  rules["attention"] = attentionRule;
  for (const char *name : {"softmax", "log_softmax", "hardmax", "batch_normalization",
                           "instance_normalization", "group_normalization", "lp_normalization",
                           "mean_variance_normalization", "lrn", "cum_sum", "rms_norm", "rotary"})
    rules[name] = sameAsInput;
}

} // namespace ds::shapes
