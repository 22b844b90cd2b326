//===- ConvWinograd.cpp - Winograd F(2x2, 3x3) FP32 conv, images in lanes --===//
//
// See ConvWinograd.h. One call works on a block of up to 16 images:
//  1. the block's input planes are transposed into a zero-padded scratch,
//     xt[c][row][col] = 16 floats (one per image), rows/cols padded by 1 and
//     up to a whole number of 2x2 output blocks;
//  2. per chunk of up to 4 patches: V = B^T d B for every input channel,
//     vt[patch][point][c];
//  3. per tile of output channels and per point: M = sum_c U (.) V, a
//     register tile of MC channels x NV patches (MC * NV <= 24 accumulators);
//  4. Y = A^T M A, plus the bias and the fused Relu, into yt[m][position][lane];
//  5. yt transposed back to NCHW.
// Both transposes go through registers, 16 x 16 floats at a time: scalar
// scatters to 16 images' planes cost more than all the arithmetic.
//
//===----------------------------------------------------------------------===//
#include "ConvWinograd.h"
#include "RegisterTiles.h"
#include "TargetClones.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

namespace ds::rt::conv {
namespace {

using namespace tiles;
constexpr int kMaxPatches = kMaxVectors; // patches per chunk (NV)

/// A grow-only per-thread float buffer (the scratch is on every call's path).
float *scratch(std::vector<float> &storage, size_t count) {
  if (storage.size() < count)
    storage.resize(count);
  return storage.data();
}

/// M for MC output channels x NV patches at one point: m[(i * NV + j) * 16] =
/// sum_c u[i * uStride + c] * v[j][c * 16 .. + 16).
template <int MC, int NV>
__attribute__((target("avx512f"))) void pointTile(int64_t channels, const float *u,
                                                  int64_t uStride, const float *const *v,
                                                  float *m) {
  __m512 acc[MC][NV];
  DS_UNROLL for (int i = 0; i < MC; ++i)
    DS_UNROLL for (int j = 0; j < NV; ++j)
      acc[i][j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < channels; ++c) {
    __m512 vv[NV];
    DS_UNROLL for (int j = 0; j < NV; ++j)
      vv[j] = _mm512_loadu_ps(v[j] + c * 16);
    DS_UNROLL for (int i = 0; i < MC; ++i) {
      const __m512 uu = _mm512_set1_ps(u[i * uStride + c]);
      DS_UNROLL for (int j = 0; j < NV; ++j)
        acc[i][j] = _mm512_fmadd_ps(uu, vv[j], acc[i][j]);
    }
  }
  DS_UNROLL for (int i = 0; i < MC; ++i)
    DS_UNROLL for (int j = 0; j < NV; ++j)
      _mm512_storeu_ps(m + (i * NV + j) * 16, acc[i][j]);
}

using PointTileFn = void (*)(int64_t, const float *, int64_t, const float *const *, float *);
template <int MC, int NV> struct PointTile {
  static void run(int64_t channels, const float *u, int64_t uStride, const float *const *v,
                  float *m) {
    pointTile<MC, NV>(channels, u, uStride, v, m);
  }
};
constexpr auto kPointTiles = makeTable<PointTileFn, PointTile>();

/// V = B^T d B of one 4x4 patch whose top-left is `d` (rows `rowStride` floats
/// apart, 16 floats per column), into v[point * pointStride].
__attribute__((target("avx512f"))) void inputTransform(const float *d, int64_t rowStride,
                                                       float *v, int64_t pointStride) {
  __m512 t[4][4];
  DS_UNROLL for (int k = 0; k < 4; ++k) {
    const __m512 d0 = _mm512_loadu_ps(d + k * 16), d1 = _mm512_loadu_ps(d + rowStride + k * 16);
    const __m512 d2 = _mm512_loadu_ps(d + 2 * rowStride + k * 16);
    const __m512 d3 = _mm512_loadu_ps(d + 3 * rowStride + k * 16);
    t[0][k] = _mm512_sub_ps(d0, d2);
    t[1][k] = _mm512_add_ps(d1, d2);
    t[2][k] = _mm512_sub_ps(d2, d1);
    t[3][k] = _mm512_sub_ps(d1, d3);
  }
  DS_UNROLL for (int i = 0; i < 4; ++i) {
    _mm512_storeu_ps(v + (4 * i + 0) * pointStride, _mm512_sub_ps(t[i][0], t[i][2]));
    _mm512_storeu_ps(v + (4 * i + 1) * pointStride, _mm512_add_ps(t[i][1], t[i][2]));
    _mm512_storeu_ps(v + (4 * i + 2) * pointStride, _mm512_sub_ps(t[i][2], t[i][1]));
    _mm512_storeu_ps(v + (4 * i + 3) * pointStride, _mm512_sub_ps(t[i][1], t[i][3]));
  }
}

/// Y = A^T M A (+ bias, Relu) of one output channel and patch: m[point *
/// pointStride] in; output (row i, column j) of the 2x2 block goes to y[2 * i + j]
/// (16 floats each).
__attribute__((target("avx512f"))) void outputTransform(const float *m, int64_t pointStride,
                                                        float bias, bool relu,
                                                        float *const (&y)[4]) {
  __m512 s[2][4];
  DS_UNROLL for (int k = 0; k < 4; ++k) {
    const __m512 m0 = _mm512_loadu_ps(m + (0 * 4 + k) * pointStride);
    const __m512 m1 = _mm512_loadu_ps(m + (1 * 4 + k) * pointStride);
    const __m512 m2 = _mm512_loadu_ps(m + (2 * 4 + k) * pointStride);
    const __m512 m3 = _mm512_loadu_ps(m + (3 * 4 + k) * pointStride);
    s[0][k] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
    s[1][k] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
  }
  const __m512 b = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
  DS_UNROLL for (int i = 0; i < 2; ++i) {
    __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]), b);
    __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]), b);
    if (relu) { // x < 0 ? 0 : x, as the Relu kernel
      y0 = _mm512_mask_mov_ps(y0, _mm512_cmp_ps_mask(y0, zero, _CMP_LT_OQ), zero);
      y1 = _mm512_mask_mov_ps(y1, _mm512_cmp_ps_mask(y1, zero, _CMP_LT_OQ), zero);
    }
    _mm512_storeu_ps(y[2 * i], y0);
    _mm512_storeu_ps(y[2 * i + 1], y1);
  }
}

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
constexpr TransposeStage kTransposeStages[4] = {transposeStage(8), transposeStage(4),
                                                transposeStage(2), transposeStage(1)};

