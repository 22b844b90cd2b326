//===- Conv.cpp - Conv and ConvInteger kernels -----------------------------===//
//
// ds.conv (float, double) and ds.conv_integer (u8/i8 in, int32 out) over 1-D to
// 3-D inputs with groups, strides, dilations, pads and auto_pad.
//
// Strategy: im2col (ConvIm2col.h) + convGemm. The output positions of each
// (image, group) are cut into column chunks whose im2col buffer stays around
// 1 MB; small planes are instead batched, several whole images per GEMM. The
// (group, images, chunk) tasks are spread over the thread pool; each writes its
// own output columns, so results do not depend on the thread count. A 1x1
// stride-1 unpadded float conv of one image skips im2col (the input already is
// the column matrix). Depthwise convs (one input channel per group) go to a direct
// loop instead, where a GEMM with K = kernel size would be mostly overhead, and so
// do float "same" stride-1 convs with small weights on AVX-512 CPUs
// (ConvShiftedDirect.h); 3x3 "same" float convs over batches of 16 or more
// images use Winograd F(2x2, 3x3) there (ConvWinograd.h). A Relu fused by ds-fuse-conv-activation
// (`activation = "relu"`) is applied as each output element is stored.
//
//===----------------------------------------------------------------------===//
#include "ConvCommon.h"
#include "ConvGemm.h"
#include "ConvIm2col.h"
#include "Scratch.h"
#include "ConvShiftedDirect.h"
#include "ConvWinograd.h"
#include "FusedActivation.h"
#include "NodeCache.h"

#include "ds/runtime/Dispatch.h"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <vector>

