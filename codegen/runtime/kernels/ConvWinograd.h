//===- ConvWinograd.h - Winograd F(2x2 | 4x4, 3x3) FP32 conv, images in lanes -===//
//
// A 3x3 stride-1 "same" conv computes each T x T block of outputs from a
// (T + 2)^2 input patch with (T + 2)^2 multiplies per (input, output channel)
// pair in the Winograd domain instead of 9 T^2 (Lavin & Gray): F(2x2, 3x3)
// needs 16 instead of 36, F(4x4, 3x3) 36 instead of 144. V = B^T d B per
// patch and input channel, M = sum_c U[m, c] (.) V[c] per transformed point,
// Y = A^T M A per output channel, with U = G g G^T transformed once per
// weight tensor (cached per node). The tile is chosen per plane size: F(4x4)
// where it needs fewer products (a 4x4 plane is one patch), else F(2x2).
//
// The lanes of every vector are 16 images of the batch at one position, so
// every lane does useful work on planes of any size (the 4x4 planes of small
// CNNs hold 4 patches; positions-in-lanes would waste the padded taps), and
// the products per transformed point are a register-tiled GEMM over input
// channels like ConvShiftedDirect's. Outputs differ from direct summation by
// rounding only (|error| ~ 1e-6 relative for FP32 data with F(2x2), a few
// times more with F(4x4), whose points +-2 scale terms by up to 8), except that
// an Inf or NaN input reaches every output of each block whose patch holds it
// (the transforms mix the patch), where a direct sum touches only the windows
// that contain it. AVX-512F only; batches of at least 16 images, so a batch-1
// call keeps the direct path.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"

#include <cstdint>

namespace ds::rt::conv {

/// Images per Winograd block: the vector lanes.
constexpr int64_t kWinogradLanes = 16;

/// The output tile T (2 or 4) the Winograd path uses for a float conv of this
/// geometry, batch and per-group channel counts, or 0 where it does not apply
/// (or this CPU lacks AVX-512F).
int winogradTile(const WindowGeometry &g, int64_t batch, int64_t inPerGroup,
                 int64_t outPerGroup);

/// Transformed points per (input, output channel) pair for tile T.
constexpr int64_t winogradPoints(int tile) { return (tile + 2) * (tile + 2); }

/// Floats winogradWeights writes for `groups` groups.
inline int64_t winogradWeightSize(int64_t groups, int64_t inPerGroup, int64_t outPerGroup,
                                  int tile) {
  return groups * winogradPoints(tile) * outPerGroup * inPerGroup;
}

/// U = G g G^T of every 3x3 filter w[m, c] ([M, Cg, 3, 3], M = groups *
/// outPerGroup) into u[grp][point][m][c], point = (T + 2) * row + column.
void winogradWeights(const float *w, int64_t groups, int64_t inPerGroup, int64_t outPerGroup,
                     int tile, float *u);

/// One group of the conv for images [n0, n0 + count), count <= 16.
struct WinogradArgs {
  const WindowGeometry *g = nullptr;
  const float *x = nullptr; // the group's first input plane in image 0
  int64_t xImageStride = 0;
  int64_t channels = 0;     // input channels of the group
  int tile = 2;              // T, from winogradTile
  const float *u = nullptr; // the group's transformed weights [points][outChannels][channels]
  int64_t outChannels = 0;
  const float *bias = nullptr; // the group's [outChannels] or null
  bool relu = false;
  float *y = nullptr; // the group's first output plane in image 0
  int64_t yImageStride = 0;
};
void winogradImages(const WinogradArgs &a, int64_t n0, int64_t count);

} // namespace ds::rt::conv
