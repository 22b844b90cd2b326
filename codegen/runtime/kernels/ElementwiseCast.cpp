//===- ElementwiseCast.cpp - Cast and CastLike ----------------------------===//
//
// Conversions between the numeric types and bool. Floating -> integer truncates
// toward zero; NaN and out-of-range values (undefined in ONNX) give 0 and the
// saturated bound instead of C++'s undefined behaviour. Anything -> bool is
// "!= 0" (NaN is true); bool -> number is 0/1; integer -> narrower integer
// wraps. 'saturate' only concerns float8 targets, which are not supported, so
// it is ignored. Casting to the input's own type returns the input. float16 and
// bfloat16 go through float (exact widening; narrowing rounds to nearest even,
// numerics/Half.h), as ONNX Runtime's CPU Cast does.
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseUtil.h"

#include "ds/runtime/numerics/Half.h"

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

/// One element, From -> To, with the rules above.
template <typename To, typename From> To convert(From v) {
  if constexpr (std::is_same_v<To, bool>)
    return v != From(0);
  else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>)
    return saturatingCast<To>(v);
  else
    return static_cast<To>(v);
}

/// The ONNX dtype number `to` as a DType the kernels support, or an error.
DType targetDType(int64_t to) {
  switch (to) {
  case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 10: case 11: case 12:
  case 13: case 16:
    return static_cast<DType>(to);
  case 8: throw Error("cast to string is not supported");
  case 17: case 18: case 19: case 20:
    throw Error("cast to float8 types is not supported");
  default:
    throw Error("'to' is not a supported element type: " + std::to_string(to));
  }
}

bool isHalf(DType t) { return t == DType::F16 || t == DType::BF16; }

/// float16/bfloat16 <-> float, element by element.
Tensor convertHalf(ThreadPool &pool, const Tensor &input, DType target) {
  Tensor out = Tensor::uninitialized(target, input.shape());
  const int64_t n = input.numel();
  // 16-bit floats have no C++ element type here: their bits travel as uint16_t.
  const auto *bits = static_cast<const uint16_t *>(input.rawData());
  auto *outBits = static_cast<uint16_t *>(out.mutableRawData());
  if (input.dtype() == DType::F16)
    mapUnary(pool, bits, out.mutableData<float>(), n, kCheap,
             [](uint16_t v) { return numerics::halfToFloat(v); });
  else if (input.dtype() == DType::BF16)
    mapUnary(pool, bits, out.mutableData<float>(), n, kCheap,
             [](uint16_t v) { return numerics::bf16ToFloat(v); });
  else if (target == DType::F16)
    mapUnary(pool, input.data<float>(), outBits, n, kCheap,
             [](float v) { return numerics::floatToHalf(v); });
  else
    mapUnary(pool, input.data<float>(), outBits, n, kCheap,
             [](float v) { return numerics::floatToBf16(v); });
  return out;
}

Tensor castTensor(ThreadPool &pool, const Tensor &input, DType target, const char *opName) {
  if (input.dtype() == target)
    return input;
  if (isHalf(input.dtype())) {
    Tensor wide = convertHalf(pool, input, DType::F32);
    return target == DType::F32 ? wide : castTensor(pool, wide, target, opName);
  }
  if (isHalf(target))
    return convertHalf(pool, input.dtype() == DType::F32 ? input
                                                         : castTensor(pool, input, DType::F32, opName),
                       target);
  Tensor out(target, input.shape());
  dispatchDType<DS_ALL_TYPES>(input.dtype(), opName, [&](auto fromTag) {
    using From = typename decltype(fromTag)::type;
    dispatchDType<DS_ALL_TYPES>(target, opName, [&](auto toTag) {
      using To = typename decltype(toTag)::type;
      mapUnary(pool, input.data<From>(), out.mutableData<To>(), input.numel(), kCheap,
               [](From v) { return convert<To>(v); });
    });
  });
  return out;
}

void castKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Cast");
  DS_CHECK(ctx.attrs.has("to"), "missing required attribute 'to'");
  DType target = targetDType(ctx.attrs.getInt("to", 0));
  outputs.push_back(castTensor(ctx.pool, inputs[0], target, "Cast"));
}

void castLikeKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "CastLike");
  DType target = targetDType(static_cast<int64_t>(inputs[1].dtype()));
  outputs.push_back(castTensor(ctx.pool, inputs[0], target, "CastLike"));
}

} // namespace

DS_REGISTER_KERNEL("cast", castKernel);
DS_REGISTER_KERNEL("cast_like", castLikeKernel);

} // namespace ds::rt
