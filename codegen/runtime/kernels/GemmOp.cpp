//===- GemmOp.cpp - the gemm kernel (ONNX Gemm) ---------------------------===//
//
// Y = alpha * op(A) * op(B) + beta * C, A and B 2-D, C optional and broadcast
// unidirectionally to [M, N]. float32 goes through gemmF32 (C as its bias when
// beta is 1, else preloaded into Y and scaled by gemmF32's beta); other dtypes
// use a plain loop. A constant B is packed once per node (GemmPackCache.h).
//===----------------------------------------------------------------------===//
#include "Gemm.h"
#include "GemmPackCache.h"

#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <type_traits>

namespace ds::rt {
namespace {

struct GemmDims {
  int64_t M, K, N;
  int64_t cRowStride = 0, cColStride = 0; // C read as broadcast to [M, N]
};

/// Integers accumulate unsigned so overflow wraps instead of being UB.
template <typename T, bool = std::is_integral_v<T>> struct Accumulator { using type = T; };
template <typename T> struct Accumulator<T, true> {
  using type = std::make_unsigned_t<T>;
};

template <typename T>
void gemmGeneric(const GemmDims &d, bool transA, bool transB, T alpha, T beta, const T *a,
                 const T *b, const T *c, T *y, ThreadPool &pool) {
  using Acc = typename Accumulator<T>::type;
  pool.parallelFor(d.M, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, d.K * d.N)),
                   [&](int64_t i0, int64_t i1) {
                     for (int64_t i = i0; i < i1; ++i)
                       for (int64_t j = 0; j < d.N; ++j) {
                         Acc sum = 0;
                         for (int64_t k = 0; k < d.K; ++k) {
                           T x = transA ? a[k * d.M + i] : a[i * d.K + k];
                           T w = transB ? b[j * d.K + k] : b[k * d.N + j];
                           sum += static_cast<Acc>(x) * static_cast<Acc>(w);
                         }
                         Acc out = static_cast<Acc>(alpha) * sum;
                         if (c)
                           out += static_cast<Acc>(beta) *
                                  static_cast<Acc>(c[i * d.cRowStride + j * d.cColStride]);
                         y[i * d.N + j] = static_cast<T>(out);
                       }
                   });
}

void gemmKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "Gemm");
  const Tensor &a = inputs[0], &b = inputs[1];
  const Tensor &c = optionalInput(inputs, 2);
  DS_CHECK(a.rank() == 2 && b.rank() == 2, "A and B must be 2-D, got " +
                                                shapeToString(a.shape()) + " and " +
                                                shapeToString(b.shape()));
  DS_CHECK(a.dtype() == b.dtype() && (c.isAbsent() || c.dtype() == a.dtype()),
           "operand types differ");
  const bool transA = ctx.attrs.getInt("transA", 0) != 0;
  const bool transB = ctx.attrs.getInt("transB", 0) != 0;
  const float alpha = ctx.attrs.getFloat("alpha", 1.0f);
  const float beta = ctx.attrs.getFloat("beta", 1.0f);

  GemmDims d;
  d.M = transA ? a.dim(1) : a.dim(0);
  d.K = transA ? a.dim(0) : a.dim(1);
  d.N = transB ? b.dim(0) : b.dim(1);
  int64_t kB = transB ? b.dim(1) : b.dim(0);
  DS_CHECK(kB == d.K, "inner dimensions differ: op(A) is " +
                          shapeToString({d.M, d.K}) + ", op(B) is " +
                          shapeToString({kB, d.N}));
  if (!c.isAbsent()) {
    DS_CHECK(c.rank() <= 2, "C must have rank <= 2, got " + shapeToString(c.shape()));
    std::vector<int64_t> strides = broadcastStrides(c.shape(), {d.M, d.N});
    d.cRowStride = strides[0];
    d.cColStride = strides[1];
  }

  // gemmF32 writes every element (beta 0 means write-only, else Y is preloaded).
  Tensor y = Tensor::uninitialized(a.dtype(), {d.M, d.N});
  if (a.dtype() == DType::F32) {
    float *out = y.mutableData<float>();
    GemmBias bias;
    float gemmBeta = 0.0f;
    if (!c.isAbsent() && beta != 0.0f) {
      const float *cData = c.data<float>();
      if (beta == 1.0f) {
        bias = {cData, d.cRowStride, d.cColStride};
      } else {
        for (int64_t i = 0; i < d.M; ++i)
          for (int64_t j = 0; j < d.N; ++j)
            out[i * d.N + j] = cData[i * d.cRowStride + j * d.cColStride];
        gemmBeta = beta;
      }
    }
    const int64_t lda = std::max<int64_t>(a.dim(1), 1), ldb = std::max<int64_t>(b.dim(1), 1);
    const float *bData = b.data<float>();
    if (const GemmPackedB *packed =
            gemm_detail::cachedPackedB(ctx, b, bData, transB, d.K, d.N, ldb))
      gemmF32Prepacked(transA, d.M, alpha, a.data<float>(), lda, *packed, gemmBeta, out,
                       std::max<int64_t>(d.N, 1), bias, &ctx.pool);
    else
      gemmF32(transA, transB, d.M, d.N, d.K, alpha, a.data<float>(), lda, bData, ldb,
              gemmBeta, out, std::max<int64_t>(d.N, 1), bias, ctx.pool);
  } else {
    dispatchDType<double, int32_t, int64_t, uint32_t, uint64_t>(
        a.dtype(), "Gemm", [&](auto tag) {
          using T = typename decltype(tag)::type;
          gemmGeneric<T>(d, transA, transB, static_cast<T>(alpha), static_cast<T>(beta),
                         a.data<T>(), b.data<T>(), c.isAbsent() ? nullptr : c.data<T>(),
                         y.mutableData<T>(), ctx.pool);
        });
  }
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("gemm", gemmKernel);

} // namespace ds::rt
