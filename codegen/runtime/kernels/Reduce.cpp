//===- Reduce.cpp - the reduce_* kernels ----------------------------------===//
//
// reduce_sum, reduce_mean, reduce_max, reduce_min, reduce_prod, reduce_l1,
// reduce_l2, reduce_sum_square, reduce_log_sum, reduce_log_sum_exp.
//
// Axes come as the "axes" attribute (ReduceSum < 13, the others < 18) or as the
// second input (later opsets); both are accepted. After dropping size-1 dims and
// merging neighbours, most reductions are [outer, R, inner] with R reduced:
// inner == 1 reduces contiguous rows (eight independent partial results so the
// loop is not latency bound), inner > 1 accumulates whole rows (vectorizable
// along inner). Anything else (e.g. axes {0, 2} of a 3-D tensor) takes a generic
// path over precomputed offsets. Float data accumulates in double, integers in
// uint64 (wrapping like numpy's same-dtype reductions). The order of every sum
// depends only on the shape, so results do not depend on the thread count.
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace ds::rt {
namespace {

template <typename T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

/// An accumulator of integer data back to a number (signed types wrap back).
template <typename T> double accToDouble(AccOf<T> acc) {
  if constexpr (std::is_floating_point_v<T>)
    return acc;
  else if constexpr (std::is_signed_v<T>)
    return static_cast<double>(static_cast<int64_t>(acc));
  else
    return static_cast<double>(acc);
}

template <typename T> T accToValue(AccOf<T> acc) {
  if constexpr (std::is_same_v<T, bool>)
    return acc != 0;
  else
    return static_cast<T>(acc);
}

template <typename T> AccOf<T> toAcc(T x) {
  if constexpr (std::is_floating_point_v<T>)
    return x;
  else
    return static_cast<AccOf<T>>(static_cast<std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>(x));
}

// Each op: Acc init(o); Acc step(Acc, T x, o); Acc merge(Acc, Acc); T finish(Acc, count, o).
// `o` is the output index (only log_sum_exp uses it, to subtract its row max).

template <typename T> struct SumOp {
  using Acc = AccOf<T>;
  Acc init(int64_t) const { return 0; }
  Acc step(Acc a, T x, int64_t) const { return a + toAcc(x); }
  Acc merge(Acc a, Acc b) const { return a + b; }
  T finish(Acc a, int64_t, int64_t) const { return accToValue<T>(a); }
};

template <typename T> struct MeanOp : SumOp<T> {
  using Acc = AccOf<T>;
  T finish(Acc a, int64_t count, int64_t) const {
    double sum = accToDouble<T>(a);
    if constexpr (std::is_floating_point_v<T>)
      return static_cast<T>(sum / static_cast<double>(count));
    else
      return count == 0 ? T(0) : static_cast<T>(sum / static_cast<double>(count));
  }
};

template <typename T> struct ProdOp {
  using Acc = AccOf<T>;
  Acc init(int64_t) const { return 1; }
  Acc step(Acc a, T x, int64_t) const { return a * toAcc(x); }
  Acc merge(Acc a, Acc b) const { return a * b; }
  T finish(Acc a, int64_t, int64_t) const { return accToValue<T>(a); }
};

template <typename T> struct L1Op : SumOp<T> {
  using Acc = AccOf<T>;
  Acc step(Acc a, T x, int64_t) const {
    if constexpr (std::is_signed_v<T>)
      return a + toAcc(static_cast<T>(x < 0 ? -x : x));
    else
      return a + toAcc(x);
  }
};

template <typename T> struct SumSquareOp : SumOp<T> {
  using Acc = AccOf<T>;
  Acc step(Acc a, T x, int64_t) const { return a + toAcc(x) * toAcc(x); }
};

template <typename T> struct L2Op : SumSquareOp<T> {
  using Acc = AccOf<T>;
  T finish(Acc a, int64_t, int64_t) const {
    return static_cast<T>(std::sqrt(accToDouble<T>(a)));
  }
};

template <typename T> struct LogSumOp : SumOp<T> {
  using Acc = AccOf<T>;
  T finish(Acc a, int64_t, int64_t) const {
    return static_cast<T>(std::log(accToDouble<T>(a)));
  }
};

/// log(sum(exp(x - m))) + m with m the row max (from a first pass), so large
/// inputs do not overflow.
template <typename T> struct LogSumExpOp {
  using Acc = double;
  const T *rowMax;
  double shift(int64_t o) const {
    double m = static_cast<double>(rowMax[o]);
    return std::isfinite(m) ? m : 0.0;
  }
  Acc init(int64_t) const { return 0; }
  Acc step(Acc a, T x, int64_t o) const {
    return a + std::exp(static_cast<double>(x) - shift(o));
  }
  Acc merge(Acc a, Acc b) const { return a + b; }
  T finish(Acc a, int64_t, int64_t o) const {
    return static_cast<T>(std::log(a) + shift(o));
  }
};

template <typename T, bool IsMax> struct ExtremumOp {
  using Acc = T;
  static T lowest() {
    if constexpr (std::numeric_limits<T>::has_infinity)
      return IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else
      return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  Acc init(int64_t) const { return lowest(); }
  // NaN propagates (as numpy's maximum/minimum): once acc is NaN no compare is true.
  Acc step(Acc a, T x, int64_t) const {
    bool take = IsMax ? x > a : x < a;
    return (take || x != x) && a == a ? x : a;
  }
  Acc merge(Acc a, Acc b) const { return step(a, b, 0); }
  T finish(Acc a, int64_t, int64_t) const { return a; }
};

/// The reduction after dropping size-1 dims and merging neighbours.
struct ReduceLayout {
  Shape outShape;       // with keepdims applied
  int64_t outCount = 0; // elements of the output
  int64_t reduceCount = 1;
  bool simple = false;  // [outer, R, inner]
  int64_t outer = 1, inner = 1;
  // Generic path: input offset of every output's first element and of every
  // reduced element relative to it.
  std::vector<int64_t> outOffsets, reduceOffsets;
};

ReduceLayout planReduce(const Shape &shape, const std::vector<bool> &reduced, bool keepDims) {
  ReduceLayout layout;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!reduced[d])
      layout.outShape.push_back(shape[d]);
    else if (keepDims)
      layout.outShape.push_back(1);
    if (reduced[d])
      layout.reduceCount *= shape[d];
  }
  layout.outCount = shapeNumel(layout.outShape);

  // Merge into runs of (size, reduced), skipping size-1 dims.
  std::vector<std::pair<int64_t, bool>> runs;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    if (!runs.empty() && runs.back().second == reduced[d])
      runs.back().first *= shape[d];
    else
      runs.push_back({shape[d], reduced[d]});
  }
  size_t firstReduced = runs.size();
  int reducedRuns = 0;
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].second) {
      ++reducedRuns;
      firstReduced = std::min(firstReduced, i);
    }
  if (reducedRuns <= 1) {
    layout.simple = true;
    for (size_t i = 0; i < runs.size(); ++i) {
      if (reducedRuns == 1 && i < firstReduced)
        layout.outer *= runs[i].first;
      else if (reducedRuns == 1 && i > firstReduced)
        layout.inner *= runs[i].first;
      else if (reducedRuns == 0)
        layout.outer *= runs[i].first;
    }
    return layout;
  }

  // Generic: strides of each run, then the offsets of kept and reduced positions.
  std::vector<int64_t> strides(runs.size());
  int64_t stride = 1;
  for (size_t i = runs.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= runs[i].first;
  }
  auto offsets = [&](bool wantReduced) {
    std::vector<int64_t> result{0};
    for (size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].second != wantReduced)
        continue;
      std::vector<int64_t> next;
      next.reserve(result.size() * runs[i].first);
      for (int64_t base : result)
        for (int64_t k = 0; k < runs[i].first; ++k)
          next.push_back(base + k * strides[i]);
      result = std::move(next);
    }
    return result;
  };
  layout.outOffsets = offsets(false);
  layout.reduceOffsets = offsets(true);
  return layout;
}

