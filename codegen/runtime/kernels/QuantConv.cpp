//===- QuantConv.cpp - the quant_conv kernel (ds.quant_conv) ---------------===//
//
// y = act(Conv(DequantizeLinear(QuantizeLinear(x)), w * w_scale) + bias) for
// 2-D NCHW convolution, in integers. x is quantized to u8 once (per tensor,
// static or dynamic as quant_matmul); then per (image, group) an im2col
// matrix [positions, C/group * kh * kw] of u8 is multiplied by the group's
// int8 weights with the u8s8 GEMM, whose epilogue writes NCHW floats directly.
// Padding is filled with the zero point: the quantized 0.0 the QDQ graph pads
// with, so it contributes exactly nothing after the zero-point correction.
// Depthwise convs (one input channel per group) use a direct integer loop
// instead: a GEMM with N = 1 would waste 31 of 32 columns. Shallow "same"
// convs (K <= 32, a CNN's first layer on 1-3 channels) on AVX-512 run the FP32
// direct kernel (ConvShiftedDirect.h) on integer-valued floats, which gives the
// integer sums exactly (see shallowDirect below).
//
// Inputs: 0 x float [N, C, H, W]; 1 w int8 [M, C/group, kh, kw], or with
// w_packed = [M, C/group, kh, kw] the block ds-pack-int8-weights packed
// (QuantConvPacking.h; the GEMM path then runs whatever the shape); 2 w_scale
// float [M] or scalar; 3 bias float [M], optional. Attributes: ONNX Conv's
// (auto_pad, dilations, group, kernel_shape, pads, strides) plus x_scale,
// x_zero_point and activation. 1-D and 3-D convs are rejected.
//===----------------------------------------------------------------------===//
#include "ConvCommon.h"
#include "ConvShiftedDirect.h"
#include "FusedActivation.h"
#include "MovementCommon.h"
#include "MovementQuantize.h"
#include "QuantConvChannelsLast.h"
#include "QuantConvPacking.h"
#include "QuantGemm.h"
#include "QuantGemmOperands.h"
#include "TargetClones.h"

#include <immintrin.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace ds::rt {
namespace {
using namespace conv;

/// quant_conv's operands: float x and int8 w of a 2-D conv (w's shape is
/// w_packed's when the weights come packed).
ConvProblem readProblem(const AttrMap &attrs, const Tensor &x, const Tensor &w) {
  DS_CHECK(x.dtype() == DType::F32, std::string("x must be float, got ") + dtypeName(x.dtype()));
  DS_CHECK(w.dtype() == DType::I8, std::string("w must be int8, got ") + dtypeName(w.dtype()));
  DS_CHECK(x.rank() == 4, "quant_conv supports 2-D convolution only: x must be [N, C, H, W], "
                          "got " + shapeToString(x.shape()));
  const std::vector<int64_t> packedShape = attrs.getInts("w_packed");
  if (packedShape.empty()) {
    DS_CHECK(w.rank() == 4, "w must be [M, C/group, kh, kw], got " + shapeToString(w.shape()));
    return readConvProblem(attrs, x.shape(), w.shape(), "x", "w");
  }
  DS_CHECK(packedShape.size() == 4 && packedShape[0] >= 0 && packedShape[1] >= 0 &&
               packedShape[2] >= 0 && packedShape[3] >= 0,
           "w_packed must be [M, C/group, kh, kw]");
  ConvProblem p = readConvProblem(attrs, x.shape(), packedShape, "x", "w_packed");
  DS_CHECK(w.rank() == 1 && w.numel() == quant_conv::packedWeightBytes(p),
           "packed w for " + shapeToString(Shape(packedShape)) + " must be " +
               std::to_string(quant_conv::packedWeightBytes(p)) + " bytes, got " +
               shapeToString(w.shape()));
  return p;
}

/// col[p, (c * kh + ky) * kw + kx] = xq[c, window of output position p], or zp
/// in the padding, for output positions [p0, p1) of one group.
void im2colU8(const WindowGeometry &g, const uint8_t *xq, int64_t channels, uint8_t zp,
              int64_t p0, int64_t p1, uint8_t *col) {
  const int64_t inH = g.in[1], inW = g.in[2], kh = g.kernel[1], kw = g.kernel[2];
  const int64_t K = channels * kh * kw;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t oh = p / g.out[2], ow = p % g.out[2];
    uint8_t *dst = col + (p - p0) * K;
    for (int64_t c = 0; c < channels; ++c) {
      const uint8_t *plane = xq + c * inH * inW;
      for (int64_t ky = 0; ky < kh; ++ky, dst += kw) {
        const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
        if (ih < 0 || ih >= inH) {
          std::fill(dst, dst + kw, zp);
          continue;
        }
        const uint8_t *src = plane + ih * inW;
        for (int64_t kx = 0; kx < kw; ++kx) {
          const int64_t iw = ow * g.stride[2] - g.padBegin[2] + kx * g.dilation[2];
          dst[kx] = iw < 0 || iw >= inW ? zp : src[iw];
        }
      }
    }
  }
}

