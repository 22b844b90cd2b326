//===- QuantPackedLayout.h - size of the INT8 GEMM's packed weights --------===//
//
// Dependency-free, so the ds dialect's verifier (which checks the blocks that
// ds-pack-int8-weights writes) and the kernels share one definition. The
// layout itself is documented on QuantPackedB (QuantGemm.h).
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace ds::rt {

/// Columns per packed B panel (two zmm / four ymm of int32 lanes).
constexpr int64_t kQuantGemmNR = 32;

/// Bytes of B (K x N int8) in the packed layout: whole panels of K rounded up
/// to 4 by 32 columns, then one int32 column sum per panel column.
constexpr int64_t quantPackedBBytes(int64_t K, int64_t N) {
  return (N + kQuantGemmNR - 1) / kQuantGemmNR * kQuantGemmNR * ((K + 3) / 4 * 4 + 4);
}

} // namespace ds::rt
