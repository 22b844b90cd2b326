//===- Attention.cpp - the attention kernel (ds.attention) -----------------===//
//
// y = softmax(where(mask, (q @ kT) / scale_divisor, masked_value)) @ v, the
// scaled-dot-product attention that exporters spell as MatMul, Div, Where,
// Softmax, MatMul (ds-fuse-attention). One query row at a time: its scores,
// exponentials and the weighted sum of v rows stay in a row buffer, so none of
// the four [..., Lq, Lk] intermediates of the chain is written. The work items
// are the query rows of all heads (one head is too little work to share), and
// each row is computed by one thread in a fixed order: the result does not
// depend on the thread count.
//
// Masked keys: where masked_value lies more than 87 below the row's largest
// unmasked score, Softmax.cpp would give every masked key exp(-87) ~ 1.6e-38 of
// the weight; such keys are skipped (the masked tail of a causal row, half of
// all products, is never computed). A row where that does not hold (all keys
// masked, or a mild masked_value) takes every key, with masked_value as the
// score of the masked ones, exactly as the unfused chain does.
//
// Inputs: 0 q float [..., Lq, D]; 1 kT float [..., D, Lk]; 2 v float [..., Lk, Dv];
// 3 mask bool, broadcastable to [..., Lq, Lk] (it may not add dims). Leading
// dims broadcast as in MatMul. Attributes: scale_divisor, masked_value (float),
// nan_rows_to_zero (0/1: a softmax row that is NaN gives a zero output row, as
// Optimum's IsNaN/Where guard after the Softmax does). Output: float [..., Lq, Dv].
//===----------------------------------------------------------------------===//
#include "Scratch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
// GCC 12's AVX-512 intrinsics trip -Wuninitialized once inlined (see Softmax.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "VectorExp.h"

#include <immintrin.h>

