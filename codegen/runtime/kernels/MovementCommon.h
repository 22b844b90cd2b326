//===- MovementCommon.h - helpers shared by the data-movement kernels ------===//
//
// The shape, indexing and data-movement kernels (Reshape, Transpose, Slice,
// Gather, Expand, Tile, ...) only move elements, so they dispatch on the element
// *size* rather than the element type, and most of them reduce to one primitive:
// copying a strided view of the input into a contiguous output (stridedCopy).
// Private to codegen/runtime/kernels; not part of the runtime's public contract.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ds::rt::movement {

/// Below this many elements a kernel runs on the calling thread.
constexpr int64_t kParallelThreshold = 128 * 1024;

/// Throws unless `dtype` is one the kernel library supports (float16/bfloat16 and
/// strings are not, even for pure data movement, so every kernel agrees).
inline void checkMovableDType(DType dtype, const char *opName) {
  switch (dtype) {
  case DType::F32: case DType::F64: case DType::I8: case DType::U8:
  case DType::I16: case DType::U16: case DType::I32: case DType::U32:
  case DType::I64: case DType::U64: case DType::Bool:
    return;
  default:
    throw Error(std::string(opName) + ": element type " + dtypeName(dtype) +
                " is not supported");
  }
}

/// Calls fn(TypeTag<U>{}) with U an unsigned integer as wide as one element of
/// `dtype`: kernels that only copy elements are instantiated four times, not eleven.
template <typename Fn> void dispatchBySize(DType dtype, const char *opName, Fn &&fn) {
  checkMovableDType(dtype, opName);
  switch (dtypeSize(dtype)) {
  case 1: fn(TypeTag<uint8_t>{}); return;
  case 2: fn(TypeTag<uint16_t>{}); return;
  case 4: fn(TypeTag<uint32_t>{}); return;
  case 8: fn(TypeTag<uint64_t>{}); return;
  default: throw Error(std::string(opName) + ": unexpected element size");
  }
}

/// Runs fn(begin, end) over [0, n), in parallel when `work` (elements touched) is large.
template <typename Fn>
void parallelRange(ThreadPool &pool, int64_t n, int64_t work, Fn &&fn) {
  if (n <= 1 || work < kParallelThreshold || pool.numThreads() == 1) {
    fn(int64_t{0}, n);
    return;
  }
  int64_t perItem = std::max<int64_t>(1, work / std::max<int64_t>(n, 1));
  int64_t minChunk = std::max<int64_t>(1, kParallelThreshold / 4 / perItem);
  pool.parallelFor(n, minChunk, fn);
}

/// An odometer over a multi-dimensional index space that tracks a linear offset
/// through arbitrary per-dimension strides. Start it at any linear position, then
/// step with next(): kernels split work by linear index and walk each chunk.
class StridedWalker {
public:
  StridedWalker(const Shape &dims, const std::vector<int64_t> &strides, int64_t base)
      : dims_(dims), strides_(strides), index_(dims.size(), 0), base_(base),
        offset_(base) {}

  /// Positions the walker on the linear (row-major over dims) index `linear`.
  void seek(int64_t linear) {
    offset_ = base_;
    for (size_t i = dims_.size(); i-- > 0;) {
      int64_t d = dims_[i];
      index_[i] = d ? linear % d : 0;
      linear = d ? linear / d : 0;
      offset_ += index_[i] * strides_[i];
    }
  }
  int64_t offset() const { return offset_; }
  void next() {
    for (size_t i = dims_.size(); i-- > 0;) {
      offset_ += strides_[i];
      if (++index_[i] < dims_[i])
        return;
      offset_ -= index_[i] * strides_[i];
      index_[i] = 0;
    }
  }

private:
  Shape dims_;
  std::vector<int64_t> strides_;
  std::vector<int64_t> index_;
  int64_t base_, offset_;
};

/// Drops size-1 dims and merges neighbours that are contiguous in the source
/// (stride[i] == stride[i+1] * dims[i+1]); the copy then walks fewer, longer runs.
inline void simplifyStridedView(Shape &dims, std::vector<int64_t> &strides) {
  Shape d;
  std::vector<int64_t> s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1)
      continue;
    if (!d.empty() && s.back() == strides[i] * dims[i]) {
      d.back() *= dims[i];
      s.back() = strides[i];
      continue;
    }
    d.push_back(dims[i]);
    s.push_back(strides[i]);
  }
  dims = std::move(d);
  strides = std::move(s);
}

/// Copies one contiguous run of `bytes`. Short runs of the common widths are
/// fixed-size copies the compiler inlines: an LM's head transposes are
/// thousands of 64-byte runs, where a memcpy call per run cost more than the
/// bytes (the sample LM INT8 prefill's 20 transposes: 0.18 -> 0.155 ms per run).
inline void copyRun(void *out, const void *in, size_t bytes) {
  switch (bytes) {
  case 16: std::memcpy(out, in, 16); return;
  case 32: std::memcpy(out, in, 32); return;
  case 64: std::memcpy(out, in, 64); return;
  case 128: std::memcpy(out, in, 128); return;
  default: std::memcpy(out, in, bytes);
  }
}

