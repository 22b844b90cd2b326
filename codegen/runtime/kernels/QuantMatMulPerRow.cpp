//===- QuantMatMulPerRow.cpp - quant_matmul with one scale per activation row ===//
//
// x_granularity = "row": every row of x (a token, for LMs) gets its own uint8
// scale and zero point from its own range, as ONNX DynamicQuantizeLinear would
// compute them for that row alone. Outliers in one token then cost nothing to
// the others, which per-tensor scales cannot give small LMs (the "per-token"
// activations of LLM.int8 and SmoothQuant-O1). The integer product is the same
// u8 x s8 GEMM; only the zero-point correction and rescale become per row:
//   out[m, n] = act(float(acc[m, n] - zp[m] * colSum[n]) * (scale[m] * w_scale[n]) + bias[n]).
//===----------------------------------------------------------------------===//
#include "QuantGemm.h"
#include "QuantGemmOperands.h"
#include "QuantMatMulPerRow.h"

#include <algorithm>
#include <cmath>

namespace ds::rt::quant_ops {

namespace {
/// DynamicQuantizeLinear's parameters for one row: range widened to include 0.
void rowParams(const float *x, int64_t k, float &scale, int32_t &zeroPoint) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < k; ++i)
    if (std::isfinite(x[i])) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
  scale = hi > lo ? (hi - lo) / 255.0f : 1.0f / 255.0f;
  float zp = std::nearbyint(std::clamp(-lo / scale, 0.0f, 255.0f));
  zeroPoint = static_cast<int32_t>(zp);
}
} // namespace

void quantMatMulPerRow(int64_t rows, int64_t K, int64_t N, const float *x, const QuantPackedB &b,
                       const float *wScale, bool wScalePerColumn, const float *bias, bool relu,
                       float *out, ThreadPool &pool) {
  std::vector<float> scales(static_cast<size_t>(rows));
  std::vector<int32_t> zeroPoints(static_cast<size_t>(rows));
  std::vector<uint8_t> q(static_cast<size_t>(rows * K));
  pool.parallelFor(rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      float s;
      int32_t zp;
      rowParams(x + m * K, K, s, zp);
      scales[static_cast<size_t>(m)] = s;
      zeroPoints[static_cast<size_t>(m)] = zp;
      for (int64_t i = 0; i < K; ++i) {
        float v = x[m * K + i];
        // QuantizeLinear: round half to even, saturate; NaN becomes the zero point.
        float r = std::isnan(v) ? 0.0f : std::nearbyint(v / s);
        q[static_cast<size_t>(m * K + i)] =
            static_cast<uint8_t>(std::clamp(r + static_cast<float>(zp), 0.0f, 255.0f));
      }
    }
  });
  std::vector<int32_t> acc(static_cast<size_t>(rows * N));
  QuantGemmA a;
  a.u8 = q.data();
  a.ld = std::max<int64_t>(K, 1);
  quantGemmS32WithIsa(quantGemmBestIsa(), rows, a, b, {acc.data(), N, 1}, &pool);
  const int32_t *colSums = b.colSums();
  pool.parallelFor(rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      float s = scales[static_cast<size_t>(m)];
      int32_t zp = zeroPoints[static_cast<size_t>(m)];
      for (int64_t n = 0; n < N; ++n)
        out[m * N + n] = quantOutputValue(acc[static_cast<size_t>(m * N + n)] - zp * colSums[n],
                                          s * wScale[wScalePerColumn ? n : 0],
                                          bias ? bias[n] : 0.0f, relu);
    }
  });
}

} // namespace ds::rt::quant_ops
