//===- ConvShiftedDirect.h - direct FP32 conv over shifted, masked planes --===//
//
// For the convs ShiftedTaps serves (stride 1, 2-D or 1-D, output as wide as
// the input), every row of the column matrix is the input plane shifted by a
// constant and masked at the padding. im2col writes those rows out, the GEMM
// packs them again, and small-plane batches are scattered back to NCHW: for
// the 8x8 and 4x4 planes of small CNNs that traffic costs more than the
// arithmetic. The direct path reads the shifted rows straight into registers:
// a tile of MC output channels x NV vectors of 16 output positions
// accumulates w[m, k] * (masked load of the plane at the tap's shift) for
// k = (channel, tap) in order, then adds the bias and applies the fused Relu
// on the way to y. Nothing is packed; the weights are read in place.
//
// Each output element is the same sequence of FMAs from 0 in k order, plus the
// bias after, as the im2col + GEMM path computes for K <= 256, so the two give
// the same bits there. AVX-512F only (masked loads do the padding without
// faulting); other CPUs keep the im2col path.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"

#include <cstdint>

namespace ds::rt::conv {

/// A whole conv (every image and group) for the direct path.
struct DirectConv {
  const WindowGeometry *geom = nullptr;
  int64_t batch = 0, groups = 1, inPerGroup = 0, outPerGroup = 0;
  const float *x = nullptr; // [batch, groups * inPerGroup, H, W]
  const float *w = nullptr; // [groups * outPerGroup, inPerGroup, kh, kw]
  /// Optional per output channel: y = (acc * scale[m]) + bias[m] with the product
  /// and the sum rounded apart, as quantOutputValue (quant_conv's exact path);
  /// without it y = acc + bias[m] (bias optional).
  const float *scale = nullptr;
  const float *bias = nullptr;
  bool relu = false; // x < 0 ? 0 : x after the bias
  float *y = nullptr; // [batch, groups * outPerGroup, H, W]
};

/// Whether the direct path takes convs of this geometry and per-group size: an
/// AVX-512 CPU, ShiftedTaps geometry, one group's weights small enough (256 KB)
/// to be re-read from cache by every tile instead of packed.
bool shiftedDirectApplies(const WindowGeometry &g, int64_t inPerGroup, int64_t outPerGroup);
/// The same without the CPU check: what a compiler may decide on any machine.
bool shiftedDirectShapeApplies(const WindowGeometry &g, int64_t inPerGroup, int64_t outPerGroup);

/// Runs the conv over (group, run of position vectors) tasks on `pool`.
void shiftedDirect(ThreadPool &pool, const DirectConv &c);

} // namespace ds::rt::conv
