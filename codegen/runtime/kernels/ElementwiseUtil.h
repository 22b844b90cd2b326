//===- ElementwiseUtil.h - loops shared by the elementwise kernels --------===//
//
// The elementwise kernels (unary math, activations, binary arithmetic and
// comparisons, Where, Clip, Cast, ...) differ only in the scalar function they
// apply. This header owns the loops around that function:
//
//  - mapUnary: one tight contiguous loop, split over the thread pool.
//  - BroadcastPlan + forEachRow: numpy broadcasting of N operands. Dimensions of
//    size 1 are dropped and adjacent dimensions that every operand walks the same
//    way are merged, so e.g. [8,64,32,32] + [64,1,1] becomes outer [8,64] with an
//    inner run of 1024 where the second operand is a scalar. The innermost
//    coalesced stride of every operand is therefore 0 or 1, and the row callback
//    can pick a contiguous loop ("vector op vector", "vector op scalar", ...) that
//    the compiler vectorizes; only the outer dimensions are walked by index.
//  - broadcastBinary: the two-operand case with those four specialized loops.
//
// Work is split by output index only, so results do not depend on the thread
// count. The elementwise .cpp files compile with GCC's no-trapping-math (a
// pragma at their top): with the default -ftrapping-math GCC will not turn a
// select with float arithmetic in its arms (clamps in Exp, NaN-aware Max, ...)
// into vector blends. Adding -fno-trapping-math to DS_KERNEL_FLAGS would make
// the pragmas unnecessary. Private to codegen/runtime/kernels; other kernel files may include it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace ds::rt::elementwise {

/// Below this much work (elements x cost) a loop runs on the calling thread.
constexpr int64_t kParallelWork = 128 * 1024;
/// Chunks handed to threads are multiples of this many elements, so that every
/// chunk but the last starts on a cache-line (and SIMD) boundary.
constexpr int64_t kChunkAlign = 16;

/// Relative cost of one element, used only to decide when threads pay off:
/// cheap arithmetic is memory-bound, transcendental functions are not.
enum Cost : int64_t { kCheap = 1, kTranscendental = 8 };

/// Runs fn(begin, end) over disjoint ranges covering [0, n); in parallel when the
/// work is large enough.
template <typename Fn>
void parallelElements(ThreadPool &pool, int64_t n, int64_t cost, Fn &&fn) {
  if (n <= 0)
    return;
  if (pool.numThreads() == 1 || n * cost < 2 * kParallelWork) {
    fn(int64_t{0}, n);
    return;
  }
  int64_t blocks = (n + kChunkAlign - 1) / kChunkAlign;
  int64_t minBlocks = std::max<int64_t>(1, kParallelWork / (cost * kChunkAlign));
  pool.parallelFor(blocks, minBlocks, [&](int64_t b0, int64_t b1) {
    fn(b0 * kChunkAlign, std::min(n, b1 * kChunkAlign));
  });
}

/// out[i] = op(in[i]) for i in [0, n). `in` and `out` may be the same buffer.
template <typename TI, typename TO, typename Op>
void mapUnary(ThreadPool &pool, const TI *in, TO *out, int64_t n, int64_t cost, Op op) {
  parallelElements(pool, n, cost, [&](int64_t begin, int64_t end) {
    const TI *src = in + begin;
    TO *dst = out + begin;
    int64_t len = end - begin;
    for (int64_t i = 0; i < len; ++i)
      dst[i] = op(src[i]);
  });
}

/// How N operands are walked when broadcast to a common output shape.
template <size_t N> struct BroadcastPlan {
  Shape outShape;
  int64_t numel = 0;
  /// Coalesced output dimensions, innermost last; never empty.
  std::vector<int64_t> dims;
  /// strides[k][d]: element stride of operand k along dims[d] (0 when broadcast).
  std::array<std::vector<int64_t>, N> strides;
};