namespace ds::rt {
namespace {

#define DS_ATTENTION_MATH __attribute__((optimize("fp-contract=off", "no-trapping-math")))

using vexp::expNonPositive;

/// One query row's geometry: element (d, j) of kT is kT[d * ldk + j], row j of v is
/// v + j * Dv, mask(j) is mask[j * maskStride] != 0.
struct RowArgs {
  const float *q, *kT, *v;
  const uint8_t *mask;
  int64_t D, Lk, Dv, ldk, maskStride;
  float divisor, maskedValue;
  float *out;
  float *s; // Lk floats of scratch
  bool nanRowsToZero = false; // where(isnan(softmax), 0, softmax) followed the softmax
};

/// s[j] = (q . kT[:, j]) / divisor for j in [j0, j1); masked keys get `masked`.
DS_ATTENTION_MATH void scoreRange(const RowArgs &a, int64_t j0,
                                                      int64_t j1, float masked) {
  float *__restrict s = a.s + j0;
  const int64_t n = j1 - j0, D = a.D, ldk = a.ldk;
  const float *__restrict kT = a.kT + j0;
  for (int64_t j = 0; j < n; ++j)
    s[j] = 0.0f;
  for (int64_t d = 0; d < D; ++d) {
    const float qd = a.q[d];
    const float *__restrict k = kT + d * ldk;
    for (int64_t j = 0; j < n; ++j)
      s[j] = s[j] + qd * k[j];
  }
  const float divisor = a.divisor;
  const uint8_t *__restrict mask = a.mask + j0 * a.maskStride;
  if (a.maskStride == 1) {
    for (int64_t j = 0; j < n; ++j)
      s[j] = mask[j] ? s[j] / divisor : masked;
  } else {
    for (int64_t j = 0; j < n; ++j)
      s[j] = mask[j * a.maskStride] ? s[j] / divisor : masked;
  }
}

/// out = sum over j in [j0, j1) of softmax(s)[j] * v[j], m the largest score.
/// `skip`: scores of -inf (the fast path's skipped keys) get weight 0 and are
/// not summed; otherwise every key is, as the unfused chain does.
DS_ATTENTION_MATH void softmaxTimesV(const RowArgs &a, int64_t j0,
                                                         int64_t j1, float m, bool skip) {
  float *__restrict s = a.s + j0;
  const int64_t n = j1 - j0, Dv = a.Dv;
  const float negInf = -std::numeric_limits<float>::infinity();
  // Eight partial sums so the loop vectorizes (a fixed order: same bits every run).
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) {
      const float x = s[j + l];
      const float e = skip && x == negInf ? 0.0f : expNonPositive(x - m);
      s[j + l] = e;
      lanes[l] += e;
    }
  for (int l = 0; j < n; ++j, ++l) {
    const float x = s[j];
    const float e = skip && x == negInf ? 0.0f : expNonPositive(x - m);
    s[j] = e;
    lanes[l] += e;
  }
  double sum = 0;
  for (int l = 0; l < 8; ++l)
    sum += lanes[l];
  const float inv = static_cast<float>(1.0 / sum);
  float *__restrict out = a.out;
  const float *__restrict v = a.v + j0 * Dv;
  for (int64_t c = 0; c < Dv; ++c)
    out[c] = 0.0f;
  for (j = 0; j < n; ++j) {
    if (skip && s[j] == 0.0f)
      continue;
    const float p = s[j] * inv;
    const float *__restrict vj = v + j * Dv;
    for (int64_t c = 0; c < Dv; ++c)
      out[c] = out[c] + p * vj[c];
  }
}

// AVX-512 versions of scoreRange and softmaxTimesV (contiguous mask rows only):
// the same math with FMA and Softmax.cpp's vector exp, so their bits differ
// from the portable loops by rounding, as Softmax.cpp's AVX-512 rows do. Only
// intrinsics under the target attribute (the library is baseline x86-64).
#define DS_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

using vexp::expNonPositiveAvx512;

DS_AVX512 inline __mmask16 tailMask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

/// Scores of 16 keys from j: one FMA chain over D.
DS_AVX512 inline __m512 scoreBlock(const RowArgs &a, int64_t j, __mmask16 lanes) {
  __m512 acc = _mm512_setzero_ps();
  const float *k = a.kT + j;
  for (int64_t d = 0; d < a.D; ++d)
    acc = _mm512_fmadd_ps(_mm512_set1_ps(a.q[d]), _mm512_maskz_loadu_ps(lanes, k + d * a.ldk),
                          acc);
  return acc;
}

/// Stores 16 scores from j: divided, or `fill` where the mask is false; folds
/// them into the running max and NaN flag (saves a pass over the row).
DS_AVX512 inline void finishScores(const RowArgs &a, int64_t j, __m512 acc, __mmask16 lanes,
                                   __m512 divisor, __m512 fill, __m512 &mx, __mmask16 &nan) {
  __m128i bytes = _mm_maskz_loadu_epi8(lanes, a.mask + j);
  __mmask16 keep = _mm512_test_epi32_mask(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(0xFF));
  __m512 v = _mm512_mask_blend_ps(keep, fill, _mm512_div_ps(acc, divisor));
  _mm512_mask_storeu_ps(a.s + j, lanes, v);
  mx = _mm512_mask_max_ps(mx, lanes, mx, v);
  nan |= _mm512_mask_cmp_ps_mask(lanes, v, v, _CMP_UNORD_Q);
}

/// scoreRange; returns max(s[j0..j1)) and sets `nan` when any is NaN (as rangeMax).
DS_AVX512 float scoreRangeAvx512(const RowArgs &a, int64_t j0, int64_t j1, float masked,
                                 bool &nan) {
  const __m512 divisor = _mm512_set1_ps(a.divisor), fill = _mm512_set1_ps(masked);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  __mmask16 unordered = 0;
  int64_t j = j0;
  // Four independent chains hide the FMA latency.
  for (; j + 64 <= j1; j += 64) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    const float *k = a.kT + j;
    for (int64_t d = 0; d < a.D; ++d) {
      const __m512 qd = _mm512_set1_ps(a.q[d]);
      const float *kd = k + d * a.ldk;
      c0 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kd), c0);
      c1 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kd + 16), c1);
      c2 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kd + 32), c2);
      c3 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kd + 48), c3);
    }
    finishScores(a, j, c0, 0xFFFF, divisor, fill, mx, unordered);
    finishScores(a, j + 16, c1, 0xFFFF, divisor, fill, mx, unordered);
    finishScores(a, j + 32, c2, 0xFFFF, divisor, fill, mx, unordered);
    finishScores(a, j + 48, c3, 0xFFFF, divisor, fill, mx, unordered);
  }
  for (; j < j1; j += 16) {
    const __mmask16 lanes = tailMask(j1 - j);
    finishScores(a, j, scoreBlock(a, j, lanes), lanes, divisor, fill, mx, unordered);
  }
  nan = unordered != 0;
  return _mm512_reduce_max_ps(mx);
}

