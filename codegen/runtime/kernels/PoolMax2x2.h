//===- PoolMax2x2.h - the 2x2 / stride-2 float MaxPool on AVX-512 ----------===//
//
// The downsampling MaxPool of most CNNs (2x2 window, stride 2, no padding, no
// dilation) in vectors of 16 outputs, folded in the reference's order (x00,
// x01, x10, x11; replace when `v > best`), so NaNs and signed zeros come out
// as on the table path. Two layouts of the work:
//  - flat: planes of even height and a power-of-two width <= 32 are exactly
//    tiled by their windows, so all planes together are one run of 64-float
//    blocks, each holding whole row pairs and giving 16 outputs; every tap is
//    two two-register permutes and a blend (an 8x8 plane would otherwise fill
//    a quarter of a vector per output row);
//  - rows: otherwise, per output row, the taps of 16 windows come from 32
//    floats of two input rows, split into even and odd columns by permutes.
// Used for values-only float MaxPool on AVX-512 CPUs; everything else stays
// on Pool.cpp's paths.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"

#include <cstdint>

namespace ds::rt::conv {

/// Whether `g` is a 2-D 2x2 / stride-2 pool whose windows all lie inside the
/// input, and this CPU has AVX-512F.
bool maxPool2x2Applies(const WindowGeometry &g);

/// One plane: y[r, c] = fold of x[2r .. 2r+1, 2c .. 2c+1], for the geometry
/// maxPool2x2Applies accepted (x is in[1] x in[2], y is out[1] x out[2]).
void maxPool2x2Plane(const WindowGeometry &g, const float *x, float *y);

/// Whether (beyond maxPool2x2Applies) the flat layout fits `g`.
bool maxPool2x2FlatApplies(const WindowGeometry &g);

/// Blocks [b0, b1) of the flat layout: block b is input floats [64b, 64b + 64)
/// of all planes back to back (`total` floats in all) and outputs [16b, 16b + 16).
void maxPool2x2Flat(const WindowGeometry &g, const float *x, int64_t total, int64_t b0,
                    int64_t b1, float *y);

} // namespace ds::rt::conv
