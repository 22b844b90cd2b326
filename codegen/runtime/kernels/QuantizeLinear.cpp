//===- QuantizeLinear.cpp - QuantizeLinear and DequantizeLinear -----------===//
//
// Scale and zero point are per tensor (scalar or one element), per axis (1-D of
// x.shape[axis]) or, with opset 21's block_size, blocked: same rank as x with
// ceil(x.shape[axis] / block_size) entries along the axis. Integer formats:
// uint8 (default), int8, uint16, int16; int4/float8 have no runtime dtype.
//===----------------------------------------------------------------------===//
#include "MovementQuantize.h"
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

/// How the quantization parameters map onto x, viewed as [outer, axisDim, inner].
struct ParamLayout {
  int64_t outer = 1, axisDim = 1, inner = 1;
  int64_t blockSize = 0; // 0: per tensor or per axis
  bool perTensor = true;

  /// Index of the parameter for the run of x starting at element (row, t0), and the
  /// step between consecutive elements of that run.
  int64_t paramIndex(int64_t row, int64_t t0, int64_t &step) const {
    if (perTensor) {
      step = 0;
      return 0;
    }
    int64_t o = row / axisDim, j = row % axisDim;
    if (blockSize == 0) {
      step = 0;
      return j;
    }
    step = 1;
    int64_t blocks = (axisDim + blockSize - 1) / blockSize;
    return (o * blocks + j / blockSize) * inner + t0;
  }
};

ParamLayout paramLayout(const KernelContext &ctx, const Tensor &x, const Tensor &scale,
                        const Tensor &zeroPoint) {
  ParamLayout p;
  p.inner = x.numel();
  int64_t blockSize = ctx.attrs.getInt("block_size", 0);
  DS_CHECK(blockSize >= 0, "block_size must not be negative");
  if (!zeroPoint.isAbsent())
    DS_CHECK(zeroPoint.shape() == scale.shape() ||
                 (zeroPoint.numel() == 1 && scale.numel() == 1),
             "zero point shape " + shapeToString(zeroPoint.shape()) +
                 " differs from scale shape " + shapeToString(scale.shape()));
  if (blockSize == 0 && scale.numel() == 1 && scale.rank() <= 1)
    return p;
  DS_CHECK(x.rank() >= 1, "per-axis quantization needs an input of rank >= 1");
  int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 1), x.rank());
  const Shape &s = x.shape();
  p.perTensor = false;
  p.outer = product(s, 0, static_cast<size_t>(axis));
  p.axisDim = s[static_cast<size_t>(axis)];
  p.inner = product(s, static_cast<size_t>(axis) + 1, s.size());
  if (blockSize == 0) {
    DS_CHECK(scale.rank() == 1 && scale.numel() == p.axisDim,
             "per-axis scale must be 1-D of size " + std::to_string(p.axisDim) +
                 " (axis " + std::to_string(axis) + "), got shape " +
                 shapeToString(scale.shape()));
    return p;
  }
  p.blockSize = blockSize;
  Shape expected = s;
  expected[static_cast<size_t>(axis)] = (p.axisDim + blockSize - 1) / blockSize;
  DS_CHECK(scale.shape() == expected, "blocked scale shape " + shapeToString(scale.shape()) +
                                          " should be " + shapeToString(expected) +
                                          " for block_size " + std::to_string(blockSize));
  return p;
}

/// Calls fn(dataOffset, paramOffset, paramStep, count) over runs covering x, in
/// parallel; each run shares its parameter or walks them with step 1.
template <typename Fn>
void forEachRun(ThreadPool &pool, const ParamLayout &p, int64_t total, Fn &&fn) {
  parallelRange(pool, total, total, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      int64_t row = i / p.inner, t0 = i % p.inner;
      int64_t count = std::min(p.inner - t0, end - i), step = 0;
      if (p.perTensor)
        count = end - i;
      int64_t param = p.paramIndex(row, t0, step);
      fn(i, param, step, count);
      i += count;
    }
  });
}

