//===- TopK.cpp - the top_k kernel ----------------------------------------===//
//
// The k largest (largest=1, default) or smallest elements along `axis`
// (default -1) and their int64 indices; k is the second input (opset >= 10).
// Equal values keep the lower index first, and NaN orders above every number
// (as numpy's sort puts it last), so the order is total and the result unique.
// Results are always sorted; sorted=0 allows any order, so sorted is valid.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <type_traits>

namespace ds::rt {
namespace {

template <typename T> bool isNan(T x) {
  if constexpr (std::is_floating_point_v<T>)
    return x != x;
  else
    return false;
}

/// a > b with NaN above everything (two NaNs are equal).
template <typename T> bool greater(T a, T b) {
  if (isNan(a))
    return !isNan(b);
  if (isNan(b))
    return false;
  return a > b;
}

template <typename T>
void topK(const T *x, T *values, int64_t *indices, int64_t outer, int64_t R, int64_t inner,
          int64_t k, bool largest, ThreadPool &pool) {
  pool.parallelFor(outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(R, 1)),
                   [&](int64_t l0, int64_t l1) {
    std::vector<int64_t> order(static_cast<size_t>(R));
    std::vector<T> line(static_cast<size_t>(R));
    for (int64_t l = l0; l < l1; ++l) {
      const int64_t o = l / inner, j = l % inner;
      const T *src = x + o * R * inner + j;
      for (int64_t r = 0; r < R; ++r) {
        line[r] = src[r * inner];
        order[r] = r;
      }
      auto before = [&](int64_t a, int64_t b) {
        T va = line[a], vb = line[b];
        bool aFirst = largest ? greater(va, vb) : greater(vb, va);
        bool bFirst = largest ? greater(vb, va) : greater(va, vb);
        return aFirst || (!bFirst && a < b);
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      T *vOut = values + o * k * inner + j;
      int64_t *iOut = indices + o * k * inner + j;
      for (int64_t r = 0; r < k; ++r) {
        vOut[r * inner] = line[order[r]];
        iOut[r * inner] = order[r];
      }
    }
  });
}

void topKKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "TopK");
  const Tensor &x = inputs[0], &kTensor = inputs[1];
  DS_CHECK(x.rank() >= 1, "input must have rank >= 1");
  DS_CHECK(kTensor.numel() == 1 && (kTensor.dtype() == DType::I64 || kTensor.dtype() == DType::I32),
           "K must be a single int64 value, got shape " + shapeToString(kTensor.shape()));
  const int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", -1), x.rank());
  const bool largest = ctx.attrs.getInt("largest", 1) != 0;
  const int64_t R = x.dim(axis);
  const int64_t k = kTensor.getAsInt64(0);
  DS_CHECK(k >= 0 && k <= R, "K = " + std::to_string(k) + " is out of range for axis of size " +
                                 std::to_string(R));
  int64_t outer = 1, inner = 1;
  Shape outShape = x.shape();
  outShape[axis] = k;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      outer *= x.dim(d);
    if (d > axis)
      inner *= x.dim(d);
  }
  Tensor values(x.dtype(), outShape), indices(DType::I64, outShape);
  if (values.numel() > 0)
    dispatchDType<DS_NUMERIC_TYPES>(x.dtype(), "TopK", [&](auto tag) {
      using T = typename decltype(tag)::type;
      topK<T>(x.data<T>(), values.mutableData<T>(), indices.mutableData<int64_t>(), outer, R,
              inner, k, largest, ctx.pool);
    });
  outputs.push_back(std::move(values));
  outputs.push_back(std::move(indices));
}

} // namespace

DS_REGISTER_KERNEL("top_k", topKKernel);

} // namespace ds::rt
