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

#include <cstdint>

namespace ds::rt::conv {

/// One group of a batch of images.
struct ShiftedDirectArgs {
  const float *x = nullptr; // the group's first input plane in the first image
  int64_t xImageStride = 0; // elements from one image's input to the next
  int64_t channels = 0;     // input channels of the group
  int64_t inSize = 0;       // elements per input plane
  int64_t taps = 0;         // kernel taps per channel
  int64_t P = 0;            // output positions per plane
  const int64_t *shifts = nullptr;  // per tap: input offset of output position 0
  const uint8_t *laneBits = nullptr; // per tap, bit p: tap valid at position p
  int64_t bitStride = 0;             // bytes per tap in laneBits
  const float *w = nullptr; // [outChannels, channels * taps]
  int64_t outChannels = 0;
  const float *bias = nullptr; // [outChannels] or null
  bool relu = false;
  float *y = nullptr;       // the group's first output plane ([outChannels, P]) in the first image
  int64_t yImageStride = 0; // elements from one image's output to the next
};

/// Whether this CPU runs shiftedDirectConv (AVX-512F).
bool shiftedDirectAvailable();

/// How many position vectors one tile covers for `outChannels` (1 to 4):
/// shiftedDirectConv works in steps of it, so callers split work at its multiples.
int shiftedDirectTileVectors(int64_t outChannels);

/// Computes every output channel of the position vectors [q0, q1), numbered
/// across images: vector q is positions [16 * v, min(P, 16 * v + 16)) of image
/// q / V, v = q % V, V = ceil(P / 16). laneBits must hold zero bits from P up
/// to the end of the last vector.
void shiftedDirectConv(const ShiftedDirectArgs &a, int64_t q0, int64_t q1);

} // namespace ds::rt::conv
