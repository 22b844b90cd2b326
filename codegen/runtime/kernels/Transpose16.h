//===- Transpose16.h - 16 x 16 float transpose in AVX-512 registers -------===//
//
// Shared by the Winograd conv (images in lanes <-> positions) and the Transpose
// kernel's full 16 x 16 tiles of 4-byte elements.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace ds::rt {

/// Permute indices of transpose16's stages: for block width b, the low row of
/// a pair takes lanes j of itself where bit b of j is clear and lanes j - b of
/// its partner elsewhere; the high row the rest.
struct TransposeStage {
  alignas(64) int32_t lo[16];
  alignas(64) int32_t hi[16];
};
constexpr TransposeStage transposeStage(int b) {
  TransposeStage s{};
  for (int j = 0; j < 16; ++j) {
    s.lo[j] = (j & b) == 0 ? j : 16 + j - b;
    s.hi[j] = (j & b) == 0 ? j + b : 16 + j;
  }
  return s;
}
inline constexpr TransposeStage kTransposeStages[4] = {transposeStage(8), transposeStage(4),
                                                transposeStage(2), transposeStage(1)};

/// Transposes 16 rows of 16 floats in registers (row r, lane j -> row j, lane r):
/// four stages, each swapping the off-diagonal blocks of width b between row
/// pairs (r, r + b) with two-source permutes.
__attribute__((target("avx512f"), always_inline)) inline void transpose16(__m512 (&rows)[16]) {
  _Pragma("GCC unroll 16") for (int stage = 0; stage < 4; ++stage) {
    const int b = 8 >> stage;
    const __m512i loIdx = _mm512_load_si512(kTransposeStages[stage].lo);
    const __m512i hiIdx = _mm512_load_si512(kTransposeStages[stage].hi);
    _Pragma("GCC unroll 16") for (int r = 0; r < 16; ++r)
      if ((r & b) == 0) {
        const __m512 a = rows[r], c = rows[r + b];
        rows[r] = _mm512_permutex2var_ps(a, loIdx, c);
        rows[r + b] = _mm512_permutex2var_ps(a, hiIdx, c);
      }
  }
}

} // namespace ds::rt
