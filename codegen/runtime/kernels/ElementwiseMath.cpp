//===- ElementwiseMath.cpp - unary math: exp, log, trig, rounding, sign ---===//
//
// One-input ops that are plain <cmath> functions. ONNX defines most of them for
// floating types only; Abs, Neg and Sign also take integers. Round is half to
// even (std::nearbyint in the default rounding mode), as ONNX specifies.
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseFastMath.h"
#include "ElementwiseUtil.h"

#include <cmath>
#include <type_traits>

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

/// Defines and registers a float/double kernel `name` computing `expr` of `x`.
#define DS_UNARY_FLOAT_KERNEL(name, title, cost, ...)                          \
  void title##Kernel(const KernelContext &ctx, KernelArgs inputs,              \
                     std::vector<Tensor> &outputs) {                           \
    runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, #title, cost, [](auto x) {  \
      using T = decltype(x);                                                   \
      (void)sizeof(T);                                                         \
      return __VA_ARGS__;                                                      \
    });                                                                        \
  }                                                                            \
  DS_REGISTER_KERNEL(name, title##Kernel);

// float32 exp is the vectorizable polynomial; double uses libm.
DS_UNARY_FLOAT_KERNEL("exp", Exp, kTranscendental,
                      [x] {
                        if constexpr (std::is_same_v<T, float>)
                          return fastExp(x);
                        else
                          return std::exp(x);
                      }())
DS_UNARY_FLOAT_KERNEL("log", Log, kTranscendental, std::log(x))
DS_UNARY_FLOAT_KERNEL("sqrt", Sqrt, kCheap, std::sqrt(x))
DS_UNARY_FLOAT_KERNEL("reciprocal", Reciprocal, kCheap, T(1) / x)
DS_UNARY_FLOAT_KERNEL("erf", Erf, kTranscendental, std::erf(x))
DS_UNARY_FLOAT_KERNEL("sin", Sin, kTranscendental, std::sin(x))
DS_UNARY_FLOAT_KERNEL("cos", Cos, kTranscendental, std::cos(x))
DS_UNARY_FLOAT_KERNEL("tan", Tan, kTranscendental, std::tan(x))
DS_UNARY_FLOAT_KERNEL("asin", Asin, kTranscendental, std::asin(x))
DS_UNARY_FLOAT_KERNEL("acos", Acos, kTranscendental, std::acos(x))
DS_UNARY_FLOAT_KERNEL("atan", Atan, kTranscendental, std::atan(x))
DS_UNARY_FLOAT_KERNEL("sinh", Sinh, kTranscendental, std::sinh(x))
DS_UNARY_FLOAT_KERNEL("cosh", Cosh, kTranscendental, std::cosh(x))
DS_UNARY_FLOAT_KERNEL("asinh", Asinh, kTranscendental, std::asinh(x))
DS_UNARY_FLOAT_KERNEL("acosh", Acosh, kTranscendental, std::acosh(x))
DS_UNARY_FLOAT_KERNEL("atanh", Atanh, kTranscendental, std::atanh(x))
DS_UNARY_FLOAT_KERNEL("floor", Floor, kCheap, std::floor(x))
DS_UNARY_FLOAT_KERNEL("ceil", Ceil, kCheap, std::ceil(x))
DS_UNARY_FLOAT_KERNEL("round", Round, kCheap, std::nearbyint(x))

#undef DS_UNARY_FLOAT_KERNEL

/// Two's-complement negation that wraps (INT_MIN stays INT_MIN) instead of
/// overflowing, for the signed integer cases of Abs and Neg.
template <typename T> T wrappingNeg(T v) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(U(0) - static_cast<U>(v));
  } else {
    return -v;
  }
}

void absKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Abs", kCheap, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>)
      return std::fabs(x);
    else if constexpr (std::is_unsigned_v<T>)
      return x;
    else
      return x < 0 ? wrappingNeg(x) : x;
  });
}

void negKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  // ONNX allows Neg on signed types only.
  runUnary<DS_FLOAT_TYPES, int8_t, int16_t, int32_t, int64_t>(
      ctx, inputs, outputs, "Neg", kCheap, [](auto x) { return wrappingNeg(x); });
}

void signKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Sign", kCheap, [](auto x) {
    using T = decltype(x);
    // NaN falls through both comparisons and stays NaN (as numpy.sign).
    if constexpr (std::is_unsigned_v<T>)
      return x > T(0) ? T(1) : T(0);
    else
      return x > T(0) ? T(1) : (x < T(0) ? static_cast<T>(-1) : x);
  });
}

} // namespace

DS_REGISTER_KERNEL("abs", absKernel);
DS_REGISTER_KERNEL("neg", negKernel);
DS_REGISTER_KERNEL("sign", signKernel);

} // namespace ds::rt
