//===- ElementwiseCompare.cpp - comparisons, boolean logic, NaN/Inf tests --===//
//
// Equal/Less/LessOrEqual/Greater/GreaterOrEqual (broadcasting, bool result),
// And/Or/Xor/Not on bool tensors, and IsNaN/IsInf. Comparisons follow IEEE:
// anything compared with NaN is false (Equal(NaN, NaN) too).
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseUtil.h"

#include <cmath>
#include <limits>

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

/// A comparison of two same-typed operands (one of Ts) producing bool.
template <typename... Ts, typename Op>
void runCompare(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs,
                const char *opName, const Op &op) {
  checkInputCount(inputs, 2, 2, opName);
  const Tensor &a = inputs[0], &b = inputs[1];
  DS_CHECK(a.dtype() == b.dtype(), std::string("operands have different element types: ") +
                                       dtypeName(a.dtype()) + " and " + dtypeName(b.dtype()));
  dispatchDType<Ts...>(a.dtype(), opName, [&](auto tag) {
    using T = typename decltype(tag)::type;
    outputs.push_back(broadcastBinary<T, T, bool>(ctx.pool, a, b, kCheap,
                                                  [&](T x, T y) -> bool { return op(x, y); }));
  });
}

void equalKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runCompare<DS_ALL_TYPES>(ctx, inputs, outputs, "Equal", [](auto x, auto y) { return x == y; });
}

void lessKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runCompare<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Less",
                               [](auto x, auto y) { return x < y; });
}

void lessOrEqualKernel(const KernelContext &ctx, KernelArgs inputs,
                       std::vector<Tensor> &outputs) {
  runCompare<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "LessOrEqual",
                               [](auto x, auto y) { return x <= y; });
}

void greaterKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runCompare<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Greater",
                               [](auto x, auto y) { return x > y; });
}

void greaterOrEqualKernel(const KernelContext &ctx, KernelArgs inputs,
                          std::vector<Tensor> &outputs) {
  runCompare<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "GreaterOrEqual",
                               [](auto x, auto y) { return x >= y; });
}

void andKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<bool>(ctx, inputs, outputs, "And", kCheap,
                          [](bool x, bool y) { return x & y; });
}

void orKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<bool>(ctx, inputs, outputs, "Or", kCheap,
                          [](bool x, bool y) { return x | y; });
}

void xorKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<bool>(ctx, inputs, outputs, "Xor", kCheap,
                          [](bool x, bool y) { return x != y; });
}

void notKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<bool>(ctx, inputs, outputs, "Not", kCheap, [](bool x) { return !x; });
}

/// A float -> bool test.
template <typename Op>
void runFloatTest(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs,
                  const char *opName, const Op &op) {
  checkInputCount(inputs, 1, 1, opName);
  const Tensor &x = inputs[0];
  dispatchDType<DS_FLOAT_TYPES>(x.dtype(), opName, [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out(DType::Bool, x.shape());
    mapUnary(ctx.pool, x.data<T>(), out.mutableData<bool>(), x.numel(), kCheap,
             [&](T v) -> bool { return op(v); });
    outputs.push_back(std::move(out));
  });
}

void isNanKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runFloatTest(ctx, inputs, outputs, "IsNaN", [](auto v) { return v != v; });
}

void isInfKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  bool positive = ctx.attrs.getInt("detect_positive", 1) != 0;
  bool negative = ctx.attrs.getInt("detect_negative", 1) != 0;
  runFloatTest(ctx, inputs, outputs, "IsInf", [positive, negative](auto v) {
    using T = decltype(v);
    const T inf = std::numeric_limits<T>::infinity();
    return (positive && v == inf) || (negative && v == -inf);
  });
}

} // namespace

DS_REGISTER_KERNEL("equal", equalKernel);
DS_REGISTER_KERNEL("less", lessKernel);
DS_REGISTER_KERNEL("less_or_equal", lessOrEqualKernel);
DS_REGISTER_KERNEL("greater", greaterKernel);
DS_REGISTER_KERNEL("greater_or_equal", greaterOrEqualKernel);
DS_REGISTER_KERNEL("and", andKernel);
DS_REGISTER_KERNEL("or", orKernel);
DS_REGISTER_KERNEL("xor", xorKernel);
DS_REGISTER_KERNEL("not", notKernel);
DS_REGISTER_KERNEL("is_nan", isNanKernel);
DS_REGISTER_KERNEL("is_inf", isInfKernel);

} // namespace ds::rt