namespace ds::rt {
namespace {
using namespace conv;

/// The calling thread's im2col/GEMM scratch for T (Scratch.h).
template <typename T> T *threadScratch(size_t count) {
  static thread_local Scratch<T> storage;
  return storage.get(count);
}

/// How convIm2col cuts the output columns of one group into tasks. Large
/// planes are cut into column chunks of one image; small planes are batched,
/// `images` whole images per task, so the GEMM gets enough columns to fill
/// its micro-kernel and the per-call overheads are paid once per batch.
struct ColumnPlan {
  int64_t chunk = 0;     // columns per chunk within an image (images == 1)
  int64_t images = 1;    // whole images per task when > 1
  int64_t perImage = 1;  // chunks per image
  int64_t imageBlocks = 0;
};

ColumnPlan planColumns(int64_t batch, int64_t groups, int64_t P, int64_t K, bool pointwise,
                       unsigned threads) {
  constexpr int64_t kColBudget = int64_t{1} << 18; // im2col elements per task (1 MB f32)
  const int64_t target = pointwise ? 1024
                                   : std::clamp<int64_t>(kColBudget / std::max<int64_t>(K, 1),
                                                         256, 4096);
  ColumnPlan plan;
  if (P >= target || batch == 1) {
    plan.chunk = std::min(P, target);
    plan.perImage = (P + plan.chunk - 1) / plan.chunk;
    plan.imageBlocks = batch;
    return plan;
  }
  // Batch whole images, but leave every thread at least two tasks.
  int64_t images = std::max<int64_t>(1, target / P);
  const int64_t wanted = 2 * static_cast<int64_t>(threads);
  images = std::min(images, std::max<int64_t>(1, batch * groups / wanted));
  images = std::min(images, batch);
  plan.chunk = P;
  plan.images = images;
  plan.imageBlocks = (batch + images - 1) / images;
  return plan;
}

/// y[n, m, :] = sum over the group's input channels of im2col * w (+ bias[m]).
/// w is [M, Cg * kernelSize] already in the accumulation type (zero point removed).
/// Every output element is one convGemm dot product over K in order, so the
/// column split (and with it the thread count) does not change any bits.
template <typename TIn, typename TAcc>
void convIm2col(ThreadPool &pool, const ConvProblem &p, const TIn *x, TAcc xZero,
                const TAcc *w, const TAcc *bias, bool relu, TAcc *y) {
  const WindowGeometry &g = p.geom;
  const int64_t ks = g.kernelSize(), K = p.inPerGroup * ks, P = g.outSize();
  const int64_t Mg = p.outPerGroup;
  const bool isPointwise = ks == 1 && g.stride == Dims3{1, 1, 1} &&
                           g.padBegin == Dims3{0, 0, 0} && g.padEnd == Dims3{0, 0, 0};
  constexpr bool sameType = std::is_same_v<TIn, TAcc>;
  const bool direct = sameType && isPointwise;
  const ColumnPlan plan = planColumns(p.batch, p.groups, P, K, direct, pool.numThreads());
  std::optional<ShiftedTaps<TAcc>> shifted;
  if constexpr (sameType && std::is_floating_point_v<TAcc>)
    if (!direct && ShiftedTaps<TAcc>::applies(g))
      shifted.emplace(g);

  auto im2col = [&](const TIn *xg, int64_t p0, int64_t p1, TAcc *col, int64_t ld) {
    if constexpr (sameType && std::is_floating_point_v<TAcc>)
      if (shifted) {
        shifted->fill(xg, p.inPerGroup, p0, p1, col, ld);
        return;
      }
    if (direct) { // 1x1 over several images: a plain copy per channel
      for (int64_t c = 0; c < p.inPerGroup; ++c)
        std::copy(xg + c * P + p0, xg + c * P + p1, col + c * ld);
      return;
    }
    im2colRows(g, xg, p.inPerGroup, xZero, p0, p1, col, ld);
  };

  const int64_t tasks = p.groups * plan.imageBlocks * plan.perImage;
  pool.parallelFor(tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t grp = t % p.groups, rest = t / p.groups;
      const int64_t ci = rest % plan.perImage, block = rest / plan.perImage;
      const TAcc *wg = w + grp * Mg * K;
      const TAcc *bg = bias ? bias + grp * Mg : nullptr;
      auto xOf = [&](int64_t n) {
        return x + (n * p.inChannels + grp * p.inPerGroup) * g.inSize();
      };
      auto yOf = [&](int64_t n) { return y + (n * p.outChannels + grp * Mg) * P; };
      if (plan.images == 1) {
        // One image's columns [p0, p1): the GEMM writes straight into y.
        const int64_t n = block, p0 = ci * plan.chunk, p1 = std::min(P, p0 + plan.chunk);
        const TAcc *B;
        int64_t ldb;
        if constexpr (sameType) {
          if (direct) {
            B = xOf(n) + p0;
            ldb = P;
          }
        }
        if (!direct) {
          TAcc *col = threadScratch<TAcc>(static_cast<size_t>(K * (p1 - p0)));
          im2col(xOf(n), p0, p1, col, p1 - p0);
          B = col;
          ldb = p1 - p0;
        }
        TAcc *yg = yOf(n);
        convGemm<TAcc>(Mg, p1 - p0, K, wg, K, B, ldb, yg + p0, P);
        if (bg)
          for (int64_t m = 0; m < Mg; ++m)
            for (int64_t j = p0; j < p1; ++j)
              yg[m * P + j] += bg[m];
        if (relu)
          for (int64_t m = 0; m < Mg; ++m)
            for (int64_t j = p0; j < p1; ++j)
              yg[m * P + j] = fusedRelu(yg[m * P + j]);
        continue;
      }
      // Several whole images side by side: col is [K, images * P]; the GEMM
      // result is scattered back per image (NCHW) with the bias.
      const int64_t n0 = block * plan.images, count = std::min(plan.images, p.batch - n0);
      const int64_t cols = count * P;
      TAcc *scratch = threadScratch<TAcc>(static_cast<size_t>((K + Mg) * cols));
      TAcc *col = scratch, *out = scratch + K * cols;
      for (int64_t i = 0; i < count; ++i)
        im2col(xOf(n0 + i), 0, P, col + i * P, cols);
      convGemm<TAcc>(Mg, cols, K, wg, K, col, cols, out, cols);
      for (int64_t i = 0; i < count; ++i) {
        TAcc *yn = yOf(n0 + i);
        for (int64_t m = 0; m < Mg; ++m) {
          const TAcc *src = out + m * cols + i * P;
          TAcc *dst = yn + m * P;
          if (bg)
            for (int64_t j = 0; j < P; ++j)
              dst[j] = src[j] + bg[m];
          else
            std::copy(src, src + P, dst);
          if (relu)
            for (int64_t j = 0; j < P; ++j)
              dst[j] = fusedRelu(dst[j]);
        }
      }
    }
  });
}