/// dst[row-major over outDims] = src[base + sum(index[i] * srcStrides[i])].
/// Strides are in elements and may be 0 (broadcast) or negative (reversal).
/// Runs of unit source stride become copyRun; the rest is a simple strided loop.
template <typename T>
void stridedCopy(ThreadPool &pool, Shape outDims, std::vector<int64_t> srcStrides,
                 int64_t srcBase, const T *src, T *dst) {
  int64_t total = 1;
  for (int64_t d : outDims)
    total *= d;
  if (total == 0)
    return;
  simplifyStridedView(outDims, srcStrides);
  if (outDims.empty()) {
    dst[0] = src[srcBase];
    return;
  }
  int64_t inner = outDims.back(), innerStride = srcStrides.back();
  outDims.pop_back();
  srcStrides.pop_back();
  int64_t rows = total / inner;
  parallelRange(pool, rows, total, [&](int64_t begin, int64_t end) {
    StridedWalker walker(outDims, srcStrides, srcBase);
    walker.seek(begin);
    for (int64_t r = begin; r < end; ++r, walker.next()) {
      const T *in = src + walker.offset();
      T *out = dst + r * inner;
      if (innerStride == 1) {
        copyRun(out, in, static_cast<size_t>(inner) * sizeof(T));
      } else if (innerStride == 0) {
        T v = in[0];
        for (int64_t j = 0; j < inner; ++j)
          out[j] = v;
      } else {
        for (int64_t j = 0; j < inner; ++j)
          out[j] = in[j * innerStride];
      }
    }
  });
}

/// Axes given either by the attribute `attrName` (older opsets) or by the input
/// at `inputIndex` (newer ones). `present` tells whether either was given.
inline std::vector<int64_t> axesFromAttrOrInput(const KernelContext &ctx,
                                                const std::vector<Tensor> &inputs,
                                                size_t inputIndex, const char *attrName,
                                                bool &present) {
  const Tensor &input = optionalInput(inputs, inputIndex);
  if (!input.isAbsent()) {
    DS_CHECK(input.dtype() == DType::I64 || input.dtype() == DType::I32,
             std::string("'") + attrName + "' input must be int64");
    DS_CHECK(input.rank() <= 1, std::string("'") + attrName + "' input must be 1-D");
    present = true;
    return input.toInt64Vector();
  }
  present = ctx.attrs.has(attrName);
  return ctx.attrs.getInts(attrName);
}

/// Normalizes each axis against `rank` and rejects repeats. (Called by a
/// decode step's many shape ops: axes below 64 are tracked in a mask, not a
/// vector.)
inline std::vector<int64_t> normalizeAxes(std::vector<int64_t> axes, int64_t rank) {
  uint64_t seenLow = 0;
  std::vector<bool> seenHigh; // ranks above 64 only
  for (int64_t &a : axes) {
    a = normalizeAxis(a, rank);
    bool repeated;
    if (a < 64) {
      repeated = (seenLow >> a) & 1;
      seenLow |= uint64_t(1) << a;
    } else {
      seenHigh.resize(static_cast<size_t>(rank), false);
      repeated = seenHigh[static_cast<size_t>(a)];
      seenHigh[static_cast<size_t>(a)] = true;
    }
    DS_CHECK(!repeated, "axis " + std::to_string(a) + " is repeated");
  }
  return axes;
}

/// Reads an int64/int32 index tensor, wrapping negatives by `dimSize` and
/// rejecting anything outside [-dimSize, dimSize).
inline std::vector<int64_t> normalizedIndices(const Tensor &indices, int64_t dimSize) {
  DS_CHECK(indices.dtype() == DType::I64 || indices.dtype() == DType::I32,
           std::string("indices must be int32 or int64, got ") + dtypeName(indices.dtype()));
  std::vector<int64_t> out = indices.toInt64Vector();
  for (int64_t &i : out) {
    DS_CHECK(i >= -dimSize && i < dimSize,
             "index " + std::to_string(i) + " is out of range for a dimension of size " +
                 std::to_string(dimSize));
    if (i < 0)
      i += dimSize;
  }
  return out;
}

/// A 1-D int64 "shape"-like input (Reshape's shape, Expand's shape, Tile's repeats).
inline std::vector<int64_t> shapeInput(const Tensor &t, const char *what) {
  DS_CHECK(t.dtype() == DType::I64, std::string(what) + " must be int64, got " +
                                        dtypeName(t.dtype()));
  DS_CHECK(t.rank() == 1, std::string(what) + " must be 1-D, got shape " +
                              shapeToString(t.shape()));
  return t.toInt64Vector();
}

inline int64_t product(const Shape &s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i)
    p *= s[i];
  return p;
}

} // namespace ds::rt::movement
