//===- WeightQuant.cpp ----------------------------------------------------===//
#include "calibrate/WeightQuant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

namespace ds::calib {

PerChannelInt8 quantizePerChannelInt8(const rt::Tensor &weights, int64_t axis) {
  DS_CHECK(weights.dtype() == rt::DType::F32,
           std::string("per-channel quantization takes float weights, got ") +
               rt::dtypeName(weights.dtype()));
  int64_t rank = weights.rank();
  DS_CHECK(rank >= 1 && axis >= -rank && axis < rank,
           "per-channel axis " + std::to_string(axis) + " is out of range for shape " +
               rt::shapeToString(weights.shape()));
  if (axis < 0)
    axis += rank;
  // View the tensor as [outer, channels, inner].
  int64_t channels = weights.dim(axis), outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= weights.dim(d);
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= weights.dim(d);

  const float *w = weights.data<float>();
  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float *row = w + (o * channels + c) * inner;
      float &m = amax[static_cast<size_t>(c)];
      for (int64_t i = 0; i < inner; ++i) {
        DS_CHECK(std::isfinite(row[i]), "weight channel " + std::to_string(c) + " of shape " +
                                            rt::shapeToString(weights.shape()) +
                                            " has a NaN/Inf value");
        m = std::max(m, std::fabs(row[i]));
      }
    }

  PerChannelInt8 result;
  result.axis = axis;
  result.scales.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    float m = amax[static_cast<size_t>(c)];
    result.scales[static_cast<size_t>(c)] =
        m == 0 ? 1.0f : std::max(static_cast<float>(static_cast<double>(m) / 127.0), FLT_MIN);
  }
  result.values = rt::Tensor(rt::DType::I8, weights.shape());
  int8_t *q = result.values.mutableData<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      float s = result.scales[static_cast<size_t>(c)];
      int64_t base = (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i)
        q[base + i] = static_cast<int8_t>(std::clamp(std::nearbyint(w[base + i] / s), -127.0f, 127.0f));
    }
  return result;
}

} // namespace ds::calib
