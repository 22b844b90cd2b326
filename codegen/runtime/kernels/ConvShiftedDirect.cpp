//===- ConvShiftedDirect.cpp - direct FP32 conv over shifted, masked planes ===//
//
// See ConvShiftedDirect.h. The register tile is MC output channels x NV
// vectors of 16 positions, MC * NV <= 24 accumulators (of 32 zmm registers):
// per k it costs NV masked loads, MC broadcasts and MC * NV FMAs. The NV
// vectors may belong to different images (a 4x4 plane is one vector, so a
// tile of one image would spend a load per FMA on broadcasts). NV is chosen
// per call from the channel count; channel counts that are not a multiple of
// the widest tile finish with power-of-two tiles.
//
//===----------------------------------------------------------------------===//
#include "ConvShiftedDirect.h"
#include "ConvIm2col.h"
#include "FusedActivation.h"
#include "RegisterTiles.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace ds::rt::conv {
namespace {

using namespace tiles;
constexpr int kMaxNv = kMaxVectors;

/// One group of a batch of images, as the tiles see it.
struct ShiftedDirectArgs {
  const float *x = nullptr; // the group's first input plane in the first image
  int64_t xImageStride = 0; // elements from one image's input to the next
  int64_t channels = 0;     // input channels of the group
  int64_t inSize = 0;       // elements per input plane
  int64_t taps = 0;         // kernel taps per channel
  int64_t P = 0;            // output positions per plane
  const int64_t *shifts = nullptr;   // per tap: input offset of output position 0
  const uint8_t *laneBits = nullptr; // per tap, bit p: tap valid at position p (0 from P on)
  int64_t bitStride = 0;             // bytes per tap in laneBits
  const float *w = nullptr; // [outChannels, channels * taps]
  int64_t outChannels = 0;
  int tileVectors = 1;          // NV of the widest tiles (shiftedDirectTileVectors)
  const float *scale = nullptr; // [outChannels] or null (DirectConv::scale)
  const float *bias = nullptr;  // [outChannels] or null
  bool relu = false;
  float *y = nullptr;       // the group's first output plane ([outChannels, P]) in the first image
  int64_t yImageStride = 0; // elements from one image's output to the next
};

/// One vector of 16 output positions of one image, as a tile reads and writes it.
struct Slot {
  int64_t x = 0;    // offset of its position 0 in the image's input planes
  int64_t y = 0;    // offset of its position 0 in the output
  int64_t bits = 0; // byte offset of its lanes within a tap's laneBits
  __mmask16 live = 0; // the positions that exist (< P)
};

// fp-contract=off: the scaled epilogue rounds the product and the sum apart.
template <int MC, int NV>
__attribute__((target("avx512f"), optimize("fp-contract=off"))) void
tile(const ShiftedDirectArgs &a, int64_t m0, const Slot *slot) {
  const int64_t K = a.channels * a.taps;
  __m512 acc[MC][NV];
  DS_UNROLL for (int i = 0; i < MC; ++i)
    DS_UNROLL for (int j = 0; j < NV; ++j)
      acc[i][j] = _mm512_setzero_ps();
  const float *w = a.w + m0 * K;
  for (int64_t c = 0; c < a.channels; ++c) {
    const float *plane = a.x + c * a.inSize;
    for (int64_t t = 0; t < a.taps; ++t) {
      // Masked-off lanes (padding, positions past P) are neither read, so
      // addresses outside the plane do not fault, nor anything but zero.
      const float *src = plane + a.shifts[t];
      const uint8_t *bits = a.laneBits + t * a.bitStride;
      __m512 row[NV];
      DS_UNROLL for (int j = 0; j < NV; ++j) {
        uint16_t valid;
        std::memcpy(&valid, bits + slot[j].bits, sizeof valid);
        row[j] = _mm512_maskz_loadu_ps(static_cast<__mmask16>(valid), src + slot[j].x);
      }
      const float *wk = w + c * a.taps + t;
      DS_UNROLL for (int i = 0; i < MC; ++i) {
        const __m512 wv = _mm512_set1_ps(wk[i * K]);
        DS_UNROLL for (int j = 0; j < NV; ++j)
          acc[i][j] = _mm512_fmadd_ps(wv, row[j], acc[i][j]);
      }
    }
  }
  // Locals, not a.*: the output stores could alias `a` as far as the compiler
  // knows, and it reloaded the fields after every one of them (a K = 9 first
  // layer spends a third of its time here).
  const float *scale = a.scale, *bias = a.bias;
  float *y = a.y + m0 * a.P;
  const int64_t P = a.P;
  const bool relu = a.relu;
  int64_t yOffset[NV];
  __mmask16 live[NV];
  DS_UNROLL for (int j = 0; j < NV; ++j) {
    yOffset[j] = slot[j].y;
    live[j] = slot[j].live;
  }
  DS_UNROLL for (int i = 0; i < MC; ++i) {
    const int64_t m = m0 + i;
    const __m512 mScale = _mm512_set1_ps(scale ? scale[m] : 1.0f);
    const __m512 mBias = _mm512_set1_ps(bias ? bias[m] : 0.0f);
    DS_UNROLL for (int j = 0; j < NV; ++j) {
      __m512 out = acc[i][j];
      if (scale) // (acc * scale) + bias, bias 0 when absent: quantOutputValue's rounding
        out = _mm512_add_ps(_mm512_mul_ps(out, mScale), mBias);
      else if (bias)
        out = _mm512_add_ps(out, mBias);
      if (relu)
        out = fusedReluAvx512(out);
      _mm512_mask_storeu_ps(y + i * P + yOffset[j], live[j], out);
    }
  }
}

using TileFn = void (*)(const ShiftedDirectArgs &, int64_t, const Slot *);
template <int MC, int NV> struct Tile {
  static void run(const ShiftedDirectArgs &a, int64_t m0, const Slot *slot) { tile<MC, NV>(a, m0, slot); }
};
constexpr auto kTiles = makeTable<TileFn, Tile>();

/// Estimated cost per vector and k of covering `outChannels` with NV-vector
/// tiles: a tile issues MC * NV FMAs and NV + MC loads per k; loads weigh
/// 1.5x (masked and broadcast loads, measured slower than the FMAs here).
double costPerVector(int nv, int64_t outChannels) {
  double cost = 0;
  forEachChannelTile(nv, outChannels, [&](size_t, int64_t, int64_t mc) {
    cost += std::max(double(mc * nv), 1.5 * double(nv + mc));
  });
  return cost / nv;
}

/// How many position vectors one tile covers for `outChannels` (1 to 4): the
/// cheapest by costPerVector, the widest on ties.
int shiftedDirectTileVectors(int64_t outChannels) {
  int nv = kMaxNv;
  for (int candidate = kMaxNv - 1; candidate >= 1; --candidate)
    if (costPerVector(candidate, outChannels) < costPerVector(nv, outChannels))
      nv = candidate;
  return nv;
}

/// Every output channel of the position vectors [q0, q1), numbered across
/// images: vector q is positions [16 * v, min(P, 16 * v + 16)) of image q / V,
/// v = q % V, V = ceil(P / 16).
void shiftedDirectConv(const ShiftedDirectArgs &a, int64_t q0, int64_t q1) {
  const int nv = a.tileVectors;
  const int64_t vectors = (a.P + 15) / 16;
  for (int64_t q = q0; q < q1; q += nv) {
    const int n = static_cast<int>(std::min<int64_t>(nv, q1 - q));
    Slot slot[kMaxNv];
    for (int j = 0; j < n; ++j) {
      const int64_t image = (q + j) / vectors, v = (q + j) % vectors;
      const int64_t left = a.P - v * 16;
      slot[j].x = image * a.xImageStride + v * 16;
      slot[j].y = image * a.yImageStride + v * 16;
      slot[j].bits = v * 2;
      slot[j].live = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    }
    const auto &tiles = kTiles[n - 1];
    forEachChannelTile(n, a.outChannels,
                       [&](size_t kind, int64_t m, int64_t) { tiles[kind](a, m, slot); });
  }
}

} // namespace

