//===- ArgMinMax.cpp - the arg_max and arg_min kernels --------------------===//
//
// int64 index of the largest (smallest) element along `axis` (default 0), with
// keepdims (default 1) and select_last_index (default 0: the first of equal
// values wins). NaN counts as the extreme value, as in numpy.argmax/argmin.
// The input is viewed as [outer, R, inner]; for inner > 1 whole rows are
// compared at once so the loop runs along contiguous memory.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <type_traits>

namespace ds::rt {
namespace {

constexpr int64_t kInnerBlock = 256;

template <typename T> bool isNan(T x) {
  if constexpr (std::is_floating_point_v<T>)
    return x != x;
  else
    return false;
}

/// Whether `x` (at a later index) replaces the current best.
template <typename T, bool IsMax, bool SelectLast> bool replaces(T x, T best) {
  if (isNan(best))
    return SelectLast && isNan(x);
  if (isNan(x))
    return true;
  if constexpr (SelectLast)
    return IsMax ? x >= best : x <= best;
  else
    return IsMax ? x > best : x < best;
}

template <typename T, bool IsMax, bool SelectLast>
void argReduce(const T *x, int64_t *y, int64_t outer, int64_t R, int64_t inner,
               ThreadPool &pool) {
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  const int64_t blockCost = R * std::min(inner, kInnerBlock);
  pool.parallelFor(outer * blocks, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, blockCost)),
                   [&](int64_t t0, int64_t t1) {
                     T best[kInnerBlock];
                     for (int64_t t = t0; t < t1; ++t) {
                       int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock;
                       int64_t width = std::min(kInnerBlock, inner - j0);
                       const T *base = x + o * R * inner + j0;
                       int64_t *out = y + o * inner + j0;
                       for (int64_t j = 0; j < width; ++j) {
                         best[j] = base[j];
                         out[j] = 0;
                       }
                       for (int64_t r = 1; r < R; ++r) {
                         const T *row = base + r * inner;
                         for (int64_t j = 0; j < width; ++j)
                           if (replaces<T, IsMax, SelectLast>(row[j], best[j])) {
                             best[j] = row[j];
                             out[j] = r;
                           }
                       }
                     }
                   });
}

template <bool IsMax>
void argKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
               std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, IsMax ? "ArgMax" : "ArgMin");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() >= 1, "input must have rank >= 1");
  const int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 0), x.rank());
  const bool keepDims = ctx.attrs.getInt("keepdims", 1) != 0;
  const bool selectLast = ctx.attrs.getInt("select_last_index", 0) != 0;
  const int64_t R = x.dim(axis);
  int64_t outer = 1, inner = 1;
  Shape outShape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      outer *= x.dim(d);
    if (d > axis)
      inner *= x.dim(d);
    if (d != axis)
      outShape.push_back(x.dim(d));
    else if (keepDims)
      outShape.push_back(1);
  }
  Tensor y(DType::I64, outShape);
  if (y.numel() > 0) {
    DS_CHECK(R > 0, "cannot take the arg extremum of an empty axis");
    dispatchDType<DS_NUMERIC_TYPES, bool>(x.dtype(), IsMax ? "ArgMax" : "ArgMin",
                                          [&](auto tag) {
      using T = typename decltype(tag)::type;
      int64_t *out = y.mutableData<int64_t>();
      if (selectLast)
        argReduce<T, IsMax, true>(x.data<T>(), out, outer, R, inner, ctx.pool);
      else
        argReduce<T, IsMax, false>(x.data<T>(), out, outer, R, inner, ctx.pool);
    });
  }
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("arg_max", argKernel<true>);
DS_REGISTER_KERNEL("arg_min", argKernel<false>);

} // namespace ds::rt
