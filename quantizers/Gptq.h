//===- Gptq.h - GPTQ rounding of int8 weights (Frantar et al. 2023) -------===//
//
// Round-to-nearest quantizes every weight on its own; GPTQ quantizes the input
// channels of W [K, N] (y = x W) one at a time and spreads each channel's
// rounding error over the channels not yet quantized, weighted by the inverse
// Hessian H = X^T X of the layer's calibration inputs, so the layer's output
// error ||X W - X Q||, not the weights' own error, is minimised. The output is
// still plain symmetric per-output-channel int8 with the given scales, so the
// kernels and the artifact do not change.
//
// Hand-written (a Cholesky of a K x K matrix) rather than pulling in a linear
// algebra library for one factorisation; O(K^2 N + K^3), fine for the K of the
// models this project targets on a CPU compile (K = 4096: ~70 GFLOP).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Tensor.h"

namespace ds::quant {

/// int8 [K, N] for float `weights` [K, N], per-column `scales` [N] (values in
/// [-127, 127]) and `hessian` [K, K] (X^T X up to a positive factor). `damp`
/// is added as a fraction of the mean diagonal (GPTQ's 1%). Input channels
/// that calibration never saw active (zero diagonal) are rounded to nearest.
/// Throws rt::Error on shape mismatch or when H is not positive definite even
/// after damping.
rt::Tensor gptqQuantize(const rt::Tensor &weights, const rt::Tensor &scales,
                        const rt::Tensor &hessian, double damp = 0.01);

} // namespace ds::quant
