//===- Softmax.cpp - the softmax, log_softmax and hardmax kernels ---------===//
//
// Opset >= 13: normalize along `axis` (default -1). Opset < 13 (the importer
// sets "legacy_flatten" = 1): the input is coerced to 2-D at `axis` (default 1)
// and each row of the flattened trailing dims is normalized as one vector.
// Both become [outer, R, inner] with R normalized. inner == 1 (the usual case)
// works on contiguous rows; otherwise a block of columns is processed together
// so every loop still runs along contiguous memory. Sums accumulate in double,
// except on the AVX-512 float row path (see normalizeRowAvx512).
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cmath>
// GCC 12's AVX-512 intrinsics initialize their "undefined" operand from itself,
// which trips -Wuninitialized once inlined; the warning is about the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "TargetClones.h"
#include "VectorExp.h"

#include <immintrin.h>
#include <cstring>
#include <type_traits>

namespace ds::rt {
namespace {

enum class SoftmaxKind { Softmax, LogSoftmax, Hardmax };

constexpr int64_t kInnerBlock = 128;
constexpr int kLanes = 8;

template <typename T> T rowMax(const T *x, int64_t n) {
  // Independent lanes keep the compare chain short; max is exact in any order.
  T lanes[kLanes];
  for (int l = 0; l < kLanes; ++l)
    lanes[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l)
      lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
  for (; i < n; ++i)
    lanes[0] = x[i] > lanes[0] ? x[i] : lanes[0];
  T m = lanes[0];
  for (int l = 1; l < kLanes; ++l)
    m = lanes[l] > m ? lanes[l] : m;
  return m;
}

using vexp::expNonPositive;

/// exp of a non-positive argument in the element type.
template <typename T> T expOf(T x) {
  if constexpr (std::is_same_v<T, float>)
    return expNonPositive(x);
  else
    return std::exp(x);
}

template <SoftmaxKind Kind, typename T>
void normalizeRow(const T *x, T *y, int64_t n) {
  T m = rowMax(x, n);
  if constexpr (Kind == SoftmaxKind::Hardmax) {
    int64_t at = 0;
    for (int64_t i = 0; i < n; ++i)
      if (x[i] == m) {
        at = i;
        break;
      }
    std::fill(y, y + n, T(0));
    y[at] = T(1);
    return;
  }
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      T e = expOf<T>(x[i + l] - m);
      if constexpr (Kind == SoftmaxKind::Softmax)
        y[i + l] = e;
      lanes[l] += e;
    }
  for (int l = 0; i < n; ++i, ++l) {
    T e = expOf<T>(x[i] - m);
    if constexpr (Kind == SoftmaxKind::Softmax)
      y[i] = e;
    lanes[l] += e;
  }
  double sum = 0;
  for (int l = 0; l < kLanes; ++l)
    sum += lanes[l];
  if constexpr (Kind == SoftmaxKind::Softmax) {
    T scale = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < n; ++j)
      y[j] *= scale;
  } else {
    // (x - m) - log(sum), not x - (m + log(sum)): the latter rounds away the
    // small differences of large inputs.
    T logSum = static_cast<T>(std::log(sum));
    for (int64_t j = 0; j < n; ++j)
      y[j] = (x[j] - m) - logSum;
  }
}

/// [R, inner] slice with a column block [j0, j0 + width): same math per column.
template <SoftmaxKind Kind, typename T>
void normalizeColumns(const T *x, T *y, int64_t R, int64_t inner, int64_t width) {
  T m[kInnerBlock];
  int64_t at[kInnerBlock];
  for (int64_t j = 0; j < width; ++j) {
    m[j] = x[j];
    at[j] = 0;
  }
  for (int64_t r = 1; r < R; ++r)
    for (int64_t j = 0; j < width; ++j)
      if (x[r * inner + j] > m[j]) {
        m[j] = x[r * inner + j];
        at[j] = r;
      }
  if constexpr (Kind == SoftmaxKind::Hardmax) {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < width; ++j)
        y[r * inner + j] = at[j] == r ? T(1) : T(0);
    return;
  }
  double sum[kInnerBlock] = {};
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < width; ++j) {
      T e = expOf<T>(x[r * inner + j] - m[j]);
      if constexpr (Kind == SoftmaxKind::Softmax)
        y[r * inner + j] = e;
      sum[j] += e;
    }
  T factor[kInnerBlock];
  for (int64_t j = 0; j < width; ++j)
    factor[j] = Kind == SoftmaxKind::Softmax ? static_cast<T>(1.0 / sum[j])
                                             : static_cast<T>(std::log(sum[j]));
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < width; ++j) {
      if constexpr (Kind == SoftmaxKind::Softmax)
        y[r * inner + j] *= factor[j];
      else
        y[r * inner + j] = (x[r * inner + j] - m[j]) - factor[j];
    }
}

// AVX-512 rows for float softmax / log_softmax: the same math as normalizeRow
// with a vector exp (VectorExp.h), and float
// sums in 64 independent lanes (at most n/64 terms each, so rounding stays near
// 1e-7 relative). Only intrinsics under the target attribute (see GemmAvx512.cpp).
using vexp::expNonPositiveAvx512;

