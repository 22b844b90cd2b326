//===- Expand.cpp - Expand: numpy broadcast to a requested shape ----------===//
//
// The output shape is broadcast(input.shape, shape), so a requested 1 keeps the
// input's dim and a shorter request is right-aligned. Broadcast dims read with
// stride 0 through stridedCopy.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void expandKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Expand");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Expand");
  std::vector<int64_t> requested = shapeInput(inputs[1], "shape");
  for (int64_t d : requested)
    DS_CHECK(d >= 0, "shape " + shapeToString(requested) + " has a negative dimension");
  Shape outShape = broadcastShapes(data.shape(), requested);
  Tensor out = Tensor::uninitialized(data.dtype(), outShape); // stridedCopy writes all
  if (out.numel() > 0)
    dispatchBySize(data.dtype(), "Expand", [&](auto tag) {
      using T = typename decltype(tag)::type;
      stridedCopy<T>(ctx.pool, outShape, broadcastStrides(data.shape(), outShape), 0,
                     static_cast<const T *>(data.rawData()),
                     static_cast<T *>(out.mutableRawData()));
    });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("expand", expandKernel);

} // namespace ds::rt
