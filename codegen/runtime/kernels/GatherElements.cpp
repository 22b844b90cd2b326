//===- GatherElements.cpp - GatherElements: per-element index along an axis ===//
//
// out[i0..ik..in] = data[i0..indices[i0..in]..in]. Indices may be smaller than
// data in non-axis dims (as onnxruntime allows), never larger.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void gatherElementsKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                          std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "GatherElements");
  const Tensor &data = inputs[0], &indices = inputs[1];
  checkMovableDType(data.dtype(), "GatherElements");
  int64_t rank = data.rank();
  DS_CHECK(rank >= 1, "GatherElements data must have rank >= 1");
  DS_CHECK(indices.rank() == rank, "indices rank " + std::to_string(indices.rank()) +
                                       " differs from data rank " + std::to_string(rank));
  int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 0), rank);
  for (int64_t d = 0; d < rank; ++d)
    DS_CHECK(d == axis || indices.dim(d) <= data.dim(d),
             "indices shape " + shapeToString(indices.shape()) + " exceeds data shape " +
                 shapeToString(data.shape()) + " outside the axis");
  std::vector<int64_t> idx = normalizedIndices(indices, data.dim(axis));
  Tensor out(data.dtype(), indices.shape());
  if (out.numel() == 0) {
    outputs.push_back(std::move(out));
    return;
  }
  std::vector<int64_t> strides = rowMajorStrides(data.shape());
  int64_t axisStride = strides[static_cast<size_t>(axis)];
  strides[static_cast<size_t>(axis)] = 0;
  dispatchBySize(data.dtype(), "GatherElements", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(data.rawData());
    T *dst = static_cast<T *>(out.mutableRawData());
    parallelRange(ctx.pool, out.numel(), out.numel(), [&](int64_t begin, int64_t end) {
      StridedWalker walker(indices.shape(), strides, 0);
      walker.seek(begin);
      for (int64_t i = begin; i < end; ++i, walker.next())
        dst[i] = src[walker.offset() + idx[static_cast<size_t>(i)] * axisStride];
    });
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("gather_elements", gatherElementsKernel);

} // namespace ds::rt
