//===- Pad.cpp - Pad kernel ------------------------------------------------===//
//
// ds.pad: modes constant / reflect / edge / wrap, pads as an input (opset >= 11;
// the pre-11 `pads`/`value` attributes are accepted too), optional
// constant_value input and optional axes input (opset 18). Negative pads crop.
//
// Each axis gets a table mapping output index -> source index (-1 for the
// constant). Output rows (all dims but the last) are split over the thread pool;
// within a row the in-range middle is one contiguous copy.
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>

namespace ds::rt {
namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

PadMode parseMode(const std::string &mode) {
  if (mode == "constant")
    return PadMode::Constant;
  if (mode == "reflect")
    return PadMode::Reflect;
  if (mode == "edge")
    return PadMode::Edge;
  if (mode == "wrap")
    return PadMode::Wrap;
  throw Error("mode '" + mode + "' is not one of constant, reflect, edge, wrap");
}

/// Source index of position i (possibly outside [0, n)) along an axis of size n.
int64_t sourceIndex(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n)
    return i;
  switch (mode) {
  case PadMode::Constant:
    return -1;
  case PadMode::Edge:
    return i < 0 ? 0 : n - 1;
  case PadMode::Wrap:
    return ((i % n) + n) % n;
  case PadMode::Reflect: {
    if (n == 1)
      return 0;
    // Reflection without repeating the edge has period 2 * (n - 1).
    const int64_t period = 2 * (n - 1);
    int64_t r = ((i % period) + period) % period;
    return r < n ? r : period - r;
  }
  }
  return -1;
}

void padKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
               std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 4, "Pad");
  const Tensor &x = inputs[0];
  const Tensor &padsIn = optionalInput(inputs, 1), &valueIn = optionalInput(inputs, 2),
               &axesIn = optionalInput(inputs, 3);
  const PadMode mode = parseMode(ctx.attrs.getString("mode", "constant"));
  const int64_t rank = x.rank();

  std::vector<int64_t> pads;
  if (!padsIn.isAbsent()) {
    DS_CHECK(padsIn.dtype() == DType::I64, "pads must be int64");
    DS_CHECK(padsIn.rank() == 1, "pads must be 1-D, got " + shapeToString(padsIn.shape()));
    pads = padsIn.toInt64Vector();
  } else {
    DS_CHECK(ctx.attrs.has("pads"), "pads input is required");
    pads = ctx.attrs.getInts("pads"); // opset < 11
  }
  std::vector<int64_t> axes;
  if (!axesIn.isAbsent()) {
    DS_CHECK(axesIn.dtype() == DType::I64 || axesIn.dtype() == DType::I32,
             "axes must be int32 or int64");
    for (int64_t a : axesIn.toInt64Vector())
      axes.push_back(normalizeAxis(a, rank));
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    DS_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
             "axes must not repeat");
  } else {
    for (int64_t a = 0; a < rank; ++a)
      axes.push_back(a);
  }
  const int64_t numAxes = static_cast<int64_t>(axes.size());
  DS_CHECK(static_cast<int64_t>(pads.size()) == 2 * numAxes,
           "pads has " + std::to_string(pads.size()) + " entries, expected " +
               std::to_string(2 * numAxes));
  std::vector<int64_t> padBegin(rank, 0), padEnd(rank, 0);
  for (int64_t i = 0; i < numAxes; ++i) {
    padBegin[axes[i]] = pads[i];
    padEnd[axes[i]] = pads[numAxes + i];
  }

  Shape outShape = x.shape();
  std::vector<std::vector<int64_t>> maps(rank);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t n = x.dim(d);
    outShape[d] = n + padBegin[d] + padEnd[d];
    DS_CHECK(outShape[d] >= 0, "pads crop axis " + std::to_string(d) + " below zero size");
    DS_CHECK(n > 0 || mode == PadMode::Constant || outShape[d] == 0,
             "cannot pad an empty axis in mode other than constant");
    maps[d].resize(static_cast<size_t>(outShape[d]));
    for (int64_t o = 0; o < outShape[d]; ++o)
      maps[d][o] = sourceIndex(o - padBegin[d], n, mode);
  }

  Tensor y(x.dtype(), outShape);
  outputs.push_back(y);
  if (y.numel() == 0)
    return;
  if (!valueIn.isAbsent())
    DS_CHECK(valueIn.numel() == 1 && valueIn.dtype() == x.dtype(),
             "constant_value must be one element of the data's type");

  dispatchDType<DS_ALL_TYPES>(x.dtype(), "Pad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T value = T(0);
    if (!valueIn.isAbsent())
      value = valueIn.data<T>()[0];
    else if (ctx.attrs.has("value"))
      value = static_cast<T>(ctx.attrs.getFloat("value", 0.f)); // opset < 11
    const T *src = x.data<T>();
    T *dst = y.mutableData<T>();
    if (rank == 0) {
      dst[0] = src[0];
      return;
    }
    const int64_t inner = outShape[rank - 1];
    const int64_t rows = y.numel() / inner;
    const std::vector<int64_t> inStrides = rowMajorStrides(x.shape());
    const std::vector<int64_t> &lastMap = maps[rank - 1];
    // The run of the last axis that is a plain copy: [copyBegin, copyEnd).
    const int64_t copyBegin = std::min(inner, std::max<int64_t>(0, padBegin[rank - 1]));
    const int64_t copyEnd =
        std::max(copyBegin, std::min(inner, padBegin[rank - 1] + x.dim(rank - 1)));
    const int64_t firstSrc = copyBegin < copyEnd ? lastMap[copyBegin] : 0;
    ctx.pool.parallelFor(rows, std::max<int64_t>(1, 32768 / inner), [&](int64_t r0,
                                                                         int64_t r1) {
      for (int64_t row = r0; row < r1; ++row) {
        T *out = dst + row * inner;
        // Decompose the row index into the outer dims, mapping each to its source.
        int64_t rem = row, offset = 0;
        bool constantRow = false;
        for (int64_t d = rank - 2; d >= 0; --d) {
          const int64_t o = rem % outShape[d];
          rem /= outShape[d];
          const int64_t s = maps[d][o];
          if (s < 0) {
            constantRow = true;
            break;
          }
          offset += s * inStrides[d];
        }
        if (constantRow) {
          std::fill(out, out + inner, value);
          continue;
        }
        const T *in = src + offset;
        for (int64_t j = 0; j < copyBegin; ++j)
          out[j] = lastMap[j] < 0 ? value : in[lastMap[j]];
        std::copy(in + firstSrc, in + firstSrc + (copyEnd - copyBegin), out + copyBegin);
        for (int64_t j = copyEnd; j < inner; ++j)
          out[j] = lastMap[j] < 0 ? value : in[lastMap[j]];
      }
    });
  });
}

} // namespace

DS_REGISTER_KERNEL("pad", padKernel);

} // namespace ds::rt
