//===- ElementwiseSelect.cpp - Where (3-way broadcast) and Clip -----------===//
//
// Where picks X or Y by a bool condition, all three broadcasting together.
// Clip bounds the input by optional scalar min/max inputs (opset >= 11; the
// older min/max float attributes are honoured too when present). Clip is
// min(max(x, lo), hi): with lo > hi every element becomes hi, as numpy.clip,
// and NaN stays NaN.
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseUtil.h"

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

/// o[i] = c[i * SC] ? a[i * SA] : b[i * SB] with strides known at compile
/// time (0: broadcast scalar, 1: contiguous), so the select vectorizes; the
/// condition is read as a byte compare, not a branch.
template <int SC, int SA, int SB, typename T>
void selectRun(const bool *c, const T *a, const T *b, T *o, int64_t len) {
  const auto *cb = reinterpret_cast<const unsigned char *>(c);
  for (int64_t i = 0; i < len; ++i) {
    // Both arms are loaded unconditionally, so this is a blend, not a branch.
    const T x = a[i * SA], y = b[i * SB];
    o[i] = cb[i * SC] != 0 ? x : y;
  }
}

void whereKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "Where");
  const Tensor &cond = inputs[0], &x = inputs[1], &y = inputs[2];
  DS_CHECK(cond.dtype() == DType::Bool,
           std::string("condition must be bool, got ") + dtypeName(cond.dtype()));
  DS_CHECK(x.dtype() == y.dtype(), std::string("X and Y have different element types: ") +
                                       dtypeName(x.dtype()) + " and " + dtypeName(y.dtype()));
  Shape outShape = broadcastShapes(broadcastShapes(cond.shape(), x.shape()), y.shape());
  dispatchDType<DS_ALL_TYPES>(x.dtype(), "Where", [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out = Tensor::uninitialized(x.dtype(), outShape); // forEachRow writes all
    const bool *pc = cond.data<bool>();
    const T *px = x.data<T>(), *py = y.data<T>();
    T *po = out.mutableData<T>();
    auto plan = makeBroadcastPlan<3>({&cond.shape(), &x.shape(), &y.shape()}, outShape);
    forEachRow(ctx.pool, plan, kCheap,
               [&](const std::array<int64_t, 3> &off, const std::array<int64_t, 3> &st,
                   int64_t pos, int64_t len) {
                 const bool *c = pc + off[0];
                 const T *a = px + off[1], *b = py + off[2];
                 T *o = po + pos;
                 // Coalesced inner strides are 0 or 1: one compile-time loop each.
                 const int kind = (st[0] != 0) * 4 + (st[1] != 0) * 2 + (st[2] != 0);
                 switch (kind) {
                 case 0: return selectRun<0, 0, 0>(c, a, b, o, len);
                 case 1: return selectRun<0, 0, 1>(c, a, b, o, len);
                 case 2: return selectRun<0, 1, 0>(c, a, b, o, len);
                 case 3: return selectRun<0, 1, 1>(c, a, b, o, len);
                 case 4: return selectRun<1, 0, 0>(c, a, b, o, len);
                 case 5: return selectRun<1, 0, 1>(c, a, b, o, len);
                 case 6: return selectRun<1, 1, 0>(c, a, b, o, len);
                 default: return selectRun<1, 1, 1>(c, a, b, o, len);
                 }
               });
    outputs.push_back(std::move(out));
  });
}

/// Reads a Clip bound: a one-element tensor of the input's dtype.
template <typename T> T readBound(const Tensor &bound, const char *name) {
  DS_CHECK(bound.numel() == 1, std::string("'") + name + "' must be a scalar, got shape " +
                                   shapeToString(bound.shape()));
  return bound.data<T>()[0];
}

void clipKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 3, "Clip");
  const Tensor &x = inputs[0];
  const Tensor &minIn = optionalInput(inputs, 1), &maxIn = optionalInput(inputs, 2);
  dispatchDType<DS_NUMERIC_TYPES>(x.dtype(), "Clip", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if constexpr (std::is_floating_point_v<T>) {
      lo = -std::numeric_limits<T>::infinity();
      hi = std::numeric_limits<T>::infinity();
      // Clip-6 carried the bounds as attributes.
      if (ctx.attrs.has("min"))
        lo = static_cast<T>(ctx.attrs.getFloat("min", 0.0f));
      if (ctx.attrs.has("max"))
        hi = static_cast<T>(ctx.attrs.getFloat("max", 0.0f));
    }
    if (!minIn.isAbsent())
      lo = readBound<T>(minIn, "min");
    if (!maxIn.isAbsent())
      hi = readBound<T>(maxIn, "max");
    Tensor out = Tensor::uninitialized(x.dtype(), x.shape());
    mapUnary(ctx.pool, x.data<T>(), out.mutableData<T>(), x.numel(), kCheap,
             [lo, hi](T v) { return std::min(std::max(v, lo), hi); });
    outputs.push_back(std::move(out));
  });
}

} // namespace

DS_REGISTER_KERNEL("where", whereKernel);
DS_REGISTER_KERNEL("clip", clipKernel);

} // namespace ds::rt
