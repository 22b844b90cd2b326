//===- NormalizationLp.cpp - the lp_normalization kernel ------------------===//
//
// y = x / ||x||_p along `axis` (default -1), p = 1 or 2 (default 2). The norm is
// accumulated in double. A zero vector divides by zero (inf/NaN), as ONNX's
// reference does.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cmath>

namespace ds::rt {
namespace {

constexpr int64_t kInnerBlock = 256;

void lpNormalizationKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                           std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "LpNormalization");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() >= 1, "input must have rank >= 1");
  const int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", -1), x.rank());
  const int64_t p = ctx.attrs.getInt("p", 2);
  DS_CHECK(p == 1 || p == 2, "p must be 1 or 2, got " + std::to_string(p));
  int64_t outer = 1, inner = 1;
  const int64_t R = x.dim(axis);
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis)
      outer *= x.dim(d);
    if (d > axis)
      inner *= x.dim(d);
  }
  Tensor y(x.dtype(), x.shape());
  if (x.numel() > 0)
    dispatchDType<float, double>(x.dtype(), "LpNormalization", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *in = x.data<T>();
      T *out = y.mutableData<T>();
      const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
      ctx.pool.parallelFor(outer * blocks,
                           std::max<int64_t>(1, 32768 / (R * std::min(inner, kInnerBlock))),
                           [&](int64_t t0, int64_t t1) {
        double norm[kInnerBlock];
        for (int64_t t = t0; t < t1; ++t) {
          int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock;
          int64_t width = std::min(kInnerBlock, inner - j0);
          const T *src = in + o * R * inner + j0;
          T *dst = out + o * R * inner + j0;
          std::fill(norm, norm + width, 0.0);
          for (int64_t r = 0; r < R; ++r)
            for (int64_t j = 0; j < width; ++j) {
              double v = static_cast<double>(src[r * inner + j]);
              norm[j] += p == 1 ? std::abs(v) : v * v;
            }
          for (int64_t j = 0; j < width; ++j)
            norm[j] = p == 1 ? norm[j] : std::sqrt(norm[j]);
          for (int64_t r = 0; r < R; ++r)
            for (int64_t j = 0; j < width; ++j)
              dst[r * inner + j] = static_cast<T>(src[r * inner + j] / norm[j]);
        }
      });
    });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("lp_normalization", lpNormalizationKernel);

} // namespace ds::rt
