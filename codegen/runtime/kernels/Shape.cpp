//===- Shape.cpp - Shape and Size: a tensor's shape and element count as data ===//
//
// Neither kernel reads the input's elements, so any dtype (even ones other kernels
// reject) is accepted here.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {

void shapeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Shape");
  const Shape &shape = inputs[0].shape();
  int64_t rank = static_cast<int64_t>(shape.size());
  // Opset 15 start/end: negative counts from the back, then clamp to [0, rank].
  auto clampDim = [rank](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampDim(ctx.attrs.getInt("start", 0));
  int64_t end = ctx.attrs.has("end") ? clampDim(ctx.attrs.getInt("end", rank)) : rank;
  int64_t n = std::max<int64_t>(0, end - start);
  Tensor out(DType::I64, {n});
  int64_t *dst = out.mutableData<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    dst[i] = shape[static_cast<size_t>(start + i)];
  outputs.push_back(std::move(out));
}

void sizeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Size");
  Tensor out(DType::I64, {});
  out.mutableData<int64_t>()[0] = inputs[0].numel();
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("shape", shapeKernel);
DS_REGISTER_KERNEL("size", sizeKernel);

} // namespace ds::rt