// x is quantized once per call with quantizeRun's exact rounding; the loop is
// cloned for AVX2/AVX-512 (a division and a few selects per element run 4
// wide in the baseline build). No multiply-add to contract, so every clone
// has the same bits.
DS_X86_CLONES
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-trapping-math")))
#endif
void quantizeInputU8(const float *x, int64_t n, float scale, const uint8_t *zp, uint8_t *y) {
  movement::quantizeRun<uint8_t, float>(x, &scale, 0, zp, y, n);
}

/// y = quantized x minus the zero point, as float: quantizeInputU8's value
/// (the same quantizeValue) then centered, in one pass for shallowDirect.
DS_X86_CLONES
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-trapping-math")))
#endif
void quantizeInputCentered(const float *x, int64_t n, float scale, float zp, float *y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(movement::quantizeValue<uint8_t>(x[i], scale, zp)) - zp;
}

/// Table fill with AVX-512: 16 offsets per dword gather (masked off for
/// padding, which keeps the zero point), truncated to bytes. Each gather
/// reads 4 bytes at xg + offset, so the quantized input has 3 bytes of slack.
__attribute__((target("avx512f"))) void tableFillAvx512(const uint8_t *xg, uint8_t zp,
                                                        const int32_t *off, int64_t n,
                                                        uint8_t *col) {
  const __m512i zpv = _mm512_set1_epi32(zp), zero = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i o = _mm512_loadu_si512(off + i);
    const __mmask16 valid = _mm512_cmpge_epi32_mask(o, zero);
    const __m512i v = _mm512_mask_i32gather_epi32(zpv, valid, o, xg, 1);
    _mm512_mask_cvtepi32_storeu_epi8(col + i, __mmask16(0xFFFF), v);
  }
  for (; i < n; ++i)
    col[i] = off[i] < 0 ? zp : xg[off[i]];
}

/// im2colU8 as a lookup table, laid out as quantGemm's packed A (so the GEMM
/// skips its own packing copy): entry quantGemmPackedAIndex(p, k) is the
/// offset (from the group's first input plane) that A(p, k) copies, or -1 for
/// padding and for the panel's filler rows/columns (both get the zero point;
/// B is zero past K). It depends on the geometry only, so it is built once per
/// call and every (image, group) is then one flat, division-free pass; the
/// generic loop above costs more than the GEMM for small planes.
class Im2colTable {
public:
  /// Whether the table stays small (4 MB of offsets).
  static bool applies(const WindowGeometry &g, int64_t channels) {
    return g.outSize() * channels * g.kernelSize() <= (int64_t{1} << 20);
  }

