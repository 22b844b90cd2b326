//===- QuantParams.h - INT8 scale and zero point from a calibrated range --===//
//
// The last step of calibration (DESIGN §5): an observer's Range becomes the
// {scale, zero_point} a quantized activation is stored with.
//   uint8 asymmetric (x86 VNNI): range widened to include 0,
//     scale = (hi - lo) / 255, zero_point = round_half_even(-lo / scale)
//     clamped to [0, 255];  q = clamp(rne(x / scale) + zp, 0, 255).
//   int8 symmetric (CUDA, NEON): scale = max(|lo|, |hi|) / 127, zero_point 0;
//     q = clamp(rne(x / scale), -127, 127) (-128 unused, so negation is exact).
// A scale is never 0, subnormal or non-finite: an all-zero range (hi == lo == 0)
// gets scale 1.0 (ONNX Runtime's rule; every value then quantizes to the zero
// point exactly), and a tiny non-zero one is raised to FLT_MIN. The arithmetic
// is done in double and rounded once to float, so results are bit-stable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/Observer.h"

#include <cstdint>

namespace ds::calib {

struct QuantParams {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
  bool operator==(const QuantParams &) const = default;
};

/// Throws rt::Error when the range is non-finite or min > max.
QuantParams uint8Asymmetric(Range range);
QuantParams int8Symmetric(Range range);

/// One value through the grids above (round half to even, saturating).
int32_t quantizeUint8(float x, QuantParams p);
int32_t quantizeInt8Symmetric(float x, float scale);
inline float dequantize(int32_t q, QuantParams p) {
  return static_cast<float>(q - p.zeroPoint) * p.scale;
}

} // namespace ds::calib