/// Builds the plan; throws rt::Error when a shape does not broadcast to `outShape`.
template <size_t N>
BroadcastPlan<N> makeBroadcastPlan(const std::array<const Shape *, N> &shapes,
                                   const Shape &outShape) {
  BroadcastPlan<N> plan;
  plan.outShape = outShape;
  plan.numel = shapeNumel(outShape);
  std::array<std::vector<int64_t>, N> full;
  plan.dims.reserve(outShape.size() + 1); // one allocation each, not one per push
  for (size_t k = 0; k < N; ++k) {
    full[k] = broadcastStrides(*shapes[k], outShape);
    plan.strides[k].reserve(outShape.size() + 1);
  }
  for (size_t d = 0; d < outShape.size(); ++d) {
    int64_t size = outShape[d];
    if (size == 1)
      continue;
    // Merge into the previous (outer) dimension when, for every operand, one
    // step of the outer dimension equals `size` steps of this one.
    bool mergeable = !plan.dims.empty();
    for (size_t k = 0; k < N && mergeable; ++k)
      mergeable = plan.strides[k].back() == full[k][d] * size;
    if (mergeable) {
      plan.dims.back() *= size;
      for (size_t k = 0; k < N; ++k)
        plan.strides[k].back() = full[k][d];
    } else {
      plan.dims.push_back(size);
      for (size_t k = 0; k < N; ++k)
        plan.strides[k].push_back(full[k][d]);
    }
  }
  if (plan.dims.empty()) {
    plan.dims.push_back(1);
    for (size_t k = 0; k < N; ++k)
      plan.strides[k].push_back(0);
  }
  return plan;
}

/// Calls row(offsets, innerStrides, outBegin, len) for consecutive runs of the
/// output along the innermost coalesced dimension: output elements
/// [outBegin, outBegin + len) read operand k from offsets[k] + i * innerStrides[k].
/// innerStrides[k] is 0 or 1. Runs are produced in parallel chunks.
template <size_t N, typename RowFn>
void forEachRow(ThreadPool &pool, const BroadcastPlan<N> &plan, int64_t cost, RowFn &&row) {
  const size_t rank = plan.dims.size();
  const int64_t inner = plan.dims.back();
  std::array<int64_t, N> innerStrides;
  for (size_t k = 0; k < N; ++k)
    innerStrides[k] = plan.strides[k].back();
  parallelElements(pool, plan.numel, cost, [&](int64_t begin, int64_t end) {
    // Multi-index of `begin` and the operand offsets it maps to.
    std::vector<int64_t> idx(rank);
    int64_t rem = begin;
    for (size_t d = rank; d-- > 0;) {
      idx[d] = rem % plan.dims[d];
      rem /= plan.dims[d];
    }
    std::array<int64_t, N> off{};
    for (size_t k = 0; k < N; ++k)
      for (size_t d = 0; d < rank; ++d)
        off[k] += idx[d] * plan.strides[k][d];
    for (int64_t pos = begin; pos < end;) {
      int64_t len = std::min(inner - idx[rank - 1], end - pos);
      row(off, innerStrides, pos, len);
      pos += len;
      idx[rank - 1] += len;
      for (size_t k = 0; k < N; ++k)
        off[k] += len * innerStrides[k];
      // Carry into the outer dimensions.
      for (size_t d = rank - 1; d > 0 && idx[d] == plan.dims[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (size_t k = 0; k < N; ++k)
          off[k] += plan.strides[k][d - 1] - plan.dims[d] * plan.strides[k][d];
      }
    }
  });
}

/// One run of a binary op; the four stride cases are separate loops so each is
/// contiguous and vectorizable.
template <typename TA, typename TB, typename TO, typename Op>
inline void binaryRow(const TA *a, int64_t sa, const TB *b, int64_t sb, TO *out, int64_t n,
                      const Op &op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(a[i], b[i]);
  } else if (sa == 1) {
    const TB y = *b;
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(a[i], y);
  } else if (sb == 1) {
    const TA x = *a;
    for (int64_t i = 0; i < n; ++i)
      out[i] = op(x, b[i]);
  } else {
    const TO v = op(*a, *b);
    for (int64_t i = 0; i < n; ++i)
      out[i] = v;
  }
}