DType quantizedType(const KernelContext &ctx, const Tensor &zeroPoint) {
  if (!zeroPoint.isAbsent()) {
    if (ctx.attrs.has("output_dtype"))
      DS_CHECK(static_cast<DType>(ctx.attrs.getInt("output_dtype", 0)) == zeroPoint.dtype(),
               "output_dtype differs from the zero point's type");
    return zeroPoint.dtype();
  }
  int64_t t = ctx.attrs.getInt("output_dtype", 0);
  return t == 0 ? DType::U8 : static_cast<DType>(t);
}

void quantizeLinearKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                          std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "QuantizeLinear");
  const Tensor &x = inputs[0], &scale = inputs[1], &zeroPoint = optionalInput(inputs, 2);
  DS_CHECK(scale.dtype() == DType::F32, std::string("scale must be float, got ") +
                                            dtypeName(scale.dtype()));
  ParamLayout layout = paramLayout(ctx, x, scale, zeroPoint);
  DType qType = quantizedType(ctx, zeroPoint);
  Tensor y(qType == DType::U8 || qType == DType::I8 || qType == DType::U16 ||
                   qType == DType::I16
               ? qType
               : DType::U8,
           x.shape());
  dispatchDType<uint8_t, int8_t, uint16_t, int16_t>(qType, "QuantizeLinear", [&](auto qTag) {
    using Q = typename decltype(qTag)::type;
    const Q *zp = zeroPoint.isAbsent() ? nullptr : zeroPoint.data<Q>();
    Q *dst = y.mutableData<Q>();
    const float *s = scale.data<float>();
    dispatchDType<float, double, int32_t>(x.dtype(), "QuantizeLinear", [&](auto xTag) {
      using X = typename decltype(xTag)::type;
      const X *src = x.data<X>();
      forEachRun(ctx.pool, layout, x.numel(), [&](int64_t i, int64_t p, int64_t step, int64_t n) {
        quantizeRun<Q, X>(src + i, s + p, step, zp ? zp + p : nullptr, dst + i, n);
      });
    });
  });
  outputs.push_back(std::move(y));
}

void dequantizeLinearKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                            std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "DequantizeLinear");
  const Tensor &x = inputs[0], &scale = inputs[1], &zeroPoint = optionalInput(inputs, 2);
  DS_CHECK(scale.dtype() == DType::F32, std::string("scale must be float, got ") +
                                            dtypeName(scale.dtype()));
  if (!zeroPoint.isAbsent())
    DS_CHECK(zeroPoint.dtype() == x.dtype(), "zero point type differs from the input's");
  ParamLayout layout = paramLayout(ctx, x, scale, zeroPoint);
  Tensor y(DType::F32, x.shape());
  float *dst = y.mutableData<float>();
  const float *s = scale.data<float>();
  dispatchDType<uint8_t, int8_t, uint16_t, int16_t, int32_t>(
      x.dtype(), "DequantizeLinear", [&](auto tag) {
        using Q = typename decltype(tag)::type;
        const Q *src = x.data<Q>();
        const Q *zp = zeroPoint.isAbsent() ? nullptr : zeroPoint.data<Q>();
        forEachRun(ctx.pool, layout, x.numel(),
                   [&](int64_t i, int64_t p, int64_t step, int64_t n) {
                     const float *sc = s + p;
                     const Q *z = zp ? zp + p : nullptr;
                     float *out = dst + i;
                     const Q *in = src + i;
                     // As ONNX's reference: (float(x) - float(zp)) * scale.
                     if (step == 0) {
                       float zf = z ? static_cast<float>(z[0]) : 0.0f, sf = sc[0];
                       for (int64_t t = 0; t < n; ++t)
                         out[t] = (static_cast<float>(in[t]) - zf) * sf;
                     } else {
                       for (int64_t t = 0; t < n; ++t)
                         out[t] = (static_cast<float>(in[t]) -
                                   (z ? static_cast<float>(z[t]) : 0.0f)) *
                                  sc[t];
                     }
                   });
      });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("quantize_linear", quantizeLinearKernel);
DS_REGISTER_KERNEL("dequantize_linear", dequantizeLinearKernel);

} // namespace ds::rt