constexpr int kLanes = 8;
constexpr int64_t kInnerBlock = 256;
constexpr int64_t kParallelGrain = 32768;

template <typename T, typename Op>
void runReduce(const ReduceLayout &L, const T *x, T *y, const Op &op, ThreadPool &pool) {
  using Acc = typename Op::Acc;
  const int64_t R = L.reduceCount;
  if (L.outCount == 0)
    return;
  if (R == 0) {
    for (int64_t o = 0; o < L.outCount; ++o)
      y[o] = op.finish(op.init(o), 0, o);
    return;
  }
  // Reduce `R` values at x[offset(r)] into output o with kLanes partial results.
  auto reduceOne = [&](int64_t o, auto &&at) {
    Acc lanes[kLanes];
    for (int l = 0; l < kLanes; ++l)
      lanes[l] = op.init(o);
    int64_t r = 0;
    for (; r + kLanes <= R; r += kLanes)
      for (int l = 0; l < kLanes; ++l)
        lanes[l] = op.step(lanes[l], at(r + l), o);
    for (int l = 0; r < R; ++r, ++l)
      lanes[l] = op.step(lanes[l], at(r), o);
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l)
        lanes[l] = op.merge(lanes[l], lanes[l + width]);
    return op.finish(lanes[0], R, o);
  };

  if (!L.simple) {
    pool.parallelFor(L.outCount, std::max<int64_t>(1, kParallelGrain / R),
                     [&](int64_t o0, int64_t o1) {
                       for (int64_t o = o0; o < o1; ++o) {
                         const T *base = x + L.outOffsets[o];
                         y[o] = reduceOne(o, [&](int64_t r) { return base[L.reduceOffsets[r]]; });
                       }
                     });
    return;
  }
  if (L.inner == 1) {
    pool.parallelFor(L.outer, std::max<int64_t>(1, kParallelGrain / R),
                     [&](int64_t o0, int64_t o1) {
                       for (int64_t o = o0; o < o1; ++o) {
                         const T *row = x + o * R;
                         y[o] = reduceOne(o, [&](int64_t r) { return row[r]; });
                       }
                     });
    return;
  }
  // [outer, R, inner]: accumulate rows of `inner`, a block of columns at a time.
  const int64_t blocks = (L.inner + kInnerBlock - 1) / kInnerBlock;
  const int64_t blockCost = R * std::min(L.inner, kInnerBlock);
  pool.parallelFor(L.outer * blocks, std::max<int64_t>(1, kParallelGrain / blockCost),
                   [&](int64_t t0, int64_t t1) {
                     Acc acc[kInnerBlock];
                     for (int64_t t = t0; t < t1; ++t) {
                       int64_t outerIndex = t / blocks;
                       int64_t j0 = (t % blocks) * kInnerBlock;
                       int64_t width = std::min(kInnerBlock, L.inner - j0);
                       int64_t o0 = outerIndex * L.inner + j0;
                       const T *base = x + outerIndex * R * L.inner + j0;
                       for (int64_t j = 0; j < width; ++j)
                         acc[j] = op.init(o0 + j);
                       for (int64_t r = 0; r < R; ++r) {
                         const T *row = base + r * L.inner;
                         for (int64_t j = 0; j < width; ++j)
                           acc[j] = op.step(acc[j], row[j], o0 + j);
                       }
                       for (int64_t j = 0; j < width; ++j)
                         y[o0 + j] = op.finish(acc[j], R, o0 + j);
                     }
                   });
}

