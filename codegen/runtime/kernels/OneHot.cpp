//===- OneHot.cpp - OneHot: indices to one-hot rows along a new axis ------===//
//
// Output dtype is that of 'values' ([off, on]); a new dim of size 'depth' is
// inserted at 'axis' (default -1, in [-r-1, r]). Indices may be any numeric type
// and are truncated to integers; negatives in [-depth, 0) wrap, anything else out
// of range yields an all-off row (the spec's rule, not an error).
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

#include <cmath>

namespace ds::rt {
namespace {
using namespace movement;

void oneHotKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "OneHot");
  const Tensor &indices = inputs[0], &depthIn = inputs[1], &values = inputs[2];
  DS_CHECK(depthIn.numel() == 1 && depthIn.rank() <= 1, "'depth' must be a scalar");
  double depthValue = depthIn.getAsDouble(0);
  DS_CHECK(std::isfinite(depthValue) && depthValue >= 1 && depthValue < 9.0e15,
           "'depth' must be a positive integer");
  int64_t depth = static_cast<int64_t>(depthValue);
  DS_CHECK(values.numel() == 2 && values.rank() == 1, "'values' must be [off_value, on_value]");
  checkMovableDType(values.dtype(), "OneHot");
  int64_t rank = indices.rank();
  int64_t axis = ctx.attrs.getInt("axis", -1);
  DS_CHECK(axis >= -rank - 1 && axis <= rank,
           "axis " + std::to_string(axis) + " is out of range for rank " +
               std::to_string(rank + 1));
  if (axis < 0)
    axis += rank + 1;
  const Shape &is = indices.shape();
  Shape outShape(is.begin(), is.begin() + axis);
  outShape.push_back(depth);
  outShape.insert(outShape.end(), is.begin() + axis, is.end());
  int64_t outer = product(is, 0, static_cast<size_t>(axis));
  int64_t inner = product(is, static_cast<size_t>(axis), is.size());

  // Class per index, or -1 for "all off".
  std::vector<int64_t> cls(static_cast<size_t>(indices.numel()));
  for (int64_t i = 0; i < indices.numel(); ++i) {
    double v = std::trunc(indices.getAsDouble(i));
    int64_t c = -1;
    if (v >= -static_cast<double>(depth) && v < static_cast<double>(depth))
      c = v < 0 ? static_cast<int64_t>(v) + depth : static_cast<int64_t>(v);
    cls[static_cast<size_t>(i)] = c;
  }
  Tensor out(values.dtype(), outShape);
  dispatchBySize(values.dtype(), "OneHot", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *vals = static_cast<const T *>(values.rawData());
    T off = vals[0], on = vals[1];
    T *dst = static_cast<T *>(out.mutableRawData());
    for (int64_t i = 0; i < out.numel(); ++i)
      dst[i] = off;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        int64_t c = cls[static_cast<size_t>(o * inner + j)];
        if (c >= 0)
          dst[(o * depth + c) * inner + j] = on;
      }
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("one_hot", oneHotKernel);

} // namespace ds::rt
