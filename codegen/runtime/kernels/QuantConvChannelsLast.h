//===- QuantConvChannelsLast.h - quant_conv's im2col over NHWC bytes ------===//
//
// quant_conv's u8 x s8 GEMM sums over K = C/group * kh * kw in any order, as
// long as A (im2col) and B (weights) agree: integer sums are exact. When the
// group's channel count is a multiple of 4, ordering K as (ky, kx, c) and
// quantizing x to channels-last (NHWC) bytes makes every 4-byte group of the
// GEMM's packed A (4 consecutive k) 4 consecutive bytes of the input: one
// dword copy instead of four byte gathers. The results are bit-identical to
// the (c, ky, kx) order; only the speed differs (the byte-wise table fill was
// 43% of the INT8 digits CNN).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"

#include "ds/runtime/ThreadPool.h"

#include <cstdint>
#include <vector>

namespace ds::rt::quant_conv {

/// Whether a group of `groupChannels` input channels takes the channels-last path.
inline bool channelsLastApplies(int64_t groupChannels) {
  return groupChannels > 0 && groupChannels % 4 == 0;
}

/// w [M, Cg, kh, kw] int8 reordered per output channel to [M, kh, kw, Cg]: the
/// (ky, kx, c) K order of the channels-last A.
std::vector<int8_t> weightsChannelsLast(const int8_t *w, int64_t outChannels,
                                        int64_t groupChannels, int64_t kernelSize);

/// xq [N, C, HW] bytes -> [N, HW, C] (parallel over images).
void bytesToChannelsLast(ThreadPool &pool, const uint8_t *xq, int64_t batch, int64_t channels,
                         int64_t planeSize, uint8_t *out);

/// Row-major im2col [p1 - p0, K] in (ky, kx, c) order for output positions
/// [p0, p1) of one group: xg points at the group's first channel of one
/// image's NHWC bytes (pixel stride `channels`); padding gets `zp`.
void im2colChannelsLast(const conv::WindowGeometry &g, const uint8_t *xg, int64_t channels,
                        int64_t groupChannels, uint8_t zp, int64_t p0, int64_t p1,
                        uint8_t *col);

/// The channels-last im2col as a table of dword offsets laid out as
/// quantGemm's packed A: dword d of the packed A copies the 4 bytes at
/// xg + offset[d], or the zero point (offset -1: padding, filler rows).
/// Depends on the geometry only: built once per call, then every (image,
/// group) is one flat pass.
class ChannelsLastTable {
public:
  /// Whether the table stays small (4 MB of offsets).
  static bool applies(const conv::WindowGeometry &g, int64_t groupChannels) {
    return g.outSize() * groupChannels * g.kernelSize() / 4 <= (int64_t{1} << 20);
  }

  ChannelsLastTable(const conv::WindowGeometry &g, int64_t channels, int64_t groupChannels,
                    int64_t panelRows);

  int64_t panels() const { return panels_; }
  int64_t panelBytes() const { return rows_ * k_; }
  int64_t panelRows() const { return rows_; }

  /// Panels [a0, a1) of the packed A of the group at xg.
  void fill(const uint8_t *xg, uint8_t zp, int64_t a0, int64_t a1, uint8_t *packed) const;

private:
  int64_t rows_, k_, panels_ = 0;
  std::vector<int32_t> offsets_; // one per dword of the packed A
};

} // namespace ds::rt::quant_conv
