//===- Reshape.cpp - Reshape, Squeeze, Unsqueeze, Flatten -----------------===//
//
// These only change the shape: the result aliases the input's storage through
// Tensor::reshaped, no element is copied (tensors are immutable once produced).
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void reshapeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Reshape");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Reshape");
  std::vector<int64_t> requested = shapeInput(inputs[1], "shape");
  bool allowZero = ctx.attrs.getInt("allowzero", 0) != 0;
  Shape out(requested.size());
  int64_t inferAt = -1, known = 1;
  for (size_t i = 0; i < requested.size(); ++i) {
    int64_t d = requested[i];
    if (d == -1) {
      DS_CHECK(inferAt < 0, "shape " + shapeToString(requested) + " has more than one -1");
      inferAt = static_cast<int64_t>(i);
      continue;
    }
    DS_CHECK(d >= 0, "shape " + shapeToString(requested) + " has a negative dimension");
    if (d == 0 && !allowZero) {
      DS_CHECK(i < data.shape().size(), "shape " + shapeToString(requested) +
                                            " copies dimension " + std::to_string(i) +
                                            " of a rank-" + std::to_string(data.rank()) +
                                            " input");
      d = data.shape()[i];
    }
    out[i] = d;
    DS_CHECK(!__builtin_mul_overflow(known, d, &known),
             "shape " + shapeToString(requested) + " has more elements than int64 can count");
  }
  if (inferAt >= 0) {
    DS_CHECK(known != 0 && data.numel() % known == 0,
             "cannot reshape " + shapeToString(data.shape()) + " to " +
                 shapeToString(requested));
    out[static_cast<size_t>(inferAt)] = data.numel() / known;
  }
  DS_CHECK(shapeNumel(out) == data.numel(), "cannot reshape " + shapeToString(data.shape()) +
                                                " to " + shapeToString(requested));
  outputs.push_back(data.reshaped(std::move(out)));
}

void squeezeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "Squeeze");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Squeeze");
  bool present = false;
  std::vector<int64_t> axes = axesFromAttrOrInput(ctx, inputs, 1, "axes", present);
  std::vector<bool> drop(data.shape().size(), false);
  if (present) {
    for (int64_t a : normalizeAxes(axes, data.rank())) {
      DS_CHECK(data.dim(a) == 1, "cannot squeeze axis " + std::to_string(a) + " of shape " +
                                     shapeToString(data.shape()) + ": size is not 1");
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t i = 0; i < drop.size(); ++i)
      drop[i] = data.shape()[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i])
      out.push_back(data.shape()[i]);
  outputs.push_back(data.reshaped(std::move(out)));
}

void unsqueezeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "Unsqueeze");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Unsqueeze");
  bool present = false;
  std::vector<int64_t> axes = axesFromAttrOrInput(ctx, inputs, 1, "axes", present);
  DS_CHECK(present, "missing 'axes'");
  int64_t outRank = data.rank() + static_cast<int64_t>(axes.size());
  // One vector: inserted axes marked -1 first, then every dim filled in order.
  Shape out(static_cast<size_t>(outRank), 0);
  for (int64_t a : normalizeAxes(std::move(axes), outRank))
    out[static_cast<size_t>(a)] = -1;
  size_t next = 0;
  for (int64_t &d : out)
    d = d == -1 ? 1 : data.shape()[next++];
  outputs.push_back(data.reshaped(std::move(out)));
}

void flattenKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Flatten");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Flatten");
  int64_t rank = data.rank();
  int64_t axis = ctx.attrs.getInt("axis", 1);
  DS_CHECK(axis >= -rank && axis <= rank, "axis " + std::to_string(axis) +
                                              " is out of range for rank " +
                                              std::to_string(rank));
  if (axis < 0)
    axis += rank;
  const Shape &s = data.shape();
  Shape out{product(s, 0, static_cast<size_t>(axis)),
            product(s, static_cast<size_t>(axis), s.size())};
  outputs.push_back(data.reshaped(std::move(out)));
}

} // namespace

DS_REGISTER_KERNEL("reshape", reshapeKernel);
DS_REGISTER_KERNEL("squeeze", squeezeKernel);
DS_REGISTER_KERNEL("unsqueeze", unsqueezeKernel);
DS_REGISTER_KERNEL("flatten", flattenKernel);

} // namespace ds::rt