DS_AVX512 void softmaxTimesVAvx512(const RowArgs &a, int64_t j0, int64_t j1, float m,
                                   bool skip) {
  float *s = a.s;
  const __m512 mv = _mm512_set1_ps(m), negInf = _mm512_set1_ps(-INFINITY);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = j0; j < j1; j += 16) {
    const __mmask16 lanes = tailMask(j1 - j);
    const __m512 x = _mm512_maskz_loadu_ps(lanes, s + j);
    __m512 e = expNonPositiveAvx512(_mm512_sub_ps(x, mv));
    __mmask16 live = lanes;
    if (skip)
      live &= _mm512_cmp_ps_mask(x, negInf, _CMP_NEQ_UQ);
    e = _mm512_maskz_mov_ps(live, e);
    _mm512_mask_storeu_ps(s + j, lanes, e);
    sum = _mm512_add_ps(sum, e);
  }
  alignas(64) float lanesOut[16];
  _mm512_store_ps(lanesOut, sum);
  double total = 0;
  for (int l = 0; l < 16; ++l)
    total += lanesOut[l];
  // sum_j e_j * v_j, normalized once at the end: the same value as weighting
  // by e_j / sum first, one multiply per key cheaper (rounding differs by an ulp).
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / total));
  for (int64_t c0 = 0; c0 < a.Dv; c0 += 16) {
    const __mmask16 cols = tailMask(a.Dv - c0);
    // Four accumulators (keys j, j+1, j+2, j+3) hide the FMA latency. Keys of
    // weight 0 are summed too: 0 * v adds nothing.
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    const float *v = a.v + c0;
    const int64_t ld = a.Dv;
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      acc0 = _mm512_fmadd_ps(_mm512_set1_ps(s[j]), _mm512_maskz_loadu_ps(cols, v + j * ld), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_set1_ps(s[j + 1]),
                             _mm512_maskz_loadu_ps(cols, v + (j + 1) * ld), acc1);
      acc2 = _mm512_fmadd_ps(_mm512_set1_ps(s[j + 2]),
                             _mm512_maskz_loadu_ps(cols, v + (j + 2) * ld), acc2);
      acc3 = _mm512_fmadd_ps(_mm512_set1_ps(s[j + 3]),
                             _mm512_maskz_loadu_ps(cols, v + (j + 3) * ld), acc3);
    }
    for (; j < j1; ++j)
      acc0 = _mm512_fmadd_ps(_mm512_set1_ps(s[j]), _mm512_maskz_loadu_ps(cols, v + j * ld), acc0);
    __m512 out = _mm512_mul_ps(
        _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)), inv);
    _mm512_mask_storeu_ps(a.out + c0, cols, out);
  }
}

/// max(s[j0..j1)); `nan` is set when any is NaN.
DS_ATTENTION_MATH float rangeMax(const float *s, int64_t j0, int64_t j1, bool &nan) {
  float m = -std::numeric_limits<float>::infinity();
  int unordered = 0;
  for (int64_t j = j0; j < j1; ++j) {
    m = s[j] > m ? s[j] : m;
    unordered |= s[j] != s[j];
  }
  nan = unordered != 0;
  return m;
}