/// Transposes 16 rows of 16 floats in registers (row r, lane j -> row j, lane r):
/// four stages, each swapping the off-diagonal blocks of width b between row
/// pairs (r, r + b) with two-source permutes.
__attribute__((target("avx512f"), always_inline)) inline void transpose16(__m512 (&rows)[16]) {
  DS_UNROLL for (int stage = 0; stage < 4; ++stage) {
    const int b = 8 >> stage;
    const __m512i loIdx = _mm512_load_si512(kTransposeStages[stage].lo);
    const __m512i hiIdx = _mm512_load_si512(kTransposeStages[stage].hi);
    DS_UNROLL for (int r = 0; r < 16; ++r)
      if ((r & b) == 0) {
        const __m512 a = rows[r], c = rows[r + b];
        rows[r] = _mm512_permutex2var_ps(a, loIdx, c);
        rows[r + b] = _mm512_permutex2var_ps(a, hiIdx, c);
      }
  }
}

__attribute__((target("avx512f"))) inline __mmask16 firstLanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

/// xt[c][row + 1][col + 1][lane] = image lane's x[c][row][col], 16 positions
/// at a time through a register transpose; lanes >= count read nothing.
__attribute__((target("avx512f"))) void transposeInputs(const WinogradArgs &a, int64_t n0,
                                                        int64_t count, int64_t cols,
                                                        int64_t rows, float *xt) {
  const WindowGeometry &g = *a.g;
  const int64_t W = g.in[2], P = g.in[1] * W;
  for (int64_t c = 0; c < a.channels; ++c)
    for (int64_t p0 = 0; p0 < P; p0 += 16) {
      const __mmask16 live = firstLanes(P - p0);
      __m512 v[16];
      for (int l = 0; l < 16; ++l)
        v[l] = l < count ? _mm512_maskz_loadu_ps(
                               live, a.x + (n0 + l) * a.xImageStride + c * P + p0)
                         : _mm512_setzero_ps();
      transpose16(v);
      for (int64_t q = 0; q < std::min<int64_t>(16, P - p0); ++q) {
        const int64_t h = (p0 + q) / W, w = (p0 + q) % W;
        _mm512_storeu_ps(xt + ((c * rows + h + 1) * cols + w + 1) * kWinogradLanes, v[q]);
      }
    }
}

/// y[n0 + lane][m][p] = yt[m][p][lane] for lanes < count, 16 positions at a time.
__attribute__((target("avx512f"))) void transposeOutputs(const WinogradArgs &a, int64_t n0,
                                                         int64_t count, const float *yt) {
  const int64_t P = a.g->outSize();
  for (int64_t m = 0; m < a.outChannels; ++m)
    for (int64_t p0 = 0; p0 < P; p0 += 16) {
      const int64_t n = std::min<int64_t>(16, P - p0);
      __m512 v[16];
      for (int q = 0; q < 16; ++q)
        v[q] = q < n ? _mm512_loadu_ps(yt + (m * P + p0 + q) * kWinogradLanes)
                     : _mm512_setzero_ps();
      transpose16(v);
      for (int64_t l = 0; l < count; ++l)
        _mm512_mask_storeu_ps(a.y + (n0 + l) * a.yImageStride + m * P + p0, firstLanes(n),
                              v[l]);
    }
}

} // namespace

