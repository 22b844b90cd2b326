//===- ElementwiseVariadic.cpp - Max, Min, Sum, Mean over 1..N inputs -----===//
//
// All inputs broadcast together. The inputs are folded left to right,
// ((x0 op x1) op x2) ..., each step a broadcasting binary loop, which is also
// the summation order ONNX Runtime uses. Max/Min propagate NaN as numpy's
// maximum/minimum (ONNX's reference) do. Mean is Sum divided by N.
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

/// Folds `op` over all inputs (one of Ts, all the same dtype).
template <typename... Ts, typename Op>
Tensor foldInputs(const KernelContext &ctx, KernelArgs inputs, const char *opName,
                  const Op &op) {
  DS_CHECK(!inputs.empty(), "expects at least one input");
  DType dtype = inputs[0].dtype();
  for (const Tensor &t : inputs) {
    DS_CHECK(!t.isAbsent(), "inputs must not be absent");
    DS_CHECK(t.dtype() == dtype, std::string("inputs have different element types: ") +
                                     dtypeName(dtype) + " and " + dtypeName(t.dtype()));
  }
  Tensor acc = inputs[0];
  dispatchDType<Ts...>(dtype, opName, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 1; i < inputs.size(); ++i)
      acc = broadcastBinary<T, T, T>(ctx.pool, acc, inputs[i], kCheap,
                                     [&](T x, T y) { return static_cast<T>(op(x, y)); });
  });
  // A single input is returned as is: tensors are immutable once produced.
  return acc;
}

template <typename T> bool isNan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return v != v;
  else
    return false;
}

void maxKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  outputs.push_back(foldInputs<DS_NUMERIC_TYPES>(ctx, inputs, "Max", [](auto x, auto y) {
    return ((x > y) | isNan(x)) ? x : y; // `|`, not `||`: keeps the loop vectorizable
  }));
}

void minKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  outputs.push_back(foldInputs<DS_NUMERIC_TYPES>(ctx, inputs, "Min", [](auto x, auto y) {
    return ((x < y) | isNan(x)) ? x : y;
  }));
}

void sumKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  outputs.push_back(foldInputs<DS_FLOAT_TYPES>(ctx, inputs, "Sum",
                                               [](auto x, auto y) { return x + y; }));
}

void meanKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  Tensor sum = foldInputs<DS_FLOAT_TYPES>(ctx, inputs, "Mean",
                                          [](auto x, auto y) { return x + y; });
  Tensor out(sum.dtype(), sum.shape());
  dispatchDType<DS_FLOAT_TYPES>(sum.dtype(), "Mean", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T n = static_cast<T>(inputs.size());
    mapUnary(ctx.pool, sum.data<T>(), out.mutableData<T>(), sum.numel(), kCheap,
             [n](T v) { return v / n; });
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("max", maxKernel);
DS_REGISTER_KERNEL("min", minKernel);
DS_REGISTER_KERNEL("sum", sumKernel);
DS_REGISTER_KERNEL("mean", meanKernel);

} // namespace ds::rt
