//===- Int8Scheme.cpp -----------------------------------------------------===//
#include "quantizers/Int8Scheme.h"

#include <algorithm>
#include <cmath>

namespace ds::quant {

ActivationParams uint8Asymmetric(float min, float max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max)
    throw rt::Error("activation range [" + std::to_string(min) + ", " + std::to_string(max) +
                    "] is not a finite interval");
  float lo = std::min(min, 0.0f), hi = std::max(max, 0.0f);
  ActivationParams p;
  if (hi - lo <= 0.0f)
    return p;
  p.scale = (hi - lo) / 255.0f;
  double zp = std::nearbyint(-static_cast<double>(lo) / p.scale);
  p.zeroPoint = static_cast<int64_t>(std::clamp(zp, 0.0, 255.0));
  return p;
}

QuantizedWeights quantizeSymmetricPerChannel(const rt::Tensor &weights, int64_t axis) {
  DS_CHECK(weights.dtype() == rt::DType::F32, "weights must be float32");
  DS_CHECK(axis >= 0 && axis < weights.rank(), "channel axis out of range");
  int64_t channels = weights.dim(axis);
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < weights.rank(); ++d)
    inner *= weights.dim(d);
  int64_t outer = channels == 0 ? 0 : weights.numel() / (channels * inner);
  const float *w = weights.data<float>();
  QuantizedWeights q{rt::Tensor(rt::DType::I8, weights.shape()), rt::Tensor(rt::DType::F32, {channels})};
  float *scales = q.scales.mutableData<float>();
  auto at = [&](int64_t o, int64_t c, int64_t i) { return (o * channels + c) * inner + i; };
  for (int64_t c = 0; c < channels; ++c) {
    float absMax = 0.0f;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        float v = w[at(o, c, i)];
        DS_CHECK(std::isfinite(v), "weights contain a non-finite value");
        absMax = std::max(absMax, std::fabs(v));
      }
    scales[c] = absMax > 0.0f ? absMax / 127.0f : 1.0f;
  }
  int8_t *out = q.values.mutableData<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        // nearbyint rounds half to even in the default rounding mode, as ONNX does.
        float r = std::nearbyint(w[at(o, c, i)] / scales[c]);
        out[at(o, c, i)] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
      }
  return q;
}

} // namespace ds::quant
