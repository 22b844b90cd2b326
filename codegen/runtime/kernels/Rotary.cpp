//===- Rotary.cpp - the rotary kernel (ds.rotary, from ds-fuse-rotary) -----===//
//
// y = x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x[..., h:],
// x[..., :h]) with h = D / 2: Llama-style rotary position embedding, which
// exporters spell as seven ops (two Slices, Neg, Concat, two Muls, Add) and
// four intermediate tensors. The same float operations in the same order
// (product, product, sum; no FMA), so the bits equal the unfused chain's.
// Rows are independent: the result does not depend on the thread count.
//
// Inputs: 0 x float [..., D], D even; 1 cos, 2 sin float [..., D], each
// broadcastable to x's shape without growing it. Output: float, x's shape.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>

namespace ds::rt {
namespace {

/// Offset of row r of `table` when read broadcast to `shape` (rows of D).
std::vector<int64_t> rowOffsets(const Tensor &table, const Shape &shape) {
  DS_CHECK(table.dtype() == DType::F32 && table.rank() >= 1 &&
               table.rank() <= static_cast<int64_t>(shape.size()) &&
               table.shape().back() == shape.back() &&
               broadcastShapes(table.shape(), shape) == shape,
           "rotary: cos/sin must be float [..., " + std::to_string(shape.back()) +
               "] broadcastable to " + shapeToString(shape) + ", got " +
               shapeToString(table.shape()));
  const std::vector<int64_t> strides = broadcastStrides(table.shape(), shape);
  const int64_t D = shape.back(), rows = D ? shapeNumel(shape) / D : 0;
  std::vector<int64_t> offsets(static_cast<size_t>(rows));
  // The usual case, a [L, D] table against [..., L, D]: once leading 1s are
  // dropped, the table's dims equal x's trailing dims, so it simply repeats.
  const int64_t tableRows = D ? table.numel() / D : 0;
  size_t lead = 0;
  while (lead + 1 < table.shape().size() && table.shape()[lead] == 1)
    ++lead;
  bool repeats = tableRows > 0;
  for (size_t i = lead; i < table.shape().size() && repeats; ++i)
    repeats = table.shape()[i] == shape[shape.size() - table.shape().size() + i];
  if (repeats) {
    for (int64_t r = 0, off = 0; r < rows; ++r, off = off + D == tableRows * D ? 0 : off + D)
      offsets[static_cast<size_t>(r)] = off;
    return offsets;
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rest = r, off = 0;
    for (size_t d = shape.size() - 1; d-- > 0;) {
      off += (rest % shape[d]) * strides[d];
      rest /= shape[d];
    }
    offsets[static_cast<size_t>(r)] = off;
  }
  return offsets;
}

__attribute__((optimize("fp-contract=off"))) void
rotateRow(const float *__restrict x, const float *__restrict c, const float *__restrict s,
          float *__restrict y, int64_t h) {
  for (int64_t j = 0; j < h; ++j)
    y[j] = x[j] * c[j] + (-x[j + h]) * s[j];
  for (int64_t j = h; j < 2 * h; ++j)
    y[j] = x[j] * c[j] + x[j - h] * s[j];
}

void rotaryKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "rotary");
  const Tensor &x = inputs[0], &cosT = inputs[1], &sinT = inputs[2];
  DS_CHECK(x.dtype() == DType::F32 && x.rank() >= 1,
           std::string("rotary: x must be float of rank >= 1, got ") + dtypeName(x.dtype()));
  const int64_t D = x.shape().back();
  DS_CHECK(D % 2 == 0, "rotary: the last dimension must be even, got " + std::to_string(D));
  const std::vector<int64_t> cosOff = rowOffsets(cosT, x.shape()),
                             sinOff = rowOffsets(sinT, x.shape());
  Tensor y = Tensor::uninitialized(DType::F32, x.shape()); // every row is written
  const float *in = x.data<float>(), *c = cosT.data<float>(), *s = sinT.data<float>();
  float *out = y.mutableData<float>();
  const int64_t rows = static_cast<int64_t>(cosOff.size());
  // Cheap per element: threads only pay off for large tensors.
  ctx.pool.parallelFor(rows, std::max<int64_t>(1, 65536 / std::max<int64_t>(D, 1)),
                       [&](int64_t r0, int64_t r1) {
                         for (int64_t r = r0; r < r1; ++r)
                           rotateRow(in + r * D, c + cosOff[static_cast<size_t>(r)],
                                     s + sinOff[static_cast<size_t>(r)], out + r * D, D / 2);
                       });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("rotary", rotaryKernel);

} // namespace ds::rt
