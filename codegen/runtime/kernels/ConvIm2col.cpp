//===- ConvIm2col.cpp - the shifted-plane im2col loop, cloned per ISA -----===//
//
// The library is built for baseline x86-64; this loop is a masked copy of
// short contiguous rows (16 or 64 floats for small CNN planes), where 4-wide
// SSE2 plus loop overhead costs more than the GEMM that follows. It is
// compiled for AVX2 and AVX-512 too and picked at load time (ifunc). It only
// copies and masks bits, so every clone produces the same column matrix.
//
//===----------------------------------------------------------------------===//
#include "ConvIm2col.h"
#include "TargetClones.h"

#include <immintrin.h>

namespace ds::rt::conv {
namespace {

template <typename T, typename Bits>
inline void fillBody(const T *x, int64_t channels, int64_t taps, int64_t P, int64_t inSize,
                     const int64_t *shifts, const Bits *masks, int64_t p0, int64_t p1,
                     T *col, int64_t ld) {
  T *dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const T *plane = x + c * inSize;
    for (int64_t t = 0; t < taps; ++t, dst += ld) {
      const int64_t shift = shifts[t];
      // Only read inside the plane: positions whose source would fall outside
      // it are padding (masked) anyway.
      const int64_t lo = std::clamp<int64_t>(-shift, p0, p1);
      const int64_t hi = std::clamp<int64_t>(inSize - shift, lo, p1);
      const Bits *mask = masks + t * P;
      for (int64_t p = p0; p < lo; ++p)
        dst[p - p0] = T(0);
      const T *src = plane + shift;
      for (int64_t p = lo; p < hi; ++p) {
        Bits bits;
        std::memcpy(&bits, src + p, sizeof bits);
        bits &= mask[p];
        std::memcpy(dst + (p - p0), &bits, sizeof bits);
      }
      for (int64_t p = hi; p < p1; ++p)
        dst[p - p0] = T(0);
    }
  }
}

DS_X86_CLONES void fillF32(const float *x, int64_t channels, int64_t taps, int64_t P,
                           int64_t inSize, const int64_t *shifts, const uint32_t *masks,
                           int64_t p0, int64_t p1, float *col, int64_t ld) {
  fillBody(x, channels, taps, P, inSize, shifts, masks, p0, p1, col, ld);
}

DS_X86_CLONES void fillF64(const double *x, int64_t channels, int64_t taps, int64_t P,
                           int64_t inSize, const int64_t *shifts, const uint64_t *masks,
                           int64_t p0, int64_t p1, double *col, int64_t ld) {
  fillBody(x, channels, taps, P, inSize, shifts, masks, p0, p1, col, ld);
}

} // namespace

bool shiftedTapsAvx512Available() { return cpuHasAvx512f(); }

__attribute__((target("avx512f"))) void
shiftedTapsFillAvx512(const float *x, int64_t channels, int64_t taps, int64_t P,
                      int64_t inSize, const int64_t *shifts, const uint8_t *laneBits,
                      int64_t bitStride, int64_t p0, int64_t p1, float *col, int64_t ld) {
  float *dst = col;
  const int64_t n = p1 - p0;
  for (int64_t c = 0; c < channels; ++c) {
    const float *plane = x + c * inSize;
    for (int64_t t = 0; t < taps; ++t, dst += ld) {
      // Masked-off lanes are neither read (no fault, even outside the plane)
      // nor anything but zero in the result.
      const float *src = plane + shifts[t] + p0;
      const uint8_t *bits = laneBits + t * bitStride;
      for (int64_t j = 0; j < n; j += 16) {
        const int64_t p = p0 + j;
        uint32_t word;
        std::memcpy(&word, bits + p / 8, sizeof word);
        __mmask16 valid = static_cast<__mmask16>(word >> (p % 8));
        const __mmask16 live = n - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(dst + j, live, _mm512_maskz_loadu_ps(valid & live, src + j));
      }
    }
  }
}

void shiftedTapsFill(const float *x, int64_t channels, int64_t taps, int64_t P,
                     int64_t inSize, const int64_t *shifts, const uint32_t *masks, int64_t p0,
                     int64_t p1, float *col, int64_t ld) {
  fillF32(x, channels, taps, P, inSize, shifts, masks, p0, p1, col, ld);
}

void shiftedTapsFill(const double *x, int64_t channels, int64_t taps, int64_t P,
                     int64_t inSize, const int64_t *shifts, const uint64_t *masks, int64_t p0,
                     int64_t p1, double *col, int64_t ld) {
  fillF64(x, channels, taps, P, inSize, shifts, masks, p0, p1, col, ld);
}

} // namespace ds::rt::conv
