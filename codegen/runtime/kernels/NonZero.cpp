//===- NonZero.cpp - NonZero: coordinates of non-zero elements ------------===//
//
// Output is int64 [rank, count] in row-major element order, as numpy.nonzero.
// A scalar is treated as shape [1] (numpy does the same), giving [1, count].
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void nonZeroKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "NonZero");
  const Tensor &data = inputs[0];
  Shape shape = data.rank() == 0 ? Shape{1} : data.shape();
  int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<int64_t> positions;
  dispatchDType<DS_ALL_TYPES>(data.dtype(), "NonZero", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = data.data<T>();
    for (int64_t i = 0; i < data.numel(); ++i)
      if (src[i] != T(0))
        positions.push_back(i);
  });
  int64_t count = static_cast<int64_t>(positions.size());
  Tensor out(DType::I64, {rank, count});
  int64_t *dst = out.mutableData<int64_t>();
  for (int64_t c = 0; c < count; ++c) {
    int64_t linear = positions[static_cast<size_t>(c)];
    for (int64_t d = rank - 1; d >= 0; --d) {
      int64_t dim = shape[static_cast<size_t>(d)];
      dst[d * count + c] = linear % dim;
      linear /= dim;
    }
  }
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("non_zero", nonZeroKernel);

} // namespace ds::rt
