//===- QuantConvChannelsLast.cpp ------------------------------------------===//
#include "QuantConvChannelsLast.h"

#include "QuantGemm.h"
#include "TargetClones.h"

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

namespace {
/// dst[j * dstStride + i] = src[i * srcStride + j] for a 16 x 16 byte block:
/// four rounds of SSE2 unpacks (8-, 16-, 32-, 64-bit), baseline x86-64.
void transpose16x16(const uint8_t *src, int64_t srcStride, uint8_t *dst, int64_t dstStride) {
  __m128i x[16], y[16], z[16];
  for (int i = 0; i < 16; ++i)
    x[i] = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i * srcStride));
  for (int i = 0; i < 8; ++i) { // 16-bit lanes: rows (2i, 2i+1); columns 0-7, then 8-15
    y[i] = _mm_unpacklo_epi8(x[2 * i], x[2 * i + 1]);
    y[i + 8] = _mm_unpackhi_epi8(x[2 * i], x[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) // z[4b + k]: columns 4b..4b+3, rows 4k..4k+3
    for (int k = 0; k < 4; ++k) {
      z[8 * h + k] = _mm_unpacklo_epi16(y[8 * h + 2 * k], y[8 * h + 2 * k + 1]);
      z[8 * h + 4 + k] = _mm_unpackhi_epi16(y[8 * h + 2 * k], y[8 * h + 2 * k + 1]);
    }
  for (int b = 0; b < 4; ++b) {
    const __m128i *zb = z + 4 * b;
    // 64-bit lanes: one column of rows 0-7 (lo) or 8-15 (hi).
    const __m128i lo01 = _mm_unpacklo_epi32(zb[0], zb[1]), lo23 = _mm_unpackhi_epi32(zb[0], zb[1]);
    const __m128i hi01 = _mm_unpacklo_epi32(zb[2], zb[3]), hi23 = _mm_unpackhi_epi32(zb[2], zb[3]);
    const __m128i cols[4] = {_mm_unpacklo_epi64(lo01, hi01), _mm_unpackhi_epi64(lo01, hi01),
                             _mm_unpacklo_epi64(lo23, hi23), _mm_unpackhi_epi64(lo23, hi23)};
    for (int c = 0; c < 4; ++c)
      _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + (4 * b + c) * dstStride), cols[c]);
  }
}
} // namespace

void bytesToChannelsLast(ThreadPool &pool, const uint8_t *xq, int64_t batch, int64_t channels,
                         int64_t planeSize, uint8_t *out) {
  const int64_t perImage = channels * planeSize;
  pool.parallelFor(batch, std::max<int64_t>(1, 65536 / std::max<int64_t>(perImage, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t n = begin; n < end; ++n) {
                       const uint8_t *src = xq + n * perImage;
                       uint8_t *dst = out + n * perImage;
                       // 16 x 16 blocks by SSE2 (the scalar loop was 7% of the
                       // INT8 digits CNN), the rest byte by byte.
                       const int64_t c16 = channels / 16 * 16, i16 = planeSize / 16 * 16;
                       for (int64_t c = 0; c < c16; c += 16)
                         for (int64_t i = 0; i < i16; i += 16)
                           transpose16x16(src + c * planeSize + i, planeSize,
                                          dst + i * channels + c, channels);
                       for (int64_t c = 0; c < channels; ++c)
                         for (int64_t i = c < c16 ? i16 : 0; i < planeSize; ++i)
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
  if (cpuHasAvx512f())
    return fillAvx512(xg, zp4, off, n, dst);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + 4 * i, off[i] < 0 ? reinterpret_cast<const uint8_t *>(&zp4) : xg + off[i], 4);
}

} // namespace ds::rt::quant_conv
