//===- QuantParams.cpp ----------------------------------------------------===//
#include "calibrate/QuantParams.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace ds::calib {

namespace {
void checkRange(Range r) {
  DS_CHECK(std::isfinite(r.min) && std::isfinite(r.max) && r.min <= r.max,
           "quantization range [" + std::to_string(r.min) + ", " + std::to_string(r.max) +
               "] must be finite with min <= max");
}

/// span / levels as a float scale that is finite and at least FLT_MIN; 1.0
/// when span is 0.
float scaleFor(double span, double levels) {
  if (span == 0)
    return 1.0f;
  float s = static_cast<float>(span / levels);
  return std::max(s, FLT_MIN);
}
} // namespace

QuantParams uint8Asymmetric(Range r) {
  checkRange(r);
  double lo = std::min<double>(r.min, 0.0), hi = std::max<double>(r.max, 0.0);
  QuantParams p;
  p.scale = scaleFor(hi - lo, 255.0);
  double zp = std::nearbyint(-lo / static_cast<double>(p.scale)); // default mode: half to even
  p.zeroPoint = static_cast<int32_t>(std::clamp(zp, 0.0, 255.0));
  return p;
}

QuantParams int8Symmetric(Range r) {
  checkRange(r);
  double amax = std::max(std::fabs(static_cast<double>(r.min)), std::fabs(static_cast<double>(r.max)));
  return {scaleFor(amax, 127.0), 0};
}

int32_t quantizeUint8(float x, QuantParams p) {
  float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zeroPoint);
  return static_cast<int32_t>(std::clamp(q, 0.0f, 255.0f));
}

int32_t quantizeInt8Symmetric(float x, float scale) {
  float q = std::nearbyint(x / scale);
  return static_cast<int32_t>(std::clamp(q, -127.0f, 127.0f));
}

} // namespace ds::calib
