//===- ConvIm2col.h - column matrices for im2col convolution ---------------===//
//
// im2col writes, for one group of one image and output positions [p0, p1), the
// Cg * kernelSize rows of the column matrix: row (c, kz, ky, kx), column p holds
// x[c, window(p) + tap] - xZero, or 0 where the tap falls into the padding.
//
// Two ways to fill it:
//  - ShiftedTaps: stride-1 2-D/1-D convs whose output plane has the input's
//    width. Then every tap row is the input plane shifted by a constant offset
//    (dy * W + dx) with the padding positions masked out, so a row is one
//    branch-free, vectorizable pass over contiguous memory instead of one short
//    copy per output row (for the 4x4 and 8x8 planes of small CNNs, those
//    short copies cost more than the GEMM). The masks depend only on the
//    geometry and are built once per kernel call; the loop itself is in
//    ConvIm2col.cpp, cloned for AVX2/AVX-512.
//  - im2colRows: everything else, one output row segment at a time.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace ds::rt::conv {

/// ceil(a / b) for b > 0 and any sign of a.
inline int64_t ceilDivSigned(int64_t a, int64_t b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/// Output columns [lo, hi) within [begin, end) along the innermost dim whose
/// input column ow * stride - pad + offset lies in [0, width).
inline void validRange(int64_t offset, int64_t pad, int64_t stride, int64_t width,
                       int64_t begin, int64_t end, int64_t &lo, int64_t &hi) {
  lo = std::max(begin, ceilDivSigned(pad - offset, stride));
  hi = std::min(end, ceilDivSigned(width + pad - offset, stride));
  lo = std::min(lo, end);
  hi = std::max(hi, lo);
}

/// Generic im2col of output positions [p0, p1) for `channels` input planes;
/// column matrix rows are `ld` elements apart.
template <typename TIn, typename TAcc>
void im2colRows(const WindowGeometry &g, const TIn *x, int64_t channels, TAcc xZero,
                int64_t p0, int64_t p1, TAcc *col, int64_t ld) {
  const int64_t outW = g.out[2], outH = g.out[1];
  const int64_t inH = g.in[1], inW = g.in[2], inD = g.in[0];
  const int64_t sw = g.stride[2];
  TAcc *dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const TIn *plane = x + c * g.inSize();
    for (int64_t kz = 0; kz < g.kernel[0]; ++kz)
      for (int64_t ky = 0; ky < g.kernel[1]; ++ky)
        for (int64_t kx = 0; kx < g.kernel[2]; ++kx, dst += ld) {
          const int64_t offset = kx * g.dilation[2];
          // The valid columns of a full output row depend on kx only.
          int64_t rowLo, rowHi;
          validRange(offset, g.padBegin[2], sw, inW, 0, outW, rowLo, rowHi);
          int64_t p = p0;
          TAcc *out = dst;
          while (p < p1) {
            const int64_t ow0 = p % outW, row = p / outW;
            const int64_t oh = row % outH, od = row / outH;
            const int64_t owEnd = std::min(outW, ow0 + (p1 - p));
            const int64_t id = od * g.stride[0] - g.padBegin[0] + kz * g.dilation[0];
            const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
            const int64_t n = owEnd - ow0;
            if (id < 0 || id >= inD || ih < 0 || ih >= inH) {
              std::fill(out, out + n, TAcc(0));
            } else {
              const int64_t lo = std::clamp(rowLo, ow0, owEnd);
              const int64_t hi = std::clamp(rowHi, lo, owEnd);
              const TIn *s = plane + (id * inH + ih) * inW + offset - g.padBegin[2];
              std::fill(out, out + (lo - ow0), TAcc(0));
              for (int64_t ow = lo; ow < hi; ++ow)
                out[ow - ow0] = static_cast<TAcc>(s[ow * sw]) - xZero;
              std::fill(out + (hi - ow0), out + n, TAcc(0));
            }
            out += n;
            p += n;
          }
        }
  }
}

/// The loop of ShiftedTaps::fill, in ConvIm2col.cpp (cloned per ISA there):
/// for each channel and tap t, col row = (plane shifted by shifts[t]) & masks[t].
void shiftedTapsFill(const float *x, int64_t channels, int64_t taps, int64_t P,
                     int64_t inSize, const int64_t *shifts, const uint32_t *masks, int64_t p0,
                     int64_t p1, float *col, int64_t ld);
