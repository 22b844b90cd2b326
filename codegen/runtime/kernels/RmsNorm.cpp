//===- RmsNorm.cpp - the rms_norm kernel (ds.rms_norm, from ds-fuse-norms) -===//
//
// y = x / sqrt(mean(x^2 over the last axis) + epsilon) * scale. One pass to
// sum squares and one to scale, per row, instead of the six kernels and four
// intermediate tensors of the decomposed ONNX chain. Rows are independent, so
// the result does not depend on the thread count.
//
// Inputs: 0 x float [..., D]; 1 scale float [D], optional. Attribute: epsilon
// (float, default 1e-5). Output: float, x's shape.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Kernel.h"

#include <cmath>

namespace ds::rt {
namespace {

void rmsNormKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "rms_norm");
  const Tensor &x = inputs[0], &scale = optionalInput(inputs, 1);
  DS_CHECK(x.dtype() == DType::F32, std::string("rms_norm: x must be float, got ") + dtypeName(x.dtype()));
  DS_CHECK(x.rank() >= 1, "rms_norm: x must have rank >= 1");
  const int64_t d = x.shape().back(), rows = d ? x.numel() / d : 0;
  const float *s = nullptr;
  if (!scale.isAbsent()) {
    DS_CHECK(scale.dtype() == DType::F32 && scale.numel() == d,
             "rms_norm: scale must be float [" + std::to_string(d) + "], got " +
                 shapeToString(scale.shape()));
    s = scale.data<float>();
  }
  const float epsilon = ctx.attrs.getFloat("epsilon", 1e-5f);
  Tensor y = Tensor::uninitialized(DType::F32, x.shape()); // every row is written
  const float *in = x.data<float>();
  float *out = y.mutableData<float>();
  ctx.pool.parallelFor(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(d, 1)),
                       [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *row = in + r * d;
      // Eight partial sums (a fixed order, so still deterministic) let the
      // compiler vectorize the reduction without -ffast-math.
      float partial[8] = {};
      int64_t i = 0;
      for (; i + 8 <= d; i += 8)
        for (int lane = 0; lane < 8; ++lane)
          partial[lane] += row[i + lane] * row[i + lane];
      float sum = 0.0f;
      for (float p : partial)
        sum += p;
      for (; i < d; ++i)
        sum += row[i] * row[i];
      const float inv = 1.0f / std::sqrt(sum / static_cast<float>(d) + epsilon);
      float *o = out + r * d;
      if (s)
        for (int64_t i = 0; i < d; ++i)
          o[i] = row[i] * inv * s[i];
      else
        for (int64_t i = 0; i < d; ++i)
          o[i] = row[i] * inv;
    }
  });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("rms_norm", rmsNormKernel);

} // namespace ds::rt
