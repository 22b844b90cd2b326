//===- Lrn.cpp - LRN (local response normalization across channels) -------===//
//
// ds.lrn: y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta,
// where the window of channel c is [c - floor((size-1)/2), c + ceil((size-1)/2)]
// clipped to the valid channels. Input [N, C, D1..Dk]; float and double.
// Each (image, channel) plane is computed by one task, so results do not depend
// on the thread count.
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"

#include <algorithm>
#include <cmath>

namespace ds::rt {
namespace {

void lrnKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
               std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "LRN");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() >= 2, "X must be [N, C, ...], got " + shapeToString(x.shape()));
  DS_CHECK(ctx.attrs.has("size"), "size attribute is required");
  const int64_t size = ctx.attrs.getInt("size", 1);
  DS_CHECK(size >= 1, "size must be positive");
  const double alpha = ctx.attrs.getFloat("alpha", 1e-4f);
  const double beta = ctx.attrs.getFloat("beta", 0.75f);
  const double bias = ctx.attrs.getFloat("bias", 1.0f);
  const int64_t channels = x.dim(1);
  const int64_t spatial = channels > 0 && x.dim(0) > 0 ? x.numel() / (x.dim(0) * channels) : 0;
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  Tensor y(x.dtype(), x.shape());
  dispatchDType<float, double>(x.dtype(), "LRN", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xd = x.data<T>();
    T *yd = y.mutableData<T>();
    const T scale = static_cast<T>(alpha / static_cast<double>(size));
    const T tb = static_cast<T>(bias), tbeta = static_cast<T>(beta);
    const int64_t planes = x.dim(0) * channels;
    const int64_t minPlanes = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, spatial * size));
    ctx.pool.parallelFor(planes, minPlanes, [&](int64_t p0, int64_t p1) {
      std::vector<T> sum(static_cast<size_t>(spatial));
      for (int64_t plane = p0; plane < p1; ++plane) {
        const int64_t c = plane % channels, n = plane / channels;
        const int64_t lo = std::max<int64_t>(0, c - before);
        const int64_t hi = std::min<int64_t>(channels - 1, c + after);
        std::fill(sum.begin(), sum.end(), T(0));
        for (int64_t k = lo; k <= hi; ++k) {
          const T *src = xd + (n * channels + k) * spatial;
          for (int64_t i = 0; i < spatial; ++i)
            sum[i] += src[i] * src[i];
        }
        const T *src = xd + plane * spatial;
        T *dst = yd + plane * spatial;
        for (int64_t i = 0; i < spatial; ++i)
          dst[i] = src[i] / std::pow(tb + scale * sum[i], tbeta);
      }
    });
  });
  outputs.push_back(y);
}

} // namespace

DS_REGISTER_KERNEL("lrn", lrnKernel);

} // namespace ds::rt
