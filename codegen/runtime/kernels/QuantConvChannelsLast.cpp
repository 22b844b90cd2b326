//===- QuantConvChannelsLast.cpp ------------------------------------------===//
#include "QuantConvChannelsLast.h"

#include "QuantGemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace ds::rt::quant_conv {

std::vector<int8_t> weightsChannelsLast(const int8_t *w, int64_t outChannels,
                                        int64_t groupChannels, int64_t kernelSize) {
  const int64_t K = groupChannels * kernelSize;
  std::vector<int8_t> out(static_cast<size_t>(outChannels * K));
  for (int64_t m = 0; m < outChannels; ++m)
    for (int64_t c = 0; c < groupChannels; ++c)
      for (int64_t t = 0; t < kernelSize; ++t)
        out[static_cast<size_t>(m * K + t * groupChannels + c)] = w[m * K + c * kernelSize + t];
  return out;
}

void bytesToChannelsLast(ThreadPool &pool, const uint8_t *xq, int64_t batch, int64_t channels,
                         int64_t planeSize, uint8_t *out) {
  const int64_t perImage = channels * planeSize;
  pool.parallelFor(batch, std::max<int64_t>(1, 65536 / std::max<int64_t>(perImage, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t n = begin; n < end; ++n) {
                       const uint8_t *src = xq + n * perImage;
                       uint8_t *dst = out + n * perImage;
                       for (int64_t c = 0; c < channels; ++c)
                         for (int64_t i = 0; i < planeSize; ++i)
                           dst[i * channels + c] = src[c * planeSize + i];
                     }
                   });
}

namespace {
/// Byte offset (from the group's first channel) of input pixel (ih, iw), or -1
/// when the window position lies in the padding.
int64_t pixelOffset(const conv::WindowGeometry &g, int64_t p, int64_t ky, int64_t kx,
                    int64_t channels) {
  const int64_t oh = p / g.out[2], ow = p % g.out[2];
  const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
  const int64_t iw = ow * g.stride[2] - g.padBegin[2] + kx * g.dilation[2];
  if (ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2])
    return -1;
  return (ih * g.in[2] + iw) * channels;
}
} // namespace

void im2colChannelsLast(const conv::WindowGeometry &g, const uint8_t *xg, int64_t channels,
                        int64_t groupChannels, uint8_t zp, int64_t p0, int64_t p1,
                        uint8_t *col) {
  const int64_t kh = g.kernel[1], kw = g.kernel[2];
  for (int64_t p = p0; p < p1; ++p) {
    uint8_t *dst = col + (p - p0) * kh * kw * groupChannels;
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx, dst += groupChannels) {
        const int64_t off = pixelOffset(g, p, ky, kx, channels);
        if (off < 0)
          std::memset(dst, zp, static_cast<size_t>(groupChannels));
        else
          std::memcpy(dst, xg + off, static_cast<size_t>(groupChannels));
      }
  }
}

ChannelsLastTable::ChannelsLastTable(const conv::WindowGeometry &g, int64_t channels,
                                     int64_t groupChannels, int64_t panelRows)
    : rows_(panelRows), k_(groupChannels * g.kernelSize()) {
  const int64_t P = g.outSize(), kh = g.kernel[1], kw = g.kernel[2];
  panels_ = (P + rows_ - 1) / rows_;
  offsets_.assign(static_cast<size_t>(panels_ * panelBytes() / 4), -1);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx) {
        const int64_t off = pixelOffset(g, p, ky, kx, channels);
        if (off < 0)
          continue;
        const int64_t k0 = (ky * kw + kx) * groupChannels;
        for (int64_t c = 0; c < groupChannels; c += 4)
          offsets_[static_cast<size_t>(quantGemmPackedAIndex(p, k0 + c, rows_, k_) / 4)] =
              static_cast<int32_t>(off + c);
      }
}

namespace {
/// 16 dwords per masked gather; padding lanes keep the replicated zero point.
__attribute__((target("avx512f"))) void fillAvx512(const uint8_t *xg, uint32_t zp4,
                                                   const int32_t *off, int64_t n, uint8_t *dst) {
  const __m512i zpv = _mm512_set1_epi32(static_cast<int>(zp4)), zero = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i o = _mm512_loadu_si512(off + i);
    const __mmask16 valid = _mm512_cmpge_epi32_mask(o, zero);
    _mm512_storeu_si512(dst + 4 * i, _mm512_mask_i32gather_epi32(zpv, valid, o, xg, 1));
  }
  for (; i < n; ++i)
    std::memcpy(dst + 4 * i, off[i] < 0 ? reinterpret_cast<const uint8_t *>(&zp4) : xg + off[i], 4);
}
} // namespace

void ChannelsLastTable::fill(const uint8_t *xg, uint8_t zp, int64_t a0, int64_t a1,
                             uint8_t *packed) const {
  const int64_t dwordsPerPanel = panelBytes() / 4;
  const int32_t *off = offsets_.data() + a0 * dwordsPerPanel;
  const int64_t n = (a1 - a0) * dwordsPerPanel;
  uint8_t *dst = packed + a0 * panelBytes();
  const uint32_t zp4 = 0x01010101u * zp;
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512)
    return fillAvx512(xg, zp4, off, n, dst);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + 4 * i, off[i] < 0 ? reinterpret_cast<const uint8_t *>(&zp4) : xg + off[i], 4);
}

} // namespace ds::rt::quant_conv
