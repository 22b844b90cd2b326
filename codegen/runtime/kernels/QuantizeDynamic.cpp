//===- QuantizeDynamic.cpp - DynamicQuantizeLinear ------------------------===//
//
// uint8 asymmetric per-tensor quantization with the range taken from the data
// (always including 0). Follows ONNX's reference bit for bit:
//   scale = (max == min ? 1 : max - min) / 255, zp = rint(clamp(-min / scale, 0, 255)),
//   y = saturate(rint(x / scale) + zp).
// The min/max pass skips NaN, so one NaN does not poison the scale.
//===----------------------------------------------------------------------===//
#include "MovementQuantize.h"
#include "MovementCommon.h"

#include <cmath>

namespace ds::rt {
namespace {
using namespace movement;

void dynamicQuantizeLinearKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "DynamicQuantizeLinear");
  const Tensor &x = inputs[0];
  DS_CHECK(x.dtype() == DType::F32, std::string("input must be float, got ") +
                                        dtypeName(x.dtype()));
  const float *src = x.data<float>();
  int64_t n = x.numel();
  // Per-chunk partial extrema, combined in chunk order: same bits for any thread count.
  constexpr int64_t kChunk = 64 * 1024;
  int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<float> lows(static_cast<size_t>(chunks), 0.0f), highs(lows);
  parallelRange(ctx.pool, chunks, n, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      float lo = 0.0f, hi = 0.0f;
      int64_t first = c * kChunk;
      extendRange(src + first, std::min(n, first + kChunk) - first, lo, hi);
      lows[static_cast<size_t>(c)] = lo;
      highs[static_cast<size_t>(c)] = hi;
    }
  });
  float minX = 0.0f, maxX = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    minX = std::min(minX, lows[static_cast<size_t>(c)]);
    maxX = std::max(maxX, highs[static_cast<size_t>(c)]);
  }
  float scale = (maxX == minX ? 1.0f : maxX - minX) / 255.0f;
  DS_CHECK(std::isfinite(scale) && scale > 0, "input range is not finite");
  float zpFloat = std::clamp(0.0f - minX / scale, 0.0f, 255.0f);
  auto zp = static_cast<uint8_t>(std::nearbyint(zpFloat));

  Tensor y(DType::U8, x.shape()), yScale(DType::F32, {}), yZeroPoint(DType::U8, {});
  uint8_t *dst = y.mutableData<uint8_t>();
  parallelRange(ctx.pool, n, n, [&](int64_t begin, int64_t end) {
    quantizeRun<uint8_t, float>(src + begin, &scale, 0, &zp, dst + begin, end - begin);
  });
  yScale.mutableData<float>()[0] = scale;
  yZeroPoint.mutableData<uint8_t>()[0] = zp;
  outputs.push_back(std::move(y));
  outputs.push_back(std::move(yScale));
  outputs.push_back(std::move(yZeroPoint));
}

} // namespace

DS_REGISTER_KERNEL("dynamic_quantize_linear", dynamicQuantizeLinearKernel);

} // namespace ds::rt