  Im2colTable(const WindowGeometry &g, int64_t channels, int64_t panelRows, int64_t paddedK)
      : rows_(panelRows), paddedK_(paddedK) {
    const int64_t inH = g.in[1], inW = g.in[2], kh = g.kernel[1], kw = g.kernel[2];
    const int64_t P = g.outSize();
    panels_ = (P + rows_ - 1) / rows_;
    offsets_.assign(static_cast<size_t>(panels_ * panelBytes()), -1);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oh = p / g.out[2], ow = p % g.out[2];
      int64_t k = 0;
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t ky = 0; ky < kh; ++ky) {
          const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
          for (int64_t kx = 0; kx < kw; ++kx, ++k) {
            const int64_t iw = ow * g.stride[2] - g.padBegin[2] + kx * g.dilation[2];
            if (ih >= 0 && ih < inH && iw >= 0 && iw < inW)
              offsets_[quantGemmPackedAIndex(p, k, rows_, paddedK_)] =
                  static_cast<int32_t>((c * inH + ih) * inW + iw);
          }
        }
    }
  }

  int64_t panels() const { return panels_; }
  int64_t panelBytes() const { return rows_ * paddedK_; }
  int64_t panelRows() const { return rows_; }

  /// Panels [a0, a1) of the packed A of the group starting at xg.
  void fill(const uint8_t *xg, uint8_t zp, int64_t a0, int64_t a1, uint8_t *packed) const {
    const int32_t *off = offsets_.data() + a0 * panelBytes();
    const int64_t n = (a1 - a0) * panelBytes();
    uint8_t *dst = packed + a0 * panelBytes();
    if (cpuHasAvx512f())
      return tableFillAvx512(xg, zp, off, n, dst);
    for (int64_t i = 0; i < n; ++i) {
      const int32_t o = off[i];
      const uint8_t v = xg[o < 0 ? 0 : o];
      dst[i] = o < 0 ? zp : v;
    }
  }

private:
  int64_t rows_, paddedK_, panels_ = 0;
  std::vector<int32_t> offsets_;
};

/// Depthwise: y[n, m] = epilogue(sum over the window of (xq - zp) * w[m]).
void convDepthwise(ThreadPool &pool, const ConvProblem &p, const uint8_t *xq,
                   float xScale, int32_t zp, const int8_t *w, const float *scale, bool perChannel,
                   const float *bias, bool relu, float *y) {
  const WindowGeometry &g = p.geom;
  const int64_t P = g.outSize(), ks = g.kernelSize(), planes = p.batch * p.outChannels;
  const int64_t minPlanes = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, P * ks));
  pool.parallelFor(planes, minPlanes, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> acc(static_cast<size_t>(P));
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t m = plane % p.outChannels, n = plane / p.outChannels;
      const uint8_t *xc = xq + (n * p.inChannels + m / p.outPerGroup) * g.inSize();
      const int8_t *wm = w + m * ks;
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        int32_t *row = acc.data() + oh * g.out[2];
        for (int64_t ky = 0; ky < g.kernel[1]; ++ky) {
          const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
          if (ih < 0 || ih >= g.in[1])
            continue; // padding: (zp - zp) * w = 0
          const uint8_t *src = xc + ih * g.in[2];
          for (int64_t kx = 0; kx < g.kernel[2]; ++kx) {
            const int32_t wv = wm[ky * g.kernel[2] + kx];
            for (int64_t ow = 0; ow < g.out[2]; ++ow) {
              const int64_t iw = ow * g.stride[2] - g.padBegin[2] + kx * g.dilation[2];
              if (iw >= 0 && iw < g.in[2])
                row[ow] += (int32_t(src[iw]) - zp) * wv;
            }
          }
        }
      }
      const float s = xScale * scale[perChannel ? m : 0], b = bias ? bias[m] : 0.0f;
      float *out = y + plane * P;
      for (int64_t i = 0; i < P; ++i)
        out[i] = quantOutputValue(acc[static_cast<size_t>(i)], s, b, relu);
    }
  });
}

/// Up to this K (C/group * kh * kw) a "same" conv takes shallowDirect: the
/// byte im2col of the GEMM path costs more than its products there.
constexpr int64_t kShallowMaxK = 32;