/// Depthwise (one input channel per group): each output plane is a direct
/// sliding-window sum over its single input plane, innermost loop along width.
template <typename T>
void convDepthwise(ThreadPool &pool, const ConvProblem &p, const T *x, const T *w,
                   const T *bias, bool relu, T *y) {
  const WindowGeometry &g = p.geom;
  const int64_t P = g.outSize(), ks = g.kernelSize();
  const int64_t planes = p.batch * p.outChannels;
  const int64_t minPlanes = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, P * ks));
  pool.parallelFor(planes, minPlanes, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const int64_t m = plane % p.outChannels, n = plane / p.outChannels;
      const int64_t c = m / p.outPerGroup; // the group's only input channel
      const T *xc = x + (n * p.inChannels + c) * g.inSize();
      const T *wm = w + m * ks;
      T *ym = y + plane * P;
      std::fill(ym, ym + P, bias ? bias[m] : T(0));
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          T *yrow = ym + (od * g.out[1] + oh) * g.out[2];
          for (int64_t kz = 0; kz < g.kernel[0]; ++kz) {
            const int64_t id = od * g.stride[0] - g.padBegin[0] + kz * g.dilation[0];
            if (id < 0 || id >= g.in[0])
              continue;
            for (int64_t ky = 0; ky < g.kernel[1]; ++ky) {
              const int64_t ih = oh * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
              if (ih < 0 || ih >= g.in[1])
                continue;
              const T *src = xc + (id * g.in[1] + ih) * g.in[2] - g.padBegin[2];
              for (int64_t kx = 0; kx < g.kernel[2]; ++kx) {
                const T wv = wm[(kz * g.kernel[1] + ky) * g.kernel[2] + kx];
                const int64_t offset = kx * g.dilation[2], sw = g.stride[2];
                int64_t lo, hi;
                validRange(offset, g.padBegin[2], sw, g.in[2], 0, g.out[2], lo, hi);
                const T *s = src + offset;
                if (sw == 1)
                  for (int64_t ow = lo; ow < hi; ++ow)
                    yrow[ow] += wv * s[ow];
                else
                  for (int64_t ow = lo; ow < hi; ++ow)
                    yrow[ow] += wv * s[ow * sw];
              }
            }
          }
        }
      if (relu)
        for (int64_t i = 0; i < P; ++i)
          ym[i] = fusedRelu(ym[i]);
    }
  });
}

/// The Winograd path (ConvWinograd.h) over (group, block of 16 images) tasks.
void convWinograd(const KernelContext &ctx, const ConvProblem &p, int tile, const Tensor &x,
                  const Tensor &w, const float *bias, bool relu, float *y) {
  // U = G g G^T depends on the weights and the tile alone: kept per node (NodeCache.h).
  auto transform = [&] {
    std::vector<float> u(static_cast<size_t>(
        winogradWeightSize(p.groups, p.inPerGroup, p.outPerGroup, tile)));
    winogradWeights(w.data<float>(), p.groups, p.inPerGroup, p.outPerGroup, tile, u.data());
    return u;
  };
  std::vector<float> local;
  const std::vector<float> *cached = cachedFromConstant<std::vector<float>>(
      ctx, w, std::make_pair(w.shape(), tile), transform);
  if (!cached)
    local = transform();
  const float *u = cached ? cached->data() : local.data();
  const WindowGeometry &g = p.geom;
  const int64_t blocks = (p.batch + kWinogradLanes - 1) / kWinogradLanes;
  ctx.pool.parallelFor(p.groups * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t block = t % blocks, grp = t / blocks;
      WinogradArgs a;
      a.g = &g;
      a.x = x.data<float>() + grp * p.inPerGroup * g.inSize();
      a.xImageStride = p.inChannels * g.inSize();
      a.channels = p.inPerGroup;
      a.tile = tile;
      a.u = u + grp * winogradPoints(tile) * p.outPerGroup * p.inPerGroup;
      a.outChannels = p.outPerGroup;
      a.bias = bias ? bias + grp * p.outPerGroup : nullptr;
      a.relu = relu;
      a.y = y + grp * p.outPerGroup * g.outSize();
      a.yImageStride = p.outChannels * g.outSize();
      const int64_t n0 = block * kWinogradLanes;
      winogradImages(a, n0, std::min(kWinogradLanes, p.batch - n0));
    }
  });
}

void convKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "Conv");
  const Tensor &x = inputs[0], &w = inputs[1];
  const Tensor &b = optionalInput(inputs, 2);
  DS_CHECK(w.dtype() == x.dtype(), "W's element type differs from X's");
  ConvProblem p = readConvProblem(ctx.attrs, x.shape(), w.shape(), "X", "W");
  const bool relu = readFusedRelu(ctx.attrs);
  if (!b.isAbsent()) {
    DS_CHECK(b.dtype() == x.dtype(), "B's element type differs from X's");
    DS_CHECK(b.rank() == 1 && b.dim(0) == p.outChannels,
             "B must be [" + std::to_string(p.outChannels) + "], got " + shapeToString(b.shape()));
  }
  Tensor y = Tensor::uninitialized(x.dtype(), convOutputShape(p)); // every element is written once
  if (y.numel() == 0) {
    outputs.push_back(y);
    return;
  }
  dispatchDType<float, double>(x.dtype(), "Conv", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *bias = b.isAbsent() ? nullptr : b.data<T>();
    if (p.inPerGroup == 1 && p.groups > 1)
      convDepthwise<T>(ctx.pool, p, x.data<T>(), w.data<T>(), bias, relu, y.mutableData<T>());
    else if (const int tile = std::is_same_v<T, float>
                                  ? winogradTile(p.geom, p.batch, p.inPerGroup, p.outPerGroup)
                                  : 0)
      convWinograd(ctx, p, tile, x, w, reinterpret_cast<const float *>(bias), relu,
                   reinterpret_cast<float *>(y.mutableData<T>()));
    else if (std::is_same_v<T, float> &&
             shiftedDirectApplies(p.geom, p.inPerGroup, p.outPerGroup))
      shiftedDirect(ctx.pool, {&p.geom, p.batch, p.groups, p.inPerGroup, p.outPerGroup,
                               reinterpret_cast<const float *>(x.data<T>()),
                               reinterpret_cast<const float *>(w.data<T>()), nullptr,
                               reinterpret_cast<const float *>(bias), relu,
                               reinterpret_cast<float *>(y.mutableData<T>())});
    else
      convIm2col<T, T>(ctx.pool, p, x.data<T>(), T(0), w.data<T>(), bias, relu,
                       y.mutableData<T>());
  });
  outputs.push_back(y);
}

/// Zero point of an 8-bit operand as int32: absent means 0.
int32_t scalarZeroPoint(const Tensor &zp, DType expected, const char *what) {
  if (zp.isAbsent())
    return 0;
  DS_CHECK(zp.dtype() == expected, std::string(what) + " must have its operand's element type");
  DS_CHECK(zp.numel() == 1, std::string(what) + " must be a scalar, got " +
                                shapeToString(zp.shape()));
  return static_cast<int32_t>(zp.getAsInt64(0));
}

void convIntegerKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                       std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 4, "ConvInteger");
  const Tensor &x = inputs[0], &w = inputs[1];
  const Tensor &xZp = optionalInput(inputs, 2), &wZp = optionalInput(inputs, 3);
  ConvProblem p = readConvProblem(ctx.attrs, x.shape(), w.shape(), "X", "W");
  const int32_t xZero = scalarZeroPoint(xZp, x.dtype(), "x_zero_point");

  // Weights minus their zero point (per tensor or per output channel), as int32.
  const int64_t perChannel = w.numel() / std::max<int64_t>(p.outChannels, 1);
  std::vector<int32_t> wZero(static_cast<size_t>(p.outChannels), 0);
  if (!wZp.isAbsent()) {
    DS_CHECK(wZp.dtype() == w.dtype(), "w_zero_point must have W's element type");
    DS_CHECK(wZp.numel() == 1 || (wZp.rank() == 1 && wZp.dim(0) == p.outChannels),
             "w_zero_point must be a scalar or [" + std::to_string(p.outChannels) +
                 "], got " + shapeToString(wZp.shape()));
    for (int64_t m = 0; m < p.outChannels; ++m)
      wZero[m] = static_cast<int32_t>(wZp.getAsInt64(wZp.numel() == 1 ? 0 : m));
  }
  std::vector<int32_t> wInt(static_cast<size_t>(w.numel()));
  dispatchDType<uint8_t, int8_t>(w.dtype(), "ConvInteger", [&](auto tag) {
    using TW = typename decltype(tag)::type;
    const TW *src = w.data<TW>();
    for (int64_t i = 0; i < w.numel(); ++i)
      wInt[i] = static_cast<int32_t>(src[i]) - wZero[i / perChannel];
  });

  Tensor y(DType::I32, convOutputShape(p));
  if (y.numel() == 0) {
    outputs.push_back(y);
    return;
  }
  dispatchDType<uint8_t, int8_t>(x.dtype(), "ConvInteger", [&](auto tag) {
    using TX = typename decltype(tag)::type;
    convIm2col<TX, int32_t>(ctx.pool, p, x.data<TX>(), xZero, wInt.data(), nullptr,
                            /*relu=*/false, y.mutableData<int32_t>());
  });
  outputs.push_back(y);
}

} // namespace

DS_REGISTER_KERNEL("conv", convKernel);
DS_REGISTER_KERNEL("conv_integer", convIntegerKernel);

} // namespace ds::rt
