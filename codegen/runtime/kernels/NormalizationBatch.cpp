//===- NormalizationBatch.cpp - the batch_normalization kernel (inference) ===//
//
// y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (dim 1), folded
// into y = x * a[c] + b[c] with a and b computed in double. Only the inference
// form: training_mode = 1 (running statistics updated from the batch) is
// rejected, as are the extra training outputs.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"

#include <algorithm>
#include <cmath>

namespace ds::rt {
namespace {

void batchNormalizationKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                              std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 5, 5, "BatchNormalization");
  DS_CHECK(ctx.attrs.getInt("training_mode", 0) == 0,
           "training_mode=1 is not supported (inference only)");
  DS_CHECK(ctx.numOutputs <= 1,
           "running mean/var outputs exist only in training mode, which is not supported");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() >= 2, "input must have rank >= 2 (N x C x ...), got " +
                              shapeToString(x.shape()));
  const int64_t channels = x.dim(1);
  for (size_t i = 1; i < 5; ++i)
    DS_CHECK(inputs[i].numel() == channels,
             "scale, B, mean and var must have " + std::to_string(channels) +
                 " elements (one per channel), got " + shapeToString(inputs[i].shape()));
  const double epsilon = ctx.attrs.getFloat("epsilon", 1e-5f);
  const int64_t batch = x.dim(0);
  const int64_t spatial = x.numel() / std::max<int64_t>(1, batch * channels);
  Tensor y(x.dtype(), x.shape());
  dispatchDType<float, double>(x.dtype(), "BatchNormalization", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      double s = inputs[1].getAsDouble(c) / std::sqrt(inputs[4].getAsDouble(c) + epsilon);
      a[c] = static_cast<T>(s);
      b[c] = static_cast<T>(inputs[2].getAsDouble(c) - inputs[3].getAsDouble(c) * s);
    }
    const T *in = x.data<T>();
    T *out = y.mutableData<T>();
    ctx.pool.parallelFor(batch * channels,
                         std::max<int64_t>(1, 32768 / std::max<int64_t>(spatial, 1)),
                         [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T scale = a[r % channels], shift = b[r % channels];
        const T *src = in + r * spatial;
        T *dst = out + r * spatial;
        for (int64_t j = 0; j < spatial; ++j)
          dst[j] = src[j] * scale + shift;
      }
    });
  });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("batch_normalization", batchNormalizationKernel);

} // namespace ds::rt
