//===- Tile.cpp - Tile: repeat the input along every axis -----------------===//
//
// Output [r0*d0, r1*d1, ...] is the row-major view [r0, d0, r1, d1, ...] of the
// input read with strides [0, s0, 0, s1, ...], i.e. one stridedCopy; the inner
// dim is a memcpy run whenever it is not repeated.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void tileKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Tile");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Tile");
  std::vector<int64_t> repeats = shapeInput(inputs[1], "repeats");
  DS_CHECK(static_cast<int64_t>(repeats.size()) == data.rank(),
           "repeats has " + std::to_string(repeats.size()) + " entries for a rank-" +
               std::to_string(data.rank()) + " input");
  Shape outShape, viewDims;
  std::vector<int64_t> viewStrides, inStrides = rowMajorStrides(data.shape());
  for (size_t i = 0; i < repeats.size(); ++i) {
    DS_CHECK(repeats[i] >= 0, "repeats has a negative entry");
    outShape.push_back(data.shape()[i] * repeats[i]);
    viewDims.insert(viewDims.end(), {repeats[i], data.shape()[i]});
    viewStrides.insert(viewStrides.end(), {0, inStrides[i]});
  }
  Tensor out(data.dtype(), outShape);
  if (out.numel() > 0)
    dispatchBySize(data.dtype(), "Tile", [&](auto tag) {
      using T = typename decltype(tag)::type;
      stridedCopy<T>(ctx.pool, viewDims, viewStrides, 0,
                     static_cast<const T *>(data.rawData()),
                     static_cast<T *>(out.mutableRawData()));
    });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("tile", tileKernel);

} // namespace ds::rt
