//===- PoolMax2x2.cpp - the 2x2 / stride-2 float MaxPool on AVX-512 --------===//
#include "PoolMax2x2.h"
#include "TargetClones.h"

#include <immintrin.h>

#include <algorithm>

namespace ds::rt::conv {
namespace {

__attribute__((target("avx512f"))) inline __mmask16 firstLanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

/// best = v > best ? v : best, lane by lane (ordered compare: NaN never replaces).
__attribute__((target("avx512f"))) inline __m512 fold(__m512 best, __m512 v) {
  return _mm512_mask_mov_ps(best, _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ), v);
}

} // namespace

bool maxPool2x2Applies(const WindowGeometry &g) {
  return cpuHasAvx512f() && g.in[0] == 1 && g.kernel == Dims3{1, 2, 2} && g.stride == Dims3{1, 2, 2} &&
         g.dilation == Dims3{1, 1, 1} && g.padBegin == Dims3{0, 0, 0} &&
         2 * g.out[1] <= g.in[1] && 2 * g.out[2] <= g.in[2];
}

__attribute__((target("avx512f"))) void maxPool2x2Plane(const WindowGeometry &g,
                                                        const float *x, float *y) {
  const int64_t W = g.in[2], outH = g.out[1], outW = g.out[2];
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t r = 0; r < outH; ++r) {
    const float *top = x + 2 * r * W, *bottom = top + W;
    float *out = y + r * outW;
    for (int64_t c = 0; c < outW; c += 16) {
      // 2n input columns from 2c: the first 16 in lo, the rest in hi.
      const int64_t n = std::min<int64_t>(16, outW - c);
      const __mmask16 lo = firstLanes(2 * n), hi = firstLanes(2 * n - 16);
      const __m512 t0 = _mm512_maskz_loadu_ps(lo, top + 2 * c);
      const __m512 t1 = _mm512_maskz_loadu_ps(hi, top + 2 * c + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(lo, bottom + 2 * c);
      const __m512 b1 = _mm512_maskz_loadu_ps(hi, bottom + 2 * c + 16);
      __m512 best = _mm512_permutex2var_ps(t0, even, t1);
      best = fold(best, _mm512_permutex2var_ps(t0, odd, t1));
      best = fold(best, _mm512_permutex2var_ps(b0, even, b1));
      best = fold(best, _mm512_permutex2var_ps(b0, odd, b1));
      _mm512_mask_storeu_ps(out + c, firstLanes(n), best);
    }
  }
}

bool maxPool2x2FlatApplies(const WindowGeometry &g) {
  const int64_t W = g.in[2];
  return g.in[1] == 2 * g.out[1] && W == 2 * g.out[2] && W <= 32 && 64 % W == 0;
}

namespace {

/// The permute indices of one tap for the flat layout: output j of a block
/// reads block float `flat[j]`, i.e. lane flat & 31 of (z0, z1) or of (z2, z3).
struct FlatTap {
  __m512i lane;
  __mmask16 upper; // bit j: flat[j] >= 32
};

__attribute__((target("avx512f"))) FlatTap flatTap(int64_t W, int64_t dy, int64_t dx) {
  alignas(64) int32_t lanes[16];
  __mmask16 upper = 0;
  for (int j = 0; j < 16; ++j) {
    const int64_t row = j / (W / 2), col = j % (W / 2);
    const int64_t flat = (2 * row + dy) * W + 2 * col + dx;
    lanes[j] = static_cast<int32_t>(flat & 31);
    upper = static_cast<__mmask16>(upper | (flat >= 32 ? 1u << j : 0u));
  }
  return {_mm512_load_si512(lanes), upper};
}

__attribute__((target("avx512f"))) inline __m512 pick(const FlatTap &t, __m512 z0, __m512 z1,
                                                      __m512 z2, __m512 z3) {
  return _mm512_mask_blend_ps(t.upper, _mm512_permutex2var_ps(z0, t.lane, z1),
                              _mm512_permutex2var_ps(z2, t.lane, z3));
}

} // namespace

__attribute__((target("avx512f"))) void maxPool2x2Flat(const WindowGeometry &g, const float *x,
                                                       int64_t total, int64_t b0, int64_t b1,
                                                       float *y) {
  const int64_t W = g.in[2];
  const FlatTap t00 = flatTap(W, 0, 0), t01 = flatTap(W, 0, 1);
  const FlatTap t10 = flatTap(W, 1, 0), t11 = flatTap(W, 1, 1);
  for (int64_t b = b0; b < b1; ++b) {
    const float *src = x + 64 * b;
    const int64_t left = total - 64 * b; // whole row pairs, so outputs are left / 4
    const __m512 z0 = _mm512_maskz_loadu_ps(firstLanes(left), src);
    const __m512 z1 = _mm512_maskz_loadu_ps(firstLanes(left - 16), src + 16);
    const __m512 z2 = _mm512_maskz_loadu_ps(firstLanes(left - 32), src + 32);
    const __m512 z3 = _mm512_maskz_loadu_ps(firstLanes(left - 48), src + 48);
    __m512 best = pick(t00, z0, z1, z2, z3);
    best = fold(best, pick(t01, z0, z1, z2, z3));
    best = fold(best, pick(t10, z0, z1, z2, z3));
    best = fold(best, pick(t11, z0, z1, z2, z3));
    _mm512_mask_storeu_ps(y + 16 * b, firstLanes(left / 4), best);
  }
}

} // namespace ds::rt::conv
