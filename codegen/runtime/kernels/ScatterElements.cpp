//===- ScatterElements.cpp - ScatterElements (and the deprecated Scatter) ===//
//
// output = copy of data; output[i0..indices[i]..in] (op)= updates[i] for each
// position i of indices/updates (same shape, same rank as data, no larger than
// data outside the axis). Scatter (opset 9-10, deprecated in 11) has the same
// meaning without 'reduction' and is registered as an alias.
//===----------------------------------------------------------------------===//
#include "MovementScatter.h"

namespace ds::rt {
namespace {
using namespace movement;

void scatterElementsKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                           std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "ScatterElements");
  const Tensor &data = inputs[0], &indices = inputs[1], &updates = inputs[2];
  checkMovableDType(data.dtype(), "ScatterElements");
  DS_CHECK(updates.dtype() == data.dtype(), "updates and data have different element types");
  ScatterReduction reduction = parseScatterReduction(ctx.attrs);
  int64_t rank = data.rank();
  DS_CHECK(rank >= 1, "ScatterElements data must have rank >= 1");
  DS_CHECK(indices.shape() == updates.shape(), "indices shape " +
                                                   shapeToString(indices.shape()) +
                                                   " differs from updates shape " +
                                                   shapeToString(updates.shape()));
  DS_CHECK(indices.rank() == rank, "indices rank " + std::to_string(indices.rank()) +
                                       " differs from data rank " + std::to_string(rank));
  int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 0), rank);
  for (int64_t d = 0; d < rank; ++d)
    DS_CHECK(d == axis || indices.dim(d) <= data.dim(d),
             "indices shape " + shapeToString(indices.shape()) + " exceeds data shape " +
                 shapeToString(data.shape()) + " outside the axis");
  std::vector<int64_t> idx = normalizedIndices(indices, data.dim(axis));
  std::vector<int64_t> strides = rowMajorStrides(data.shape());
  int64_t axisStride = strides[static_cast<size_t>(axis)];
  strides[static_cast<size_t>(axis)] = 0;

  Tensor out = data.clone();
  dispatchScatter(data.dtype(), reduction, "ScatterElements", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *upd = static_cast<const T *>(updates.rawData());
    T *dst = static_cast<T *>(out.mutableRawData());
    withScatterCombine<T>(reduction, [&](auto combine) {
      StridedWalker walker(indices.shape(), strides, 0);
      for (int64_t i = 0; i < updates.numel(); ++i, walker.next())
        combine(dst[walker.offset() + idx[static_cast<size_t>(i)] * axisStride], upd[i]);
    });
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("scatter_elements", scatterElementsKernel);
DS_REGISTER_KERNEL("scatter", scatterElementsKernel);

} // namespace ds::rt
