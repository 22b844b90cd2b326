//===- CumSum.cpp - the cum_sum kernel ------------------------------------===//
//
// Running sums along the axis given as the second input (a scalar int32/int64),
// with `exclusive` (each output excludes its own element) and `reverse` (sum from
// the end). Floats accumulate in double, integers wrap (through unsigned). The
// input is viewed as [outer, R, inner]; for inner > 1 whole rows are added at once
// so the loop runs along contiguous memory.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <type_traits>

namespace ds::rt {
namespace {

constexpr int64_t kInnerBlock = 256;

template <typename T>
using CumAcc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

template <typename T>
void cumSum(const T *x, T *y, int64_t outer, int64_t R, int64_t inner, bool exclusive,
            bool reverse, ThreadPool &pool) {
  using Acc = CumAcc<T>;
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  pool.parallelFor(outer * blocks,
                   std::max<int64_t>(1, 32768 / std::max<int64_t>(1, R * std::min(inner, kInnerBlock))),
                   [&](int64_t t0, int64_t t1) {
    Acc acc[kInnerBlock];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock;
      const int64_t width = std::min(kInnerBlock, inner - j0);
      std::fill(acc, acc + width, Acc(0));
      for (int64_t step = 0; step < R; ++step) {
        const int64_t r = reverse ? R - 1 - step : step;
        const T *src = x + (o * R + r) * inner + j0;
        T *dst = y + (o * R + r) * inner + j0;
        for (int64_t j = 0; j < width; ++j) {
          Acc v = static_cast<Acc>(src[j]);
          if (exclusive) {
            dst[j] = static_cast<T>(acc[j]);
            acc[j] += v;
          } else {
            acc[j] += v;
            dst[j] = static_cast<T>(acc[j]);
          }
        }
      }
    }
  });
}

void cumSumKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "CumSum");
  const Tensor &x = inputs[0], &axisTensor = inputs[1];
  DS_CHECK(axisTensor.numel() == 1 &&
               (axisTensor.dtype() == DType::I64 || axisTensor.dtype() == DType::I32),
           "axis must be a single int32/int64 value, got shape " +
               shapeToString(axisTensor.shape()));
  DS_CHECK(x.rank() >= 1, "input must have rank >= 1");
  const int64_t axis = normalizeAxis(axisTensor.getAsInt64(0), x.rank());
  const bool exclusive = ctx.attrs.getInt("exclusive", 0) != 0;
  const bool reverse = ctx.attrs.getInt("reverse", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      outer *= x.dim(d);
    if (d > axis)
      inner *= x.dim(d);
  }
  Tensor y(x.dtype(), x.shape());
  if (x.numel() > 0)
    dispatchDType<float, double, int32_t, int64_t, uint32_t, uint64_t>(
        x.dtype(), "CumSum", [&](auto tag) {
          using T = typename decltype(tag)::type;
          cumSum<T>(x.data<T>(), y.mutableData<T>(), outer, x.dim(axis), inner, exclusive,
                    reverse, ctx.pool);
        });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("cum_sum", cumSumKernel);

} // namespace ds::rt
