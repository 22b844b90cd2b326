//===- Generators.cpp - ConstantOfShape, Range, EyeLike -------------------===//
//
// Kernels whose output values come from attributes or scalars rather than from
// an input tensor's elements.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

#include <cmath>

namespace ds::rt {
namespace {
using namespace movement;

void constantOfShapeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                           std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "ConstantOfShape");
  // An empty 1-D shape means a scalar output.
  std::vector<int64_t> shape = shapeInput(inputs[0], "shape");
  for (int64_t d : shape)
    DS_CHECK(d >= 0, "shape " + shapeToString(shape) + " has a negative dimension");
  Tensor value;
  if (ctx.attrs.has("value")) {
    value = ctx.attrs.getTensor("value");
    DS_CHECK(value.numel() == 1, "'value' must hold exactly one element");
  } else {
    value = Tensor(DType::F32, {1}); // ONNX default: float 0
  }
  Tensor out(value.dtype(), shape);
  dispatchBySize(value.dtype(), "ConstantOfShape", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    std::memcpy(&v, value.rawData(), sizeof(T));
    T *dst = static_cast<T *>(out.mutableRawData());
    for (int64_t i = 0; i < out.numel(); ++i)
      dst[i] = v;
  });
  outputs.push_back(std::move(out));
}

void rangeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "Range");
  DType dtype = inputs[0].dtype();
  for (const Tensor &t : inputs) {
    DS_CHECK(t.dtype() == dtype, "Range inputs have different element types");
    DS_CHECK(t.numel() == 1, "Range inputs must be scalars");
  }
  dispatchDType<float, double, int16_t, int32_t, int64_t>(dtype, "Range", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T start = inputs[0].data<T>()[0], limit = inputs[1].data<T>()[0],
      delta = inputs[2].data<T>()[0];
    DS_CHECK(delta != T(0), "Range delta must not be 0");
    int64_t n;
    if constexpr (std::is_floating_point_v<T>) {
      DS_CHECK(std::isfinite(start) && std::isfinite(limit) && std::isfinite(delta),
               "Range inputs must be finite");
      double count = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                               static_cast<double>(delta));
      DS_CHECK(count < 9.0e15, "Range would produce too many elements");
      n = count > 0 ? static_cast<int64_t>(count) : 0;
    } else {
      // long double (64-bit mantissa on x86-64) holds any int64 difference exactly.
      long double span = static_cast<long double>(limit) - static_cast<long double>(start);
      long double count = std::ceil(span / static_cast<long double>(delta));
      n = count > 0 ? static_cast<int64_t>(count) : 0;
    }
    Tensor out(dtype, {n});
    T *dst = out.mutableData<T>();
    for (int64_t i = 0; i < n; ++i)
      dst[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    outputs.push_back(std::move(out));
  });
}

void eyeLikeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "EyeLike");
  const Tensor &input = inputs[0];
  DS_CHECK(input.rank() == 2, "EyeLike input must be 2-D, got shape " +
                                  shapeToString(input.shape()));
  DType dtype = ctx.attrs.has("dtype")
                    ? static_cast<DType>(ctx.attrs.getInt("dtype", 1))
                    : input.dtype();
  int64_t k = ctx.attrs.getInt("k", 0);
  Tensor out(dtype, input.shape());
  dispatchDType<DS_ALL_TYPES>(dtype, "EyeLike", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T *dst = out.mutableData<T>();
    int64_t rows = input.dim(0), cols = input.dim(1);
    for (int64_t i = 0; i < rows; ++i) {
      int64_t j = i + k;
      if (j >= 0 && j < cols)
        dst[i * cols + j] = T(1);
    }
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("constant_of_shape", constantOfShapeKernel);
DS_REGISTER_KERNEL("range", rangeKernel);
DS_REGISTER_KERNEL("eye_like", eyeLikeKernel);

} // namespace ds::rt
