//===- Gather.cpp - Gather: pick slices along one axis by index -----------===//
//
// Viewed as data[outer, axisDim, inner], each (outer, index) pair copies one
// contiguous run of `inner` elements. Indices are validated (and negatives
// wrapped) before any element moves, so a bad index never reads out of bounds.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void gatherKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Gather");
  const Tensor &data = inputs[0], &indices = inputs[1];
  checkMovableDType(data.dtype(), "Gather");
  DS_CHECK(data.rank() >= 1, "Gather data must have rank >= 1");
  int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 0), data.rank());
  int64_t axisDim = data.dim(axis);
  std::vector<int64_t> idx = normalizedIndices(indices, axisDim);

  const Shape &s = data.shape();
  Shape outShape(s.begin(), s.begin() + axis);
  outShape.insert(outShape.end(), indices.shape().begin(), indices.shape().end());
  outShape.insert(outShape.end(), s.begin() + axis + 1, s.end());
  Tensor out(data.dtype(), outShape);
  int64_t outer = product(s, 0, static_cast<size_t>(axis));
  int64_t inner = product(s, static_cast<size_t>(axis) + 1, s.size());
  int64_t numIdx = static_cast<int64_t>(idx.size());
  if (out.numel() == 0) {
    outputs.push_back(std::move(out));
    return;
  }
  dispatchBySize(data.dtype(), "Gather", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(data.rawData());
    T *dst = static_cast<T *>(out.mutableRawData());
    parallelRange(ctx.pool, outer * numIdx, out.numel(), [&](int64_t begin, int64_t end) {
      for (int64_t job = begin; job < end; ++job) {
        int64_t o = job / numIdx, i = job % numIdx;
        const T *in = src + (o * axisDim + idx[static_cast<size_t>(i)]) * inner;
        T *outRun = dst + job * inner;
        if (inner == 1)
          *outRun = *in;
        else
          std::memcpy(outRun, in, static_cast<size_t>(inner) * sizeof(T));
      }
    });
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("gather", gatherKernel);

} // namespace ds::rt
