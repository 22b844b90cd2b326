//===- QuantGemmKernels.h - the contract between the u8s8 GEMM and its ISAs ===//
//
// Internal to QuantGemm*.cpp. The driver (QuantGemm.cpp) packs A and walks the
// tiles; a micro-kernel family computes one rows x 32 int32 tile from a packed
// A panel and one packed B panel (QuantGemm.h describes the B layout). Each ISA
// lives in its own file under target attributes, so the library stays
// baseline x86-64.
//
// Packed A panel (MR rows, K in groups of 4, zero-padded past K):
//   ap[(k / 4) * MR * 4 + i * 4 + k % 4] = A(i0 + i, k)
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace ds::rt::quant_gemm_detail {

/// c[i * ldc + j] (+)= sum over kGroups groups of 4 of ap * bp, for i < rows
/// (fixed per function) and all 32 columns j. Integer sums are exact, so the
/// order of the products is free.
using MicroKernelFn = void (*)(int64_t kGroups, const uint8_t *ap, const int8_t *bp,
                               int32_t *c, int64_t ldc, bool accumulate);

/// dst[i] = saturate_u8(round_half_to_even(x[i] / scale) + zeroPoint), NaN ->
/// zeroPoint: bit for bit movement::quantizeValue (the same IEEE divide, clamp
/// and 1.5 * 2^23 rounding, only vectorized wider).
using QuantizeRowFn = void (*)(const float *x, int64_t n, float scale, float zeroPoint,
                               uint8_t *dst);

constexpr int kMaxMR = 16;

struct MicroKernelFamily {
  int mr = 0;
  /// byRows[r] computes tiles with r valid rows, 1 <= r <= mr.
  MicroKernelFn byRows[kMaxMR + 1] = {};
  /// Optional faster quantization of float A rows; the driver's portable loop otherwise.
  QuantizeRowFn quantizeRow = nullptr;
};

const MicroKernelFamily &portableMicroKernels();
const MicroKernelFamily &avx2MicroKernels();
const MicroKernelFamily &avxVnniMicroKernels();
const MicroKernelFamily &avx512VnniMicroKernels();

} // namespace ds::rt::quant_gemm_detail