template <SoftmaxKind Kind>
__attribute__((target("avx512f"))) void normalizeRowAvx512(const float *x, float *y,
                                                           int64_t n) {
  const __m512 negInf = _mm512_set1_ps(-INFINITY);
  __m512 mx = negInf;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    mx = _mm512_max_ps(mx, _mm512_loadu_ps(x + i));
  __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
  mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(negInf, tail, x + i));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, mx);
  float m = lanes[0];
  for (int l = 1; l < 16; ++l)
    m = lanes[l] > m ? lanes[l] : m;

  const __m512 mv = _mm512_set1_ps(m);
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 e0 = expNonPositiveAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
    __m512 e1 = expNonPositiveAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv));
    __m512 e2 = expNonPositiveAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 32), mv));
    __m512 e3 = expNonPositiveAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 48), mv));
    if constexpr (Kind == SoftmaxKind::Softmax) {
      _mm512_storeu_ps(y + i, e0);
      _mm512_storeu_ps(y + i + 16, e1);
      _mm512_storeu_ps(y + i + 32, e2);
      _mm512_storeu_ps(y + i + 48, e3);
    }
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
    s2 = _mm512_add_ps(s2, e2);
    s3 = _mm512_add_ps(s3, e3);
  }
  for (; i < n; i += 16) {
    __mmask16 mask = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    __m512 e = _mm512_maskz_mov_ps(
        mask, expNonPositiveAvx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), mv)));
    if constexpr (Kind == SoftmaxKind::Softmax)
      _mm512_mask_storeu_ps(y + i, mask, e);
    s0 = _mm512_add_ps(s0, e);
  }
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  double sum = 0;
  for (int l = 0; l < 16; ++l)
    sum += lanes[l];

  if constexpr (Kind == SoftmaxKind::Softmax) {
    const __m512 scale = _mm512_set1_ps(static_cast<float>(1.0 / sum));
    for (i = 0; i < n; i += 16) {
      __mmask16 mask = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(y + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, y + i), scale));
    }
  } else {
    // (x - m) - log(sum): see normalizeRow.
    const __m512 logSum = _mm512_set1_ps(static_cast<float>(std::log(sum)));
    for (i = 0; i < n; i += 16) {
      __mmask16 mask = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
      __m512 v = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), mv), logSum);
      _mm512_mask_storeu_ps(y + i, mask, v);
    }
  }
}

template <SoftmaxKind Kind>
void softmaxKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Softmax");
  const Tensor &x = inputs[0];
  const bool legacy = ctx.attrs.getInt("legacy_flatten", 0) != 0;
  const int64_t rank = x.rank();
  int64_t outer = 1, R = 1, inner = 1;
  if (rank > 0) {
    int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", legacy ? 1 : -1), rank);
    for (int64_t d = 0; d < rank; ++d) {
      if (d < axis)
        outer *= x.dim(d);
      else if (d == axis || legacy)
        R *= x.dim(d);
      else
        inner *= x.dim(d);
    }
  } else {
    DS_CHECK(ctx.attrs.getInt("axis", 0) == 0 || ctx.attrs.getInt("axis", 0) == -1,
             "axis is out of range for a scalar");
  }
  Tensor y = Tensor::uninitialized(x.dtype(), x.shape()); // every row/column is written
  if (x.numel() > 0) {
    dispatchDType<float, double>(x.dtype(), "Softmax", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *in = x.data<T>();
      T *out = y.mutableData<T>();
      if (inner == 1) {
        ctx.pool.parallelFor(outer, std::max<int64_t>(1, 16384 / R), [&](int64_t o0, int64_t o1) {
          if constexpr (std::is_same_v<T, float> && Kind != SoftmaxKind::Hardmax) {
            if (cpuHasAvx512f()) {
              for (int64_t o = o0; o < o1; ++o)
                normalizeRowAvx512<Kind>(in + o * R, out + o * R, R);
              return;
            }
          }
          for (int64_t o = o0; o < o1; ++o)
            normalizeRow<Kind, T>(in + o * R, out + o * R, R);
        });
        return;
      }
      const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
      ctx.pool.parallelFor(outer * blocks,
                           std::max<int64_t>(1, 16384 / (R * std::min(inner, kInnerBlock))),
                           [&](int64_t t0, int64_t t1) {
                             for (int64_t t = t0; t < t1; ++t) {
                               int64_t o = t / blocks, j0 = (t % blocks) * kInnerBlock;
                               int64_t offset = o * R * inner + j0;
                               int64_t width = std::min(kInnerBlock, inner - j0);
                               normalizeColumns<Kind, T>(in + offset, out + offset, R, inner,
                                                         width);
                             }
                           });
    });
  }
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("softmax", softmaxKernel<SoftmaxKind::Softmax>);
DS_REGISTER_KERNEL("log_softmax", softmaxKernel<SoftmaxKind::LogSoftmax>);
DS_REGISTER_KERNEL("hardmax", softmaxKernel<SoftmaxKind::Hardmax>);

} // namespace ds::rt

#pragma GCC diagnostic pop
