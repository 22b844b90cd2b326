//===- ConvWinograd.cpp - Winograd F(2x2 | 4x4, 3x3) FP32 conv, images in lanes -===//
//
// See ConvWinograd.h. One call works on a block of up to 16 images, with
// output blocks of T x T (T = 2 or 4) from patches of A x A = (T + 2)^2 inputs:
//  1. the block's input planes are transposed into a zero-padded scratch,
//     xt[c][row][col] = 16 floats (one per image), rows/cols padded by 1 and
//     up to a whole number of T x T output blocks;
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
#include "FusedActivation.h"
#include "RegisterTiles.h"
#include "Scratch.h"
#include "Transpose16.h"
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

/// The transforms of F(T x T, 3x3) as 1-D steps on columns, then rows (Lavin &
/// Gray; F(4x4) uses the points 0, +-1, +-2 and infinity). Each is written out by
/// hand: a generic matrix product would multiply by the zeros of B and A, which
/// is neither free nor exact for Inf/NaN inputs.
template <int T> struct Tile;

template <> struct Tile<2> {
  static constexpr int A = 4;
  /// G: [A][3], applied to the weights in double.
  static constexpr double G[A][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  __attribute__((target("avx512f"), always_inline)) static inline void
  inputStep(const __m512 (&d)[A], __m512 (&t)[A]) {
    t[0] = _mm512_sub_ps(d[0], d[2]);
    t[1] = _mm512_add_ps(d[1], d[2]);
    t[2] = _mm512_sub_ps(d[2], d[1]);
    t[3] = _mm512_sub_ps(d[1], d[3]);
  }
  __attribute__((target("avx512f"), always_inline)) static inline void
  outputStep(const __m512 (&m)[A], __m512 (&y)[2]) {
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
  }
};

template <> struct Tile<4> {
  static constexpr int A = 6;
  static constexpr double G[A][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};
  /// B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
  ///        0 2 -1 -2 1 0; 0 4 0 -5 0 1], sharing the sums rows 1-4 have in common.
  __attribute__((target("avx512f"), always_inline)) static inline void
  inputStep(const __m512 (&d)[A], __m512 (&t)[A]) {
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    t[0] = _mm512_fnmadd_ps(five, d[2], _mm512_fmadd_ps(four, d[0], d[4]));
    const __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]); // d4 - 4 d2
    const __m512 b = _mm512_fnmadd_ps(four, d[1], d[3]); // d3 - 4 d1
    t[1] = _mm512_add_ps(a, b);
    t[2] = _mm512_sub_ps(a, b);
    const __m512 c = _mm512_sub_ps(d[4], d[2]);
    const __m512 e = _mm512_add_ps(_mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[3], d[1]));
    t[3] = _mm512_add_ps(c, e);
    t[4] = _mm512_sub_ps(c, e);
    t[5] = _mm512_fnmadd_ps(five, d[3], _mm512_fmadd_ps(four, d[1], d[5]));
  }
  /// A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
  __attribute__((target("avx512f"), always_inline)) static inline void
  outputStep(const __m512 (&m)[A], __m512 (&y)[4]) {
    const __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    const __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
  }
};

/// V = B^T d B of one A x A patch whose top-left is `d` (rows `rowStride` floats
/// apart, 16 floats per column), into v[point * pointStride], point = A * row + col.
template <int T>
__attribute__((target("avx512f"))) void inputTransform(const float *d, int64_t rowStride,
                                                       float *v, int64_t pointStride) {
  constexpr int A = Tile<T>::A;
  __m512 t[A][A]; // t[i][k] = (B^T d)[i][k]
  DS_UNROLL for (int k = 0; k < A; ++k) {
    __m512 col[A], out[A];
    DS_UNROLL for (int r = 0; r < A; ++r)
      col[r] = _mm512_loadu_ps(d + r * rowStride + k * 16);
    Tile<T>::inputStep(col, out);
    DS_UNROLL for (int i = 0; i < A; ++i)
      t[i][k] = out[i];
  }
  DS_UNROLL for (int i = 0; i < A; ++i) {
    __m512 out[A];
    Tile<T>::inputStep(t[i], out);
    DS_UNROLL for (int j = 0; j < A; ++j)
      _mm512_storeu_ps(v + (A * i + j) * pointStride, out[j]);
  }
}

