//===- QuantMatMulPerRow.h - quant_matmul's per-row activation path --------===//
#pragma once

#include "QuantGemm.h"

namespace ds::rt::quant_ops {

/// out [rows, N] = quant_matmul of x [rows, K] with a dynamic uint8 scale and
/// zero point per row of x (see QuantMatMulPerRow.cpp).
void quantMatMulPerRow(int64_t rows, int64_t K, int64_t N, const float *x, const QuantPackedB &b,
                       const float *wScale, bool wScalePerColumn, const float *bias, bool relu,
                       float *out, ThreadPool &pool);

} // namespace ds::rt::quant_ops
