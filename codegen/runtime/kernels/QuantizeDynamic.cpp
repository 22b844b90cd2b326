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
  const DynamicUint8Params params = dynamicUint8Params(ctx.pool, src, n);
  const float scale = params.scale;
  const uint8_t zp = params.zeroPoint;

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