/// The FP32 direct kernel on x_q - zp and w_q as floats: every product is at
/// most 255 * 128 in magnitude and every partial sum of K <= 32 of them stays
/// far below 2^24, so the float sums are the int32 sums exactly, and the
/// direct kernel's scaled epilogue rounds as quantOutputValue: the same bits
/// as the GEMM path.
void shallowDirect(ThreadPool &pool, const ConvProblem &p, const float *x,
                   const quant_ops::ActivationQuant &xQuant, const int8_t *w,
                   const float *wScale, bool perChannel, const float *bias, bool relu,
                   float *y) {
  static_assert(kShallowMaxK * 255 * 128 < (1 << 24), "float sums must stay exact");
  const int64_t n = p.batch * p.inChannels * p.geom.inSize();
  std::vector<float> centered(static_cast<size_t>(n));
  const float zp = static_cast<float>(xQuant.zeroPoint);
  movement::parallelRange(pool, n, n, [&](int64_t begin, int64_t end) {
    quantizeInputCentered(x + begin, end - begin, xQuant.scale, zp, centered.data() + begin);
  });
  const int64_t wCount = p.outChannels * p.inPerGroup * p.geom.kernelSize();
  std::vector<float> weights(w, w + wCount), scales(static_cast<size_t>(p.outChannels));
  for (int64_t m = 0; m < p.outChannels; ++m)
    scales[static_cast<size_t>(m)] = xQuant.scale * wScale[perChannel ? m : 0];
  shiftedDirect(pool, {&p.geom, p.batch, p.groups, p.inPerGroup, p.outPerGroup, centered.data(),
                       weights.data(), scales.data(), bias, relu, y});
}

void quantConvKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 4, "quant_conv");
  const Tensor &x = inputs[0], &w = inputs[1], &wScale = inputs[2];
  ConvProblem p = readProblem(ctx.attrs, x, w);
  const bool perChannel = quant_ops::checkWeightScale(wScale, p.outChannels);
  const float *bias = quant_ops::checkBias(optionalInput(inputs, 3), p.outChannels);
  const bool relu = readFusedRelu(ctx.attrs);
  const float *scale = wScale.data<float>();
  const WindowGeometry &g = p.geom;
  const int64_t P = g.outSize(), K = p.inPerGroup * g.kernelSize();
  DS_CHECK(K <= kQuantGemmMaxK, "C/group * kh * kw = " + std::to_string(K) + " exceeds " +
                                    std::to_string(kQuantGemmMaxK) +
                                    ", the deepest int32-safe u8 x s8 sum");

  // Every element is written once (GEMM epilogue, direct kernel or depthwise loop).
  Tensor y = Tensor::uninitialized(DType::F32, convOutputShape(p));
  const float *xData = x.data<float>();
  const quant_ops::ActivationQuant xq =
      quant_ops::activationQuant(ctx.attrs, xData, x.numel(), ctx.pool);
  if (y.numel() == 0)
    return outputs.push_back(std::move(y));
  float *yData = y.mutableData<float>();
  const int8_t *wData = w.data<int8_t>();
  const bool prepacked = ctx.attrs.has("w_packed"); // then only the GEMM path reads w
  const bool depthwise = !prepacked && p.inPerGroup == 1 && p.groups > 1;
  if (!prepacked && !depthwise && K <= kShallowMaxK &&
      shiftedDirectApplies(g, p.inPerGroup, p.outPerGroup)) {
    shallowDirect(ctx.pool, p, xData, xq, wData, scale, perChannel, bias, relu, yData);
    return outputs.push_back(std::move(y));
  }

  // Quantize x once: im2col then copies bytes instead of re-quantizing each
  // input kh * kw times.
  // (+4: slack for the 4-byte gathers of Im2colTable's AVX-512 fill.)
  std::vector<uint8_t> xq8(static_cast<size_t>(x.numel()) + 4);
  const auto zp8 = static_cast<uint8_t>(xq.zeroPoint);
  movement::parallelRange(ctx.pool, x.numel(), x.numel(), [&](int64_t begin, int64_t end) {
    quantizeInputU8(xData + begin, end - begin, xq.scale, &zp8, xq8.data() + begin);
  });
  if (depthwise) {
    convDepthwise(ctx.pool, p, xq8.data(), xq.scale, xq.zeroPoint, wData, scale, perChannel,
                  bias, relu, yData);
    return outputs.push_back(std::move(y));
  }

  // Groups of 4k channels run channels-last (QuantConvChannelsLast.h): K is
  // ordered (ky, kx, c) in the packed weights and in A. The choice depends on
  // the weights alone, so the per-node pack cache always matches it.
  const bool channelsLast = quant_conv::channelsLastApplies(p.inPerGroup);
  std::vector<QuantPackedB> uncached;
  if (prepacked) // the block lives as long as w's storage, which the views hold
    uncached = quant_conv::packedViews(p, quant_ops::heldBytes(w));
  const std::vector<QuantPackedB> &packs =
      prepacked ? uncached
                : quant_ops::packedWeights(
                      ctx, w,
                      [&] {
                        std::shared_ptr<int8_t> block =
                            newPackedBlock(quant_conv::packedWeightBytes(p));
                        quant_conv::packWeights(p, wData, block.get());
                        return quant_conv::packedViews(p, block);
                      },
                      uncached);
  std::vector<uint8_t> xLast;
  if (channelsLast) {
    xLast.resize(xq8.size());
    quant_conv::bytesToChannelsLast(ctx.pool, xq8.data(), p.batch, p.inChannels, g.inSize(),
                                    xLast.data());
  }

  // Big products parallelize inside the GEMM; small ones (many images or
  // groups of a small layer) run one (image, group) per task instead.
  std::optional<Im2colTable> table;
  std::optional<quant_conv::ChannelsLastTable> lastTable;
  if (channelsLast && quant_conv::ChannelsLastTable::applies(g, p.inPerGroup))
    lastTable.emplace(g, p.inChannels, p.inPerGroup, quantGemmPanelRows());
  else if (!channelsLast && Im2colTable::applies(g, p.inPerGroup))
    table.emplace(g, p.inPerGroup, quantGemmPanelRows(), packs.front().paddedK());
  const int64_t tasks = p.batch * p.groups;
  const bool innerParallel = double(P) * double(p.outPerGroup) * double(K) >= 4.0e6;
  auto inParallel = [](ThreadPool *pool, int64_t n, int64_t grain, auto &&fn) {
    if (pool)
      pool->parallelFor(n, std::max<int64_t>(1, grain), fn);
    else
      fn(0, n);
  };
  auto runTask = [&](int64_t t, std::vector<uint8_t> &col, ThreadPool *gemmPool) {
    const int64_t grp = t % p.groups, n = t / p.groups;
    QuantGemmA a;
    // A in the GEMM's packed layout from an offset table, or row-major from an
    // im2col loop over output positions [p0, p1).
    auto fromTable = [&](const auto &tbl, const uint8_t *xg) {
      col.resize(static_cast<size_t>(std::max<int64_t>(tbl.panels() * tbl.panelBytes(), 1)));
      inParallel(gemmPool, tbl.panels(), 16384 / tbl.panelBytes(),
                 [&](int64_t a0, int64_t a1) { tbl.fill(xg, zp8, a0, a1, col.data()); });
      a.packed = col.data();
      a.packedRows = tbl.panelRows();
    };
    auto fromRows = [&](auto &&im2col) {
      col.resize(static_cast<size_t>(std::max<int64_t>(P * K, 1)));
      inParallel(gemmPool, P, 16384 / std::max<int64_t>(K, 1),
                 [&](int64_t p0, int64_t p1) { im2col(p0, p1, col.data() + p0 * K); });
      a.u8 = col.data();
      a.ld = std::max<int64_t>(K, 1);
    };
    if (channelsLast) {
      const uint8_t *xg = xLast.data() + n * p.inChannels * g.inSize() + grp * p.inPerGroup;
      if (lastTable)
        fromTable(*lastTable, xg);
      else
        fromRows([&](int64_t p0, int64_t p1, uint8_t *dst) {
          quant_conv::im2colChannelsLast(g, xg, p.inChannels, p.inPerGroup, zp8, p0, p1, dst);
        });
    } else {
      const uint8_t *xg = xq8.data() + (n * p.inChannels + grp * p.inPerGroup) * g.inSize();
      if (table)
        fromTable(*table, xg);
      else
        fromRows([&](int64_t p0, int64_t p1, uint8_t *dst) {
          im2colU8(g, xg, p.inPerGroup, zp8, p0, p1, dst);
        });
    }
    QuantEpilogue e;
    e.scaleA = xq.scale;
    e.zeroPointA = xq.zeroPoint;
    e.scaleB = perChannel ? scale + grp * p.outPerGroup : scale;
    e.scaleBPerColumn = perChannel;
    e.bias = bias ? bias + grp * p.outPerGroup : nullptr;
    e.relu = relu;
    // Output (position, channel) -> y[n, grp * outPerGroup + channel, position].
    quantGemm(P, a, packs[static_cast<size_t>(grp)], e,
              {yData + (n * p.outChannels + grp * p.outPerGroup) * P, 1, P}, gemmPool);
  };
  if (innerParallel || tasks == 1) {
    std::vector<uint8_t> col;
    for (int64_t t = 0; t < tasks; ++t)
      runTask(t, col, &ctx.pool);
  } else {
    ctx.pool.parallelFor(tasks, 1, [&](int64_t begin, int64_t end) {
      std::vector<uint8_t> col;
      for (int64_t t = begin; t < end; ++t)
        runTask(t, col, nullptr);
    });
  }
  outputs.push_back(std::move(y));
}

} // namespace

