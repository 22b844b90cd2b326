//===- ElementwiseBitwise.cpp - BitwiseAnd/Or/Xor/Not and BitShift --------===//
//
// Integer-only ops. BitShift (unsigned types, as ONNX specifies) defines shifts
// by the type's width or more as 0, where C++ leaves them undefined.
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

void bitwiseAndKernel(const KernelContext &ctx, KernelArgs inputs,
                      std::vector<Tensor> &outputs) {
  runBinarySameType<DS_INT_TYPES>(ctx, inputs, outputs, "BitwiseAnd", kCheap,
                                  [](auto x, auto y) { return x & y; });
}

void bitwiseOrKernel(const KernelContext &ctx, KernelArgs inputs,
                     std::vector<Tensor> &outputs) {
  runBinarySameType<DS_INT_TYPES>(ctx, inputs, outputs, "BitwiseOr", kCheap,
                                  [](auto x, auto y) { return x | y; });
}

void bitwiseXorKernel(const KernelContext &ctx, KernelArgs inputs,
                      std::vector<Tensor> &outputs) {
  runBinarySameType<DS_INT_TYPES>(ctx, inputs, outputs, "BitwiseXor", kCheap,
                                  [](auto x, auto y) { return x ^ y; });
}

void bitwiseNotKernel(const KernelContext &ctx, KernelArgs inputs,
                      std::vector<Tensor> &outputs) {
  runUnary<DS_INT_TYPES>(ctx, inputs, outputs, "BitwiseNot", kCheap,
                         [](auto x) { return ~x; });
}

void bitShiftKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  std::string direction = ctx.attrs.getString("direction", "");
  DS_CHECK(direction == "LEFT" || direction == "RIGHT",
           "'direction' must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\"");
  bool left = direction == "LEFT";
  runBinarySameType<uint8_t, uint16_t, uint32_t, uint64_t>(
      ctx, inputs, outputs, "BitShift", kCheap, [left](auto x, auto y) {
        using T = decltype(x);
        constexpr T kBits = static_cast<T>(sizeof(T) * 8);
        // Promotion to int for narrow types is harmless: the result is truncated to T.
        T shifted = left ? static_cast<T>(x << (y % kBits)) : static_cast<T>(x >> (y % kBits));
        return y >= kBits ? T(0) : shifted;
      });
}

} // namespace

DS_REGISTER_KERNEL("bitwise_and", bitwiseAndKernel);
DS_REGISTER_KERNEL("bitwise_or", bitwiseOrKernel);
DS_REGISTER_KERNEL("bitwise_xor", bitwiseXorKernel);
DS_REGISTER_KERNEL("bitwise_not", bitwiseNotKernel);
DS_REGISTER_KERNEL("bit_shift", bitShiftKernel);

} // namespace ds::rt