void attentionRow(const RowArgs &a, bool avx512) {
  // Fills s[j0..j1) and returns its max (`nan` set when any is NaN).
  auto scores = [&](int64_t j0, int64_t j1, float masked, bool &nan) {
    if (avx512)
      return scoreRangeAvx512(a, j0, j1, masked, nan);
    scoreRange(a, j0, j1, masked);
    return rangeMax(a.s, j0, j1, nan);
  };
  auto weighted = [&](int64_t j0, int64_t j1, float m, bool skip) {
    avx512 ? softmaxTimesVAvx512(a, j0, j1, m, skip) : softmaxTimesV(a, j0, j1, m, skip);
  };
  const float negInf = -std::numeric_limits<float>::infinity();
  // The keys between the first and last unmasked one; the rest only matter
  // when masked_value is close to the scores (see the file comment).
  int64_t first = 0, last = a.Lk;
  while (first < a.Lk && !a.mask[first * a.maskStride])
    ++first;
  if (a.maskStride == 1) // a causal row's masked tail, 8 bytes at a time
    for (uint64_t word; last - 8 >= first; last -= 8) {
      std::memcpy(&word, a.mask + last - 8, sizeof(word));
      if (word != 0)
        break;
    }
  while (last > first && !a.mask[(last - 1) * a.maskStride])
    --last;
  if (first < last) {
    // Masked keys hold -inf here, so this is the largest unmasked score.
    bool nan = false;
    const float m = scores(first, last, negInf, nan);
    // NaN or +inf scores behave differently unfused; the full path reproduces
    // the chain for those rows.
    if (!nan && m < std::numeric_limits<float>::infinity() && a.maskedValue - m < -87.0f) {
      weighted(first, last, m, true);
      return;
    }
  }
  bool nan = false;
  float m = scores(0, a.Lk, a.maskedValue, nan);
  // A NaN score, a +inf one or only -inf ones make the whole softmax row NaN;
  // exporters that guard it (Optimum's IsNaN -> Where) turn it into zeros.
  if (a.nanRowsToZero && (nan || !(std::abs(m) < std::numeric_limits<float>::infinity()))) {
    std::fill(a.out, a.out + a.Dv, 0.0f);
    return;
  }
  if (nan) // a NaN score makes the whole softmax row NaN, as unfused
    m = std::numeric_limits<float>::quiet_NaN();
  weighted(0, a.Lk, m, false);
}

void attentionKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 4, 4, "attention");
  const Tensor &q = inputs[0], &kT = inputs[1], &v = inputs[2], &mask = inputs[3];
  for (const Tensor *t : {&q, &kT, &v})
    DS_CHECK(t->dtype() == DType::F32 && t->rank() >= 2,
             "attention: q, kT and v must be float of rank >= 2, got " +
                 std::string(dtypeName(t->dtype())) + " " + shapeToString(t->shape()));
  DS_CHECK(mask.dtype() == DType::Bool, std::string("attention: mask must be bool, got ") +
                                            dtypeName(mask.dtype()));
  const int64_t Lq = q.dim(q.rank() - 2), D = q.dim(q.rank() - 1);
  const int64_t Lk = kT.dim(kT.rank() - 1), Dv = v.dim(v.rank() - 1);
  DS_CHECK(kT.dim(kT.rank() - 2) == D && v.dim(v.rank() - 2) == Lk,
           "attention: shapes do not chain: q " + shapeToString(q.shape()) + ", kT " +
               shapeToString(kT.shape()) + ", v " + shapeToString(v.shape()));
  auto lead = [](const Tensor &t) { return Shape(t.shape().begin(), t.shape().end() - 2); };
  const Shape batchShape = broadcastShapes(broadcastShapes(lead(q), lead(kT)), lead(v));
  Shape scoreShape = batchShape;
  scoreShape.push_back(Lq);
  scoreShape.push_back(Lk);
  DS_CHECK(mask.rank() <= static_cast<int64_t>(scoreShape.size()) &&
               broadcastShapes(mask.shape(), scoreShape) == scoreShape,
           "attention: mask " + shapeToString(mask.shape()) + " does not broadcast to " +
               shapeToString(scoreShape));
  Shape outShape = batchShape;
  outShape.push_back(Lq);
  outShape.push_back(Dv);
  Tensor y = Tensor::uninitialized(DType::F32, outShape); // every row is written
  const int64_t batch = shapeNumel(batchShape), rows = batch * Lq;
  if (rows == 0 || Dv == 0)
    return outputs.push_back(std::move(y));
  if (Lk == 0) { // softmax over no keys is empty; the product with v is zeros
    std::fill(y.mutableData<float>(), y.mutableData<float>() + y.numel(), 0.0f);
    return outputs.push_back(std::move(y));
  }

  // Per-batch offsets of each operand (0 stride on broadcast leading dims).
  auto offsets = [&](const Tensor &t, int64_t matrixSize) {
    std::vector<int64_t> strides = broadcastStrides(lead(t), batchShape), result(batch);
    for (int64_t n = 0; n < batch; ++n) {
      int64_t rest = n, off = 0;
      for (size_t d = batchShape.size(); d-- > 0;) {
        off += (rest % batchShape[d]) * strides[d];
        rest /= batchShape[d];
      }
      result[static_cast<size_t>(n)] = off * matrixSize;
    }
    return result;
  };
  const std::vector<int64_t> qOff = offsets(q, Lq * D), kOff = offsets(kT, D * Lk),
                             vOff = offsets(v, Lk * Dv);
  const std::vector<int64_t> maskStrides = broadcastStrides(mask.shape(), scoreShape);
  const size_t rank = scoreShape.size();
  const float divisor = ctx.attrs.getFloat("scale_divisor", 1.0f);
  const float maskedValue = ctx.attrs.getFloat("masked_value", 0.0f);
  const bool nanRowsToZero = ctx.attrs.getInt("nan_rows_to_zero", 0) != 0;
  const auto *maskData = reinterpret_cast<const uint8_t *>(mask.rawData());
  const float *qData = q.data<float>(), *kData = kT.data<float>(), *vData = v.data<float>();
  float *yData = y.mutableData<float>();

  static const bool hasAvx512 = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl");
  const bool avx512 = hasAvx512 && maskStrides[rank - 1] == 1;
  // A row costs about Lk * (D + Dv) multiply-adds; a task takes at least 64K of
  // them. At 16K an LM decode step (8 heads x one query row of 128 keys) split
  // its ~10 us of attention in two and paid more in the fork/join than it saved.
  const int64_t rowCost = std::max<int64_t>(1, Lk * (D + Dv));
  ctx.pool.parallelFor(rows, std::max<int64_t>(1, 65536 / rowCost), [&](int64_t r0, int64_t r1) {
    static thread_local Scratch<float> scores;
    float *s = scores.get(static_cast<size_t>(Lk));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / Lq, i = r % Lq;
      // The mask row (n, i): walk the batch index through the mask's strides.
      int64_t maskOff = i * maskStrides[rank - 2], rest = n;
      for (size_t d = rank - 2; d-- > 0;) {
        maskOff += (rest % scoreShape[d]) * maskStrides[d];
        rest /= scoreShape[d];
      }
      RowArgs a{qData + qOff[static_cast<size_t>(n)] + i * D,
                kData + kOff[static_cast<size_t>(n)],
                vData + vOff[static_cast<size_t>(n)],
                maskData + maskOff,
                D,
                Lk,
                Dv,
                Lk,
                maskStrides[rank - 1],
                divisor,
                maskedValue,
                yData + r * Dv,
                s,
                nanRowsToZero};
      attentionRow(a, avx512);
    }
  });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("attention", attentionKernel);

} // namespace ds::rt

#pragma GCC diagnostic pop