namespace quant_conv {

bool mayRunDirect(const ConvProblem &p) {
  const int64_t K = p.inPerGroup * p.geom.kernelSize();
  return (p.inPerGroup == 1 && p.groups > 1) ||
         (K <= kShallowMaxK && shiftedDirectShapeApplies(p.geom, p.inPerGroup, p.outPerGroup));
}

int64_t packedWeightBytes(const ConvProblem &p) {
  return p.groups * quantPackedBBytes(p.inPerGroup * p.geom.kernelSize(), p.outPerGroup);
}

void packWeights(const ConvProblem &p, const int8_t *w, int8_t *dst) {
  const int64_t K = p.inPerGroup * p.geom.kernelSize();
  const int64_t groupBytes = quantPackedBBytes(K, p.outPerGroup);
  const bool last = channelsLastApplies(p.inPerGroup);
  for (int64_t grp = 0; grp < p.groups; ++grp) {
    // Group g's B(k, m) = w[g * outPerGroup + m, k]: w is B transposed.
    const int8_t *wg = w + grp * p.outPerGroup * K;
    std::vector<int8_t> reordered;
    if (last) {
      reordered = weightsChannelsLast(wg, p.outPerGroup, p.inPerGroup, p.geom.kernelSize());
      wg = reordered.data();
    }
    packQuantBInto(true, K, p.outPerGroup, wg, std::max<int64_t>(K, 1), dst + grp * groupBytes);
  }
}

std::vector<QuantPackedB> packedViews(const ConvProblem &p,
                                      const std::shared_ptr<const int8_t> &bytes) {
  const int64_t K = p.inPerGroup * p.geom.kernelSize();
  const int64_t groupBytes = quantPackedBBytes(K, p.outPerGroup);
  std::vector<QuantPackedB> views;
  views.reserve(static_cast<size_t>(p.groups));
  for (int64_t grp = 0; grp < p.groups; ++grp)
    views.push_back(QuantPackedB::view(
        K, p.outPerGroup, std::shared_ptr<const int8_t>(bytes, bytes.get() + grp * groupBytes)));
  return views;
}

} // namespace quant_conv

DS_REGISTER_KERNEL("quant_conv", quantConvKernel);

} // namespace ds::rt
