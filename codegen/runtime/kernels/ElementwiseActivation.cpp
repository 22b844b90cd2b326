//===- ElementwiseActivation.cpp - activation functions -------------------===//
//
// Relu, Sigmoid, Tanh and the parameterized activations (Elu, Selu, Celu,
// LeakyRelu, ThresholdedRelu, HardSigmoid, HardSwish, Gelu, Mish, Softplus,
// Softsign, Shrink). Attributes and their defaults are ONNX's. Formulas are
// rearranged where the literal spec form overflows (Sigmoid, Softplus, Mish
// use exp of a non-positive argument only) or loses precision (Elu uses expm1).
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseFastMath.h"
#include "ElementwiseUtil.h"
#include "TargetClones.h"

#include <cmath>
#include <type_traits>

namespace ds::rt {
namespace {
using namespace elementwise;

using KernelArgs = const std::vector<Tensor> &;

/// log(1 + exp(x)) without overflow for large x.
template <typename T> T softplus(T x) {
  return std::log1p(std::exp(-std::fabs(x))) + std::max(x, T(0));
}

/// 1 / (1 + exp(-x)); float32 vectorizes, double is evaluated with exp of a
/// non-positive argument.
template <typename T> T sigmoid(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return fastSigmoid(x);
  } else {
    T e = std::exp(-std::fabs(x));
    T pos = T(1) / (T(1) + e);
    return x >= T(0) ? pos : e * pos;
  }
}

// The library is built for baseline x86-64, where the vector exp of
// ElementwiseFastMath.h runs 4 lanes wide; the float32 Sigmoid and Tanh loops
// (SwiGLU gates, GELU-tanh) and the float32 Relu (between every conv/GEMM
// layer) are also cloned for AVX2 and AVX-512 and picked at load time. One
// clone serves a whole call, so bits still do not depend on the thread count.
DS_X86_CLONES void sigmoidRowF32(const float *in, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = fastSigmoid(in[i]);
}

DS_X86_CLONES void reluRowF32(const float *in, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = in[i] < 0.0f ? 0.0f : in[i]; // a select: NaN propagates
}

DS_X86_CLONES void tanhRowF32(const float *in, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = fastTanh(in[i]);
}

/// Float32 through `row` (a cloned loop), other float types through runUnary.
/// Others: the types besides float32 that `op` serves through runUnary.
template <typename... Others, typename Op>
void runFloatUnary(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs,
                   const char *opName, void (*row)(const float *, float *, int64_t),
                   const Op &op, int64_t cost = kTranscendental) {
  checkInputCount(inputs, 1, 1, opName);
  const Tensor &x = inputs[0];
  if (x.dtype() != DType::F32) {
    runUnary<DS_FLOAT_TYPES, Others...>(ctx, inputs, outputs, opName, cost, op);
    return;
  }
  Tensor out = Tensor::uninitialized(x.dtype(), x.shape()); // row() writes all
  const float *src = x.data<float>();
  float *dst = out.mutableData<float>();
  parallelElements(ctx.pool, x.numel(), cost,
                   [&](int64_t begin, int64_t end) { row(src + begin, dst + begin, end - begin); });
  outputs.push_back(std::move(out));
}

template <typename T> T tanhOf(T x) {
  if constexpr (std::is_same_v<T, float>)
    return fastTanh(x);
  else
    return std::tanh(x);
}

void reluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  // Relu-14 added the signed integer types.
  runFloatUnary<int8_t, int16_t, int32_t, int64_t>(
      ctx, inputs, outputs, "Relu", &reluRowF32,
      [](auto x) {
        using T = decltype(x);
        // Written as a select so NaN propagates (x > 0 is false, x < 0 too).
        return x < T(0) ? T(0) : x;
      },
      kCheap);
}

void sigmoidKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runFloatUnary(ctx, inputs, outputs, "Sigmoid", &sigmoidRowF32,
                [](auto x) { return sigmoid(x); });
}

void tanhKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runFloatUnary(ctx, inputs, outputs, "Tanh", &tanhRowF32, [](auto x) { return tanhOf(x); });
}

void softplusKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Softplus", kTranscendental,
                           [](auto x) { return softplus(x); });
}

void softsignKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Softsign", kCheap, [](auto x) {
    using T = decltype(x);
    return x / (T(1) + std::fabs(x));
  });
}

void eluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 1.0f);
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Elu", kTranscendental, [alpha](auto x) {
    using T = decltype(x);
    return x < T(0) ? T(alpha) * std::expm1(x) : x;
  });
}

void seluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 1.67326319217681884765625f);
  double gamma = ctx.attrs.getFloat("gamma", 1.05070102214813232421875f);
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Selu", kTranscendental,
                           [alpha, gamma](auto x) {
                             using T = decltype(x);
                             return x > T(0) ? T(gamma) * x
                                             : T(gamma) * (T(alpha) * std::exp(x) - T(alpha));
                           });
}

void celuKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 1.0f);
  DS_CHECK(alpha != 0.0, "Celu 'alpha' must not be 0");
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Celu", kTranscendental, [alpha](auto x) {
    using T = decltype(x);
    T a = T(alpha);
    return std::max(T(0), x) + std::min(T(0), a * std::expm1(x / a));
  });
}

void leakyReluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 0.01f);
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "LeakyRelu", kCheap, [alpha](auto x) {
    using T = decltype(x);
    return x < T(0) ? T(alpha) * x : x;
  });
}

void thresholdedReluKernel(const KernelContext &ctx, KernelArgs inputs,
                           std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 1.0f);
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "ThresholdedRelu", kCheap, [alpha](auto x) {
    using T = decltype(x);
    return x > T(alpha) ? x : T(0);
  });
}

void hardSigmoidKernel(const KernelContext &ctx, KernelArgs inputs,
                       std::vector<Tensor> &outputs) {
  double alpha = ctx.attrs.getFloat("alpha", 0.2f);
  double beta = ctx.attrs.getFloat("beta", 0.5f);
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "HardSigmoid", kCheap, [alpha, beta](auto x) {
    using T = decltype(x);
    return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
  });
}

void hardSwishKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "HardSwish", kCheap, [](auto x) {
    using T = decltype(x);
    return x * std::max(T(0), std::min(T(1), x * T(1.0 / 6.0) + T(0.5)));
  });
}

void geluKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  std::string approximate = ctx.attrs.getString("approximate", "none");
  if (approximate == "none") {
    runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Gelu", kTranscendental, [](auto x) {
      using T = decltype(x);
      return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
    });
  } else if (approximate == "tanh") {
    runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Gelu", kTranscendental, [](auto x) {
      using T = decltype(x);
      const T k = T(0.79788456080286535588); // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + tanhOf(k * (x + T(0.044715) * x * x * x)));
    });
  } else {
    throw Error("'approximate' must be \"none\" or \"tanh\", got \"" + approximate + "\"");
  }
}

void mishKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  runUnary<DS_FLOAT_TYPES>(ctx, inputs, outputs, "Mish", kTranscendental,
                           [](auto x) { return x * std::tanh(softplus(x)); });
}

void shrinkKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  double bias = ctx.attrs.getFloat("bias", 0.0f);
  double lambd = ctx.attrs.getFloat("lambd", 0.5f);
  // Shrink is defined for all numeric types; integers are compared and shifted
  // in double (as the float attributes demand) and converted back.
  runUnary<DS_NUMERIC_TYPES>(ctx, inputs, outputs, "Shrink", kCheap, [bias, lambd](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) {
      return x < T(-lambd) ? x + T(bias) : (x > T(lambd) ? x - T(bias) : T(0));
    } else {
      double v = static_cast<double>(x);
      return static_cast<T>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    }
  });
}

} // namespace

DS_REGISTER_KERNEL("relu", reluKernel);
DS_REGISTER_KERNEL("sigmoid", sigmoidKernel);
DS_REGISTER_KERNEL("tanh", tanhKernel);
DS_REGISTER_KERNEL("softplus", softplusKernel);
DS_REGISTER_KERNEL("softsign", softsignKernel);
DS_REGISTER_KERNEL("elu", eluKernel);
DS_REGISTER_KERNEL("selu", seluKernel);
DS_REGISTER_KERNEL("celu", celuKernel);
DS_REGISTER_KERNEL("leaky_relu", leakyReluKernel);
DS_REGISTER_KERNEL("thresholded_relu", thresholdedReluKernel);
DS_REGISTER_KERNEL("hard_sigmoid", hardSigmoidKernel);
DS_REGISTER_KERNEL("hard_swish", hardSwishKernel);
DS_REGISTER_KERNEL("gelu", geluKernel);
DS_REGISTER_KERNEL("mish", mishKernel);
DS_REGISTER_KERNEL("shrink", shrinkKernel);

} // namespace ds::rt