enum class ReduceKind { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp };

/// Axes from the second input (newer opsets) or the "axes" attribute (older).
/// Returns false when there are none.
bool readAxes(const KernelContext &ctx, const std::vector<Tensor> &inputs,
              std::vector<int64_t> &axes) {
  const Tensor &axesInput = optionalInput(inputs, 1);
  if (!axesInput.isAbsent()) {
    DS_CHECK(axesInput.dtype() == DType::I64 && axesInput.rank() <= 1,
             "axes input must be a 1-D int64 tensor");
    axes = axesInput.toInt64Vector();
  } else {
    axes = ctx.attrs.getInts("axes", {});
  }
  return !axes.empty();
}

template <ReduceKind Kind>
void reduceKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "Reduce");
  const Tensor &x = inputs[0];
  const bool keepDims = ctx.attrs.getInt("keepdims", 1) != 0;
  const bool noopWithEmptyAxes = ctx.attrs.getInt("noop_with_empty_axes", 0) != 0;
  std::vector<int64_t> axes;
  bool haveAxes = readAxes(ctx, inputs, axes);

  const int64_t rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), !haveAxes);
  for (int64_t axis : axes) {
    int64_t a = normalizeAxis(axis, rank);
    DS_CHECK(!reduced[a], "axis " + std::to_string(axis) + " is listed twice");
    reduced[a] = true;
  }

  auto body = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *in = x.data<T>();
    if (!haveAxes && noopWithEmptyAxes) {
      // Nothing to reduce: the input itself (squared for sum_square, as ONNX's
      // reference implementation does).
      Tensor y = x.clone();
      if constexpr (Kind == ReduceKind::SumSquare) {
        T *out = y.mutableData<T>();
        for (int64_t i = 0; i < y.numel(); ++i)
          out[i] = static_cast<T>(out[i] * out[i]);
      }
      outputs.push_back(std::move(y));
      return;
    }
    ReduceLayout layout = planReduce(x.shape(), reduced, keepDims);
    Tensor y(x.dtype(), layout.outShape);
    T *out = y.mutableData<T>();
    if constexpr (Kind == ReduceKind::Sum)
      runReduce(layout, in, out, SumOp<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::Mean)
      runReduce(layout, in, out, MeanOp<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::Max)
      runReduce(layout, in, out, ExtremumOp<T, true>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::Min)
      runReduce(layout, in, out, ExtremumOp<T, false>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::Prod)
      runReduce(layout, in, out, ProdOp<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::L1)
      runReduce(layout, in, out, L1Op<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::L2)
      runReduce(layout, in, out, L2Op<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::SumSquare)
      runReduce(layout, in, out, SumSquareOp<T>{}, ctx.pool);
    else if constexpr (Kind == ReduceKind::LogSum)
      runReduce(layout, in, out, LogSumOp<T>{}, ctx.pool);
    else {
      // Two passes: the max of each output's inputs, then the shifted sum.
      std::vector<T> rowMax(static_cast<size_t>(layout.outCount));
      runReduce(layout, in, rowMax.data(), ExtremumOp<T, true>{}, ctx.pool);
      runReduce(layout, in, out, LogSumExpOp<T>{rowMax.data()}, ctx.pool);
    }
    outputs.push_back(std::move(y));
  };
  if constexpr (Kind == ReduceKind::Max || Kind == ReduceKind::Min)
    dispatchDType<DS_NUMERIC_TYPES, bool>(x.dtype(), "Reduce", body);
  else if constexpr (Kind == ReduceKind::LogSumExp)
    dispatchDType<float, double, int32_t, int64_t>(x.dtype(), "ReduceLogSumExp", body);
  else
    dispatchDType<DS_NUMERIC_TYPES>(x.dtype(), "Reduce", body);
}

} // namespace

DS_REGISTER_KERNEL("reduce_sum", reduceKernel<ReduceKind::Sum>);
DS_REGISTER_KERNEL("reduce_mean", reduceKernel<ReduceKind::Mean>);
DS_REGISTER_KERNEL("reduce_max", reduceKernel<ReduceKind::Max>);
DS_REGISTER_KERNEL("reduce_min", reduceKernel<ReduceKind::Min>);
DS_REGISTER_KERNEL("reduce_prod", reduceKernel<ReduceKind::Prod>);
DS_REGISTER_KERNEL("reduce_l1", reduceKernel<ReduceKind::L1>);
DS_REGISTER_KERNEL("reduce_l2", reduceKernel<ReduceKind::L2>);
DS_REGISTER_KERNEL("reduce_sum_square", reduceKernel<ReduceKind::SumSquare>);
DS_REGISTER_KERNEL("reduce_log_sum", reduceKernel<ReduceKind::LogSum>);
DS_REGISTER_KERNEL("reduce_log_sum_exp", reduceKernel<ReduceKind::LogSumExp>);

} // namespace ds::rt