/// Y = A^T M A (+ bias, Relu) of one output channel and patch: m[point *
/// pointStride] in; output (row i, column j) of the T x T block goes to
/// y[T * i + j] (16 floats each).
template <int T>
__attribute__((target("avx512f"))) void outputTransform(const float *m, int64_t pointStride,
                                                        float bias, bool relu,
                                                        float *const (&y)[T * T]) {
  constexpr int A = Tile<T>::A;
  __m512 s[T][A]; // s[i][k] = (A^T M)[i][k]
  DS_UNROLL for (int k = 0; k < A; ++k) {
    __m512 col[A], out[T];
    DS_UNROLL for (int r = 0; r < A; ++r)
      col[r] = _mm512_loadu_ps(m + (r * A + k) * pointStride);
    Tile<T>::outputStep(col, out);
    DS_UNROLL for (int i = 0; i < T; ++i)
      s[i][k] = out[i];
  }
  const __m512 b = _mm512_set1_ps(bias);
  DS_UNROLL for (int i = 0; i < T; ++i) {
    __m512 out[T];
    Tile<T>::outputStep(s[i], out);
    DS_UNROLL for (int j = 0; j < T; ++j) {
      __m512 v = _mm512_add_ps(out[j], b);
      if (relu)
        v = fusedReluAvx512(v);
      _mm512_storeu_ps(y[T * i + j], v);
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

/// The tile's scratch sizes: patch rows/columns of the padded plane.
struct PatchGrid {
  int64_t patchRows, patchCols, rows, cols;
};
PatchGrid patchGrid(const WindowGeometry &g, int tile) {
  const int64_t pr = (g.out[1] + tile - 1) / tile, pc = (g.out[2] + tile - 1) / tile;
  return {pr, pc, tile * pr + 2, tile * pc + 2};
}

template <int T>
__attribute__((target("avx512f"))) void imagesWithTile(const WinogradArgs &a, int64_t n0,
                                                       int64_t count) {
  constexpr int A = Tile<T>::A, Points = A * A;
  const WindowGeometry &g = *a.g;
  const int64_t outH = g.out[1], outW = g.out[2];
  const auto [patchRows, patchCols, rows, cols] = patchGrid(g, T);
  const int64_t patches = patchRows * patchCols;
  const int64_t C = a.channels, Mg = a.outChannels, L = kWinogradLanes;

  // 1. xt[c][row][col][lane], zero where padded or past `count` images.
  static thread_local Scratch<float> xtStorage, vtStorage, mtStorage, ytStorage;
  float *xt = xtStorage.get(static_cast<size_t>(C * rows * cols * L));
  std::fill(xt, xt + C * rows * cols * L, 0.0f);
  transposeInputs(a, n0, count, cols, rows, xt);
  float *yt = ytStorage.get(static_cast<size_t>(Mg * outH * outW * L));

  float *vt = vtStorage.get(static_cast<size_t>(kMaxPatches * Points * C * L));
  float *mt = mtStorage.get(static_cast<size_t>(Points * kAccumulators * L));
  alignas(64) float discard[16]; // outputs of a block's cut-off rows or columns
  for (int64_t p0 = 0; p0 < patches; p0 += kMaxPatches) {
    const int nv = static_cast<int>(std::min<int64_t>(kMaxPatches, patches - p0));
    // 2. vt[j][point][c][lane] for the chunk's patches.
    for (int j = 0; j < nv; ++j) {
      const int64_t pr = (p0 + j) / patchCols, pc = (p0 + j) % patchCols;
      for (int64_t c = 0; c < C; ++c)
        inputTransform<T>(xt + ((c * rows + T * pr) * cols + T * pc) * L, cols * L,
                          vt + (j * Points * C + c) * L, C * L);
    }
    // 3 and 4, per tile of output channels.
    forEachChannelTile(nv, Mg, [&](size_t kind, int64_t m0, int64_t mc) {
      for (int point = 0; point < Points; ++point) {
        const float *v[kMaxPatches];
        for (int j = 0; j < nv; ++j)
          v[j] = vt + (j * Points + point) * C * L;
        kPointTiles[nv - 1][kind](C, a.u + (point * Mg + m0) * C, C, v,
                                  mt + point * mc * nv * L);
      }
      for (int64_t i = 0; i < mc; ++i) {
        const int64_t m = m0 + i;
        for (int j = 0; j < nv; ++j) {
          const int64_t pr = (p0 + j) / patchCols, pc = (p0 + j) % patchCols;
          float *dst[T * T];
          for (int q = 0; q < T * T; ++q) {
            const int64_t oh = T * pr + q / T, ow = T * pc + q % T;
            dst[q] = oh < outH && ow < outW ? yt + ((m * outH + oh) * outW + ow) * L : discard;
          }
          outputTransform<T>(mt + (i * nv + j) * L, mc * nv * L, a.bias ? a.bias[m] : 0.0f,
                             a.relu, dst);
        }
      }
    });
  }
  // 5. yt[m][position][lane] back to NCHW.
  transposeOutputs(a, n0, count, yt);
}

template <int T>
void weightsWithTile(const float *w, int64_t groups, int64_t inPerGroup, int64_t outPerGroup,
                     float *u) {
  constexpr int A = Tile<T>::A;
  const auto &G = Tile<T>::G;
  const int64_t M = groups * outPerGroup;
  for (int64_t m = 0; m < M; ++m) {
    const int64_t grp = m / outPerGroup, mg = m % outPerGroup;
    for (int64_t c = 0; c < inPerGroup; ++c) {
      const float *f = w + (m * inPerGroup + c) * 9;
      double gf[A][3]; // G g
      for (int i = 0; i < A; ++i)
        for (int k = 0; k < 3; ++k)
          gf[i][k] = G[i][0] * f[k] + G[i][1] * f[3 + k] + G[i][2] * f[6 + k];
      for (int i = 0; i < A; ++i)
        for (int j = 0; j < A; ++j) {
          const double value = gf[i][0] * G[j][0] + gf[i][1] * G[j][1] + gf[i][2] * G[j][2];
          u[((grp * A * A + A * i + j) * outPerGroup + mg) * inPerGroup + c] =
              static_cast<float>(value);
        }
    }
  }
}

/// Multiplies of the products per image and channel pair: patches x points.
int64_t productCost(const WindowGeometry &g, int tile) {
  const PatchGrid grid = patchGrid(g, tile);
  return grid.patchRows * grid.patchCols * (tile + 2) * (tile + 2);
}

} // namespace

int winogradTile(const WindowGeometry &g, int64_t batch, int64_t inPerGroup,
                 int64_t outPerGroup) {
  if (!cpuHasAvx512f() || batch < kWinogradLanes || inPerGroup < 8 || inPerGroup > 256 ||
      outPerGroup < 1)
    return 0;
  if (!(g.in[0] == 1 && g.kernel == Dims3{1, 3, 3} && g.stride == Dims3{1, 1, 1} &&
        g.dilation == Dims3{1, 1, 1} && g.padBegin == Dims3{0, 1, 1} &&
        g.padEnd == Dims3{0, 1, 1}))
    return 0;
  // F(4x4) when it needs fewer products (a 4x4 plane: 36 per pair instead of
  // 64), F(2x2) otherwise: it also rounds less.
  const int tile = productCost(g, 4) < productCost(g, 2) ? 4 : 2;
  // The transposed, padded block of inputs and the block of outputs stay within 1 MB each.
  const PatchGrid grid = patchGrid(g, tile);
  constexpr int64_t kMaxFloats = (int64_t{1} << 20) / 4 / kWinogradLanes;
  return inPerGroup * grid.rows * grid.cols <= kMaxFloats && outPerGroup * g.outSize() <= kMaxFloats
             ? tile
             : 0;
}

void winogradWeights(const float *w, int64_t groups, int64_t inPerGroup, int64_t outPerGroup,
                     int tile, float *u) {
  if (tile == 4)
    weightsWithTile<4>(w, groups, inPerGroup, outPerGroup, u);
  else
    weightsWithTile<2>(w, groups, inPerGroup, outPerGroup, u);
}

void winogradImages(const WinogradArgs &a, int64_t n0, int64_t count) {
  if (a.tile == 4)
    imagesWithTile<4>(a, n0, count);
  else
    imagesWithTile<2>(a, n0, count);
}

} // namespace ds::rt::conv