bool winogradApplies(const WindowGeometry &g, int64_t batch, int64_t inPerGroup,
                     int64_t outPerGroup) {
  if (!cpuHasAvx512f() || batch < kWinogradLanes || inPerGroup < 8 || inPerGroup > 256 ||
      outPerGroup < 1)
    return false;
  if (!(g.in[0] == 1 && g.kernel == Dims3{1, 3, 3} && g.stride == Dims3{1, 1, 1} &&
        g.dilation == Dims3{1, 1, 1} && g.padBegin == Dims3{0, 1, 1} &&
        g.padEnd == Dims3{0, 1, 1}))
    return false;
  // The transposed, padded block of inputs and the block of outputs stay within 1 MB each.
  const int64_t rows = 2 * ((g.out[1] + 1) / 2) + 2, cols = 2 * ((g.out[2] + 1) / 2) + 2;
  constexpr int64_t kMaxFloats = (int64_t{1} << 20) / 4 / kWinogradLanes;
  return inPerGroup * rows * cols <= kMaxFloats && outPerGroup * g.outSize() <= kMaxFloats;
}

void winogradWeights(const float *w, int64_t groups, int64_t inPerGroup, int64_t outPerGroup,
                     float *u) {
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], in double, rounded once.
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const int64_t M = groups * outPerGroup;
  for (int64_t m = 0; m < M; ++m) {
    const int64_t grp = m / outPerGroup, mg = m % outPerGroup;
    for (int64_t c = 0; c < inPerGroup; ++c) {
      const float *f = w + (m * inPerGroup + c) * 9;
      double gf[4][3]; // G g
      for (int i = 0; i < 4; ++i)
        for (int k = 0; k < 3; ++k)
          gf[i][k] = G[i][0] * f[k] + G[i][1] * f[3 + k] + G[i][2] * f[6 + k];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          const double value = gf[i][0] * G[j][0] + gf[i][1] * G[j][1] + gf[i][2] * G[j][2];
          u[((grp * 16 + 4 * i + j) * outPerGroup + mg) * inPerGroup + c] =
              static_cast<float>(value);
        }
    }
  }
}

__attribute__((target("avx512f"))) void winogradImages(const WinogradArgs &a, int64_t n0,
                                                       int64_t count) {
  const WindowGeometry &g = *a.g;
  const int64_t outH = g.out[1], outW = g.out[2];
  const int64_t patchRows = (outH + 1) / 2, patchCols = (outW + 1) / 2;
  const int64_t patches = patchRows * patchCols;
  const int64_t rows = 2 * patchRows + 2, cols = 2 * patchCols + 2;
  const int64_t C = a.channels, Mg = a.outChannels, L = kWinogradLanes;

  // 1. xt[c][row][col][lane], zero where padded or past `count` images.
  static thread_local std::vector<float> xtStorage, vtStorage, mtStorage, ytStorage;
  float *xt = scratch(xtStorage, static_cast<size_t>(C * rows * cols * L));
  std::fill(xt, xt + C * rows * cols * L, 0.0f);
  transposeInputs(a, n0, count, cols, rows, xt);
  float *yt = scratch(ytStorage, static_cast<size_t>(Mg * outH * outW * L));

  float *vt = scratch(vtStorage, static_cast<size_t>(kMaxPatches * 16 * C * L));
  float *mt = scratch(mtStorage, static_cast<size_t>(16 * kAccumulators * L));
  alignas(64) float discard[16]; // outputs of a block's cut-off row or column
  for (int64_t p0 = 0; p0 < patches; p0 += kMaxPatches) {
    const int nv = static_cast<int>(std::min<int64_t>(kMaxPatches, patches - p0));
    // 2. vt[j][point][c][lane] for the chunk's patches.
    for (int j = 0; j < nv; ++j) {
      const int64_t pr = (p0 + j) / patchCols, pc = (p0 + j) % patchCols;
      for (int64_t c = 0; c < C; ++c)
        inputTransform(xt + ((c * rows + 2 * pr) * cols + 2 * pc) * L, cols * L,
                       vt + (j * 16 * C + c) * L, C * L);
    }
    // 3 and 4, per tile of output channels.
    forEachChannelTile(nv, Mg, [&](size_t kind, int64_t m0, int64_t mc) {
      for (int point = 0; point < 16; ++point) {
        const float *v[kMaxPatches];
        for (int j = 0; j < nv; ++j)
          v[j] = vt + (j * 16 + point) * C * L;
        kPointTiles[nv - 1][kind](C, a.u + (point * Mg + m0) * C, C, v,
                                  mt + point * mc * nv * L);
      }
      for (int64_t i = 0; i < mc; ++i) {
        const int64_t m = m0 + i;
        for (int j = 0; j < nv; ++j) {
          const int64_t pr = (p0 + j) / patchCols, pc = (p0 + j) % patchCols;
          float *dst[4];
          for (int q = 0; q < 4; ++q) {
            const int64_t oh = 2 * pr + q / 2, ow = 2 * pc + q % 2;
            dst[q] = oh < outH && ow < outW ? yt + ((m * outH + oh) * outW + ow) * L : discard;
          }
          outputTransform(mt + (i * nv + j) * L, mc * nv * L, a.bias ? a.bias[m] : 0.0f,
                          a.relu, dst);
        }
      }
    });
  }
  // 5. yt[m][position][lane] back to NCHW.
  transposeOutputs(a, n0, count, yt);
}

} // namespace ds::rt::conv