bool shiftedDirectShapeApplies(const WindowGeometry &g, int64_t inPerGroup,
                               int64_t outPerGroup) {
  constexpr int64_t kMaxGroupWeights = int64_t{1} << 16;
  return ShiftedTaps<float>::applies(g) &&
         outPerGroup * inPerGroup * g.kernelSize() <= kMaxGroupWeights;
}

bool shiftedDirectApplies(const WindowGeometry &g, int64_t inPerGroup, int64_t outPerGroup) {
  // The lane masks the tiles read exist exactly when ShiftedTaps builds its AVX-512 bits.
  return shiftedTapsAvx512Available() && shiftedDirectShapeApplies(g, inPerGroup, outPerGroup);
}

void shiftedDirect(ThreadPool &pool, const DirectConv &c) {
  const WindowGeometry &g = *c.geom;
  const ShiftedTaps<float> taps(g);
  DS_CHECK(taps.laneBits() != nullptr, "conv: the direct path needs AVX-512 lane masks");
  const int64_t P = g.outSize(), K = c.inPerGroup * g.kernelSize();
  const int64_t inChannels = c.groups * c.inPerGroup, outChannels = c.groups * c.outPerGroup;
  const int64_t vectors = c.batch * ((P + 15) / 16); // per group
  // Work items are one tile's vectors each, so the pool's even split keeps full
  // tiles; about 64K FMAs per chunk at least.
  const int64_t tileVectors = shiftedDirectTileVectors(c.outPerGroup);
  const int64_t units = (vectors + tileVectors - 1) / tileVectors;
  const int64_t fmasPerUnit = std::max<int64_t>(1, c.outPerGroup * K * 16 * tileVectors);
  const int64_t minUnits = std::max<int64_t>(1, (int64_t{1} << 16) / fmasPerUnit);
  pool.parallelFor(c.groups * units, minUnits, [&](int64_t begin, int64_t end) {
    for (int64_t grp = begin / units; grp * units < end; ++grp) {
      const int64_t u0 = std::max(begin, grp * units) - grp * units;
      const int64_t u1 = std::min(end, (grp + 1) * units) - grp * units;
      ShiftedDirectArgs a;
      a.x = c.x + grp * c.inPerGroup * g.inSize();
      a.xImageStride = inChannels * g.inSize();
      a.channels = c.inPerGroup;
      a.inSize = g.inSize();
      a.taps = g.kernelSize();
      a.P = P;
      a.shifts = taps.shifts();
      a.laneBits = taps.laneBits();
      a.bitStride = taps.bitStride();
      a.w = c.w + grp * c.outPerGroup * K;
      a.outChannels = c.outPerGroup;
      a.tileVectors = static_cast<int>(tileVectors);
      a.scale = c.scale ? c.scale + grp * c.outPerGroup : nullptr;
      a.bias = c.bias ? c.bias + grp * c.outPerGroup : nullptr;
      a.relu = c.relu;
      a.y = c.y + grp * c.outPerGroup * P;
      a.yImageStride = outChannels * P;
      shiftedDirectConv(a, u0 * tileVectors, std::min(vectors, u1 * tileVectors));
    }
  });
}

} // namespace ds::rt::conv