/// float with AVX-512 (checked by the caller): masked loads read only the
/// valid lanes, so a row is one mask extraction, load and store per 16
/// outputs. `laneBits` holds per tap ceil(P/8) + 4 bytes, bit p = mask p valid.
bool shiftedTapsAvx512Available();
void shiftedTapsFillAvx512(const float *x, int64_t channels, int64_t taps, int64_t P,
                           int64_t inSize, const int64_t *shifts, const uint8_t *laneBits,
                           int64_t bitStride, int64_t p0, int64_t p1, float *col, int64_t ld);
void shiftedTapsFill(const double *x, int64_t channels, int64_t taps, int64_t P,
                     int64_t inSize, const int64_t *shifts, const uint64_t *masks, int64_t p0,
                     int64_t p1, double *col, int64_t ld);

/// The shifted-plane im2col (see the file comment) for float/double convs.
template <typename T> class ShiftedTaps {
public:
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

  /// Whether `g` qualifies and its masks stay small (kernel taps x plane).
  static bool applies(const WindowGeometry &g) {
    return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.stride[1] == 1 &&
           g.stride[2] == 1 && g.out[2] == g.in[2] &&
           g.kernel[1] * g.kernel[2] * g.outSize() <= (int64_t{1} << 16);
  }

  explicit ShiftedTaps(const WindowGeometry &g) : g_(g) {
    const int64_t P = g.outSize(), W = g.in[2];
    const int64_t taps = g.kernel[1] * g.kernel[2];
    masks_.resize(static_cast<size_t>(taps * P));
    shifts_.resize(static_cast<size_t>(g.kernel[1] * g.kernel[2]));
    Bits *m = masks_.data();
    for (int64_t ky = 0; ky < g.kernel[1]; ++ky)
      for (int64_t kx = 0; kx < g.kernel[2]; ++kx, m += P) {
        const int64_t dy = ky * g.dilation[1] - g.padBegin[1];
        const int64_t dx = kx * g.dilation[2] - g.padBegin[2];
        shifts_[ky * g.kernel[2] + kx] = dy * W + dx;
        for (int64_t p = 0; p < P; ++p) {
          const int64_t ih = p / W + dy, iw = p % W + dx;
          m[p] = ih >= 0 && ih < g.in[1] && iw >= 0 && iw < W ? ~Bits(0) : Bits(0);
        }
      }
    if constexpr (std::is_same_v<T, float>) {
      if (shiftedTapsAvx512Available()) {
        bitStride_ = (P + 7) / 8 + 4; // room for an unaligned 4-byte read at the end
        laneBits_.assign(static_cast<size_t>(taps * bitStride_), 0);
        for (int64_t t = 0; t < taps; ++t)
          for (int64_t p = 0; p < P; ++p)
            if (masks_[t * P + p])
              laneBits_[t * bitStride_ + p / 8] |= uint8_t(1u << (p % 8));
      }
    }
  }

  /// Fills the rows of `channels` planes for output positions [p0, p1).
  void fill(const T *x, int64_t channels, int64_t p0, int64_t p1, T *col, int64_t ld) const {
    if constexpr (std::is_same_v<T, float>)
      if (!laneBits_.empty()) {
        shiftedTapsFillAvx512(x, channels, g_.kernel[1] * g_.kernel[2], g_.outSize(),
                              g_.inSize(), shifts_.data(), laneBits_.data(), bitStride_, p0,
                              p1, col, ld);
        return;
      }
    shiftedTapsFill(x, channels, g_.kernel[1] * g_.kernel[2], g_.outSize(), g_.inSize(),
                    shifts_.data(), masks_.data(), p0, p1, col, ld);
  }

  /// Per tap: the input offset of output position 0 (dy * W + dx).
  const int64_t *shifts() const { return shifts_.data(); }
  /// float with AVX-512 only (else empty): per tap, bit p set where the tap is valid.
  const uint8_t *laneBits() const { return laneBits_.empty() ? nullptr : laneBits_.data(); }
  int64_t bitStride() const { return bitStride_; }

private:
  WindowGeometry g_;
  std::vector<Bits> masks_;
  std::vector<int64_t> shifts_;
  std::vector<uint8_t> laneBits_; // float + AVX-512 only
  int64_t bitStride_ = 0;
};

} // namespace ds::rt::conv