/// out = op(a, b) with numpy broadcasting into a fresh tensor of element type TO.
template <typename TA, typename TB, typename TO, typename Op>
Tensor broadcastBinary(ThreadPool &pool, const Tensor &a, const Tensor &b, int64_t cost,
                       const Op &op) {
  Shape outShape = broadcastShapes(a.shape(), b.shape());
  // Every output position is written once (forEachRow covers [0, numel)).
  Tensor out = Tensor::uninitialized(DTypeOf<TO>::value, outShape);
  if (out.numel() == 0)
    return out;
  const TA *pa = a.data<TA>();
  const TB *pb = b.data<TB>();
  TO *po = out.mutableData<TO>();
  if (a.shape() == b.shape()) {
    parallelElements(pool, out.numel(), cost, [&](int64_t begin, int64_t end) {
      binaryRow(pa + begin, 1, pb + begin, 1, po + begin, end - begin, op);
    });
    return out;
  }
  auto plan = makeBroadcastPlan<2>({&a.shape(), &b.shape()}, outShape);
  forEachRow(pool, plan, cost,
             [&](const std::array<int64_t, 2> &off, const std::array<int64_t, 2> &st,
                 int64_t pos, int64_t len) {
               binaryRow(pa + off[0], st[0], pb + off[1], st[1], po + pos, len, op);
             });
  return out;
}

/// Converts a floating value to an integer type without undefined behaviour:
/// NaN becomes 0 and out-of-range values saturate. (ONNX leaves out-of-range
/// conversions undefined; in-range values truncate toward zero as in C.)
template <typename TO, typename TF> inline TO saturatingCast(TF v) {
  static_assert(std::is_integral_v<TO> && std::is_floating_point_v<TF>);
  if (!(v == v))
    return TO(0);
  // Both bounds are powers of two (or 0), so they are exact in TF.
  constexpr TF lo = static_cast<TF>(std::numeric_limits<TO>::min());
  constexpr TF hiExclusive = static_cast<TF>(std::numeric_limits<TO>::max() / 2 + 1) * TF(2);
  if (v <= lo)
    return std::numeric_limits<TO>::min();
  if (v >= hiExclusive)
    return std::numeric_limits<TO>::max();
  return static_cast<TO>(v);
}

/// Integer +, -, * that wrap on overflow (two's complement) instead of being
/// undefined for signed types; floating types use the plain operators.
template <typename T> inline T wrappingAdd(T x, T y) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(x) + static_cast<U>(y)));
  } else {
    return x + y;
  }
}
template <typename T> inline T wrappingSub(T x, T y) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(x) - static_cast<U>(y)));
  } else {
    return x - y;
  }
}
template <typename T> inline T wrappingMul(T x, T y) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // Narrow unsigned types promote to int, whose product can overflow; widen first.
    using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned,
                                 std::make_unsigned_t<T>>;
    return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
  } else {
    return x * y;
  }
}

/// A one-input kernel body: checks the input count, dispatches on the input's
/// dtype (one of Ts) and pushes op(x) elementwise with the same dtype and shape.
/// `op` is called with a T and its result converted back to T.
template <typename... Ts, typename Op>
void runUnary(const KernelContext &ctx, const std::vector<Tensor> &inputs,
              std::vector<Tensor> &outputs, const char *opName, int64_t cost, const Op &op) {
  checkInputCount(inputs, 1, 1, opName);
  const Tensor &x = inputs[0];
  dispatchDType<Ts...>(x.dtype(), opName, [&](auto tag) {
    using T = typename decltype(tag)::type;
    Tensor out = Tensor::uninitialized(x.dtype(), x.shape()); // mapUnary writes all
    mapUnary(ctx.pool, x.data<T>(), out.mutableData<T>(), x.numel(), cost,
             [&](T v) { return static_cast<T>(op(v)); });
    outputs.push_back(std::move(out));
  });
}

/// A two-input kernel body whose operands share one dtype (one of Ts) and whose
/// result has that dtype too (Add, Max, BitwiseAnd, ...).
template <typename... Ts, typename Op>
void runBinarySameType(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                       std::vector<Tensor> &outputs, const char *opName, int64_t cost,
                       const Op &op) {
  checkInputCount(inputs, 2, 2, opName);
  const Tensor &a = inputs[0], &b = inputs[1];
  DS_CHECK(a.dtype() == b.dtype(), std::string("operands have different element types: ") +
                                       dtypeName(a.dtype()) + " and " + dtypeName(b.dtype()));
  dispatchDType<Ts...>(a.dtype(), opName, [&](auto tag) {
    using T = typename decltype(tag)::type;
    outputs.push_back(broadcastBinary<T, T, T>(ctx.pool, a, b, cost,
                                               [&](T x, T y) { return static_cast<T>(op(x, y)); }));
  });
}

} // namespace ds::rt::elementwise
