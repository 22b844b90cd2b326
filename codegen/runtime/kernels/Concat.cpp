//===- Concat.cpp - Concat as contiguous row copies -----------------------===//
//
// Viewed as [outer, axis*inner], every input contributes one contiguous run per
// outer row, so the copy is one memcpy per (row, input) and never looks at dtypes.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void concatKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  DS_CHECK(!inputs.empty(), "Concat needs at least one input");
  const Tensor &first = inputs[0];
  DS_CHECK(!first.isAbsent(), "Concat: input 0 is missing");
  checkMovableDType(first.dtype(), "Concat");
  int64_t rank = first.rank();
  DS_CHECK(rank >= 1, "Concat inputs must have rank >= 1");
  int64_t axis = normalizeAxis(ctx.attrs.requireInt("axis"), rank);
  Shape outShape = first.shape();
  outShape[static_cast<size_t>(axis)] = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor &in = inputs[k];
    DS_CHECK(!in.isAbsent(), "Concat: input " + std::to_string(k) + " is missing");
    DS_CHECK(in.dtype() == first.dtype(), "Concat inputs have different element types");
    DS_CHECK(in.rank() == rank, "Concat inputs have different ranks: " +
                                    shapeToString(first.shape()) + " and " +
                                    shapeToString(in.shape()));
    for (int64_t d = 0; d < rank; ++d)
      DS_CHECK(d == axis || in.dim(d) == first.dim(d),
               "Concat input shapes " + shapeToString(first.shape()) + " and " +
                   shapeToString(in.shape()) + " differ outside axis " +
                   std::to_string(axis));
    outShape[static_cast<size_t>(axis)] += in.dim(axis);
  }
  Tensor out = Tensor::uninitialized(first.dtype(), outShape); // rows tile the output
  size_t elem = dtypeSize(first.dtype());
  int64_t outer = product(outShape, 0, static_cast<size_t>(axis));
  int64_t inner = product(outShape, static_cast<size_t>(axis) + 1, outShape.size());
  int64_t outRow = outShape[static_cast<size_t>(axis)] * inner;
  std::vector<int64_t> rowBytes, offsets;
  rowBytes.reserve(inputs.size());
  offsets.reserve(inputs.size());
  int64_t offset = 0;
  for (const Tensor &in : inputs) {
    rowBytes.push_back(in.dim(axis) * inner * static_cast<int64_t>(elem));
    offsets.push_back(offset);
    offset += rowBytes.back();
  }
  char *dst = static_cast<char *>(out.mutableRawData());
  int64_t outRowBytes = outRow * static_cast<int64_t>(elem);
  parallelRange(ctx.pool, outer, out.numel(), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o)
      for (size_t k = 0; k < inputs.size(); ++k)
        if (rowBytes[k])
          std::memcpy(dst + o * outRowBytes + offsets[k],
                      static_cast<const char *>(inputs[k].rawData()) + o * rowBytes[k],
                      static_cast<size_t>(rowBytes[k]));
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("concat", concatKernel);

} // namespace ds::rt
