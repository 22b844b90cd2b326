//===- ElementwiseArith.cpp - Add, Sub, Mul, Div, Pow, Mod, PRelu ---------===//
//
// Binary arithmetic with numpy broadcasting. Integer semantics, where C++ would
// be undefined, are pinned down here:
//  - +, -, * wrap (two's complement);
//  - Div truncates toward zero (ONNX's reference divides and casts back);
//    INT_MIN / -1 wraps to INT_MIN; a zero divisor is an error, not SIGFPE;
//  - Mod with fmod=0 takes the divisor's sign (Python), fmod=1 the dividend's
//    (C); a zero divisor is an error. Floating Mod is always fmod, as ONNX's
//    reference computes it for either attribute value;
//  - Pow keeps the base's dtype; integer ** integer is exact (wrapping) and a
//    negative exponent truncates 1/base^n toward zero.
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseUtil.h"

#include <cmath>
#include <type_traits>

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

void addKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Add", kCheap,
                                      [](auto x, auto y) { return wrappingAdd(x, y); });
}

void subKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Sub", kCheap,
                                      [](auto x, auto y) { return wrappingSub(x, y); });
}

void mulKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runBinarySameType<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Mul", kCheap,
                                      [](auto x, auto y) { return wrappingMul(x, y); });
}

/// Throws when an integer divisor tensor holds a 0. Every divisor element is
/// used when the output is non-empty, so scanning up front keeps the loops free
/// of checks.
void checkNoZeroDivisor(const Tensor &divisor, int64_t outNumel, const char *what) {
  if (outNumel == 0)
    return;
  dispatchDType<DS_INT_TYPES>(divisor.dtype(), what, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *p = divisor.data<T>();
    DS_CHECK(std::find(p, p + divisor.numel(), T(0)) == p + divisor.numel(),
             std::string("integer ") + what + " by zero");
  });
}

bool isIntegerDType(DType dtype) {
  switch (dtype) {
  case DType::I8: case DType::U8: case DType::I16: case DType::U16:
  case DType::I32: case DType::U32: case DType::I64: case DType::U64:
    return true;
  default:
    return false;
  }
}

int64_t broadcastNumel(const Tensor &a, const Tensor &b) {
  return shapeNumel(broadcastShapes(a.shape(), b.shape()));
}

void divKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Div");
  if (isIntegerDType(inputs[0].dtype()) && inputs[0].dtype() == inputs[1].dtype())
    checkNoZeroDivisor(inputs[1], broadcastNumel(inputs[0], inputs[1]), "division");
  runBinarySameType<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Div", kCheap, [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_signed_v<T> && std::is_integral_v<T>)
      return y == T(-1) ? wrappingSub(T(0), x) : static_cast<T>(x / y);
    else
      return static_cast<T>(x / y);
  });
}

void modKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Mod");
  int64_t fmod = ctx.attrs.getInt("fmod", 0);
  DS_CHECK(fmod == 0 || fmod == 1, "'fmod' must be 0 or 1, got " + std::to_string(fmod));
  if (isIntegerDType(inputs[0].dtype()) && inputs[0].dtype() == inputs[1].dtype())
    checkNoZeroDivisor(inputs[1], broadcastNumel(inputs[0], inputs[1]), "modulo");
  runBinarySameType<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Mod", kCheap, [fmod](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      return std::fmod(x, y);
    } else if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(x % y);
    } else {
      // x % -1 is 0, but INT_MIN % -1 traps on x86.
      T r = y == T(-1) ? T(0) : static_cast<T>(x % y);
      if (fmod == 0 && r != 0 && ((r < 0) != (y < 0)))
        r = static_cast<T>(r + y);
      return r;
    }
  });
}

/// base ** exponent for integer operands, by squaring, wrapping on overflow.
template <typename T, typename E> T integerPow(T base, E exponent) {
  if constexpr (std::is_signed_v<E>) {
    if (exponent < 0) {
      // 1 / base^n truncated toward zero; 0 ** negative is undefined, we give 0.
      if (base == T(1))
        return T(1);
      if constexpr (std::is_signed_v<T>)
        if (base == T(-1))
          return (exponent % 2 == 0) ? T(1) : T(-1);
      return T(0);
    }
  }
  T result = T(1);
  auto e = static_cast<std::make_unsigned_t<E>>(exponent);
  while (e) {
    if (e & 1)
      result = wrappingMul(result, base);
    base = wrappingMul(base, base);
    e >>= 1;
  }
  return result;
}

/// One element of Pow: the result has the base's type T.
template <typename T, typename E> T powElement(T x, E y) {
  if constexpr (std::is_floating_point_v<T>)
    return static_cast<T>(std::pow(x, static_cast<T>(y)));
  else if constexpr (std::is_integral_v<E>)
    return integerPow(x, y);
  else
    return saturatingCast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
}

/// Single-element float exponent equal to `value`?
bool isScalarExponent(const Tensor &exponent, double value) {
  return exponent.numel() == 1 &&
         (exponent.dtype() == DType::F32 || exponent.dtype() == DType::F64) &&
         exponent.getAsDouble(0) == value;
}

void powKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Pow");
  const Tensor &base = inputs[0], &exponent = inputs[1];
  // x ** 2 (the RMSNorm/variance pattern) as one multiply: the correctly rounded
  // square, which is what pow returns too.
  if (base.dtype() == DType::F32 && isScalarExponent(exponent, 2.0) &&
      broadcastShapes(base.shape(), exponent.shape()) == base.shape()) {
    Tensor out = Tensor::uninitialized(DType::F32, base.shape());
    mapUnary(ctx.pool, base.data<float>(), out.mutableData<float>(), base.numel(), kCheap,
             [](float v) { return v * v; });
    outputs.push_back(std::move(out));
    return;
  }
  dispatchDType<float, double, int32_t, int64_t>(base.dtype(), "Pow", [&](auto baseTag) {
    using T = typename decltype(baseTag)::type;
    dispatchDType<DS_NUMERIC_TYPES>(exponent.dtype(), "Pow", [&](auto expTag) {
      using E = typename decltype(expTag)::type;
      outputs.push_back(broadcastBinary<T, E, T>(
          ctx.pool, base, exponent, kTranscendental, [](T x, E y) { return powElement(x, y); }));
    });
  });
}

void preluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "PRelu");
  const Tensor &x = inputs[0], &slope = inputs[1];
  // The slope broadcasts to X unidirectionally: the result has X's shape.
  DS_CHECK(broadcastShapes(x.shape(), slope.shape()) == x.shape(),
           "slope of shape " + shapeToString(slope.shape()) +
               " does not broadcast to the input shape " + shapeToString(x.shape()));
  runBinarySameType<float, double, int32_t, int64_t, uint32_t, uint64_t>(
      ctx, inputs, outputs, "PRelu", kCheap, [](auto v, auto s) {
        using T = decltype(v);
        if constexpr (std::is_unsigned_v<T>)
          return v;
        else
          return v < T(0) ? wrappingMul(s, v) : v;
      });
}

} // namespace

DS_REGISTER_KERNEL("add", addKernel);
DS_REGISTER_KERNEL("sub", subKernel);
DS_REGISTER_KERNEL("mul", mulKernel);
DS_REGISTER_KERNEL("div", divKernel);
DS_REGISTER_KERNEL("mod", modKernel);
DS_REGISTER_KERNEL("pow", powKernel);
DS_REGISTER_KERNEL("prelu", preluKernel);

} // namespace ds::rt
