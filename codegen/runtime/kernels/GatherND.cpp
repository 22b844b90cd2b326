//===- GatherND.cpp - GatherND with batch_dims ----------------------------===//
//
// indices[..., k] address the first k dims after the batch dims; each index tuple
// copies one contiguous slice of prod(data.shape[batch_dims + k:]) elements.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void gatherNDKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                    std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "GatherND");
  const Tensor &data = inputs[0], &indices = inputs[1];
  checkMovableDType(data.dtype(), "GatherND");
  DS_CHECK(indices.dtype() == DType::I64 || indices.dtype() == DType::I32,
           "indices must be int64");
  int64_t r = data.rank(), q = indices.rank();
  int64_t b = ctx.attrs.getInt("batch_dims", 0);
  DS_CHECK(r >= 1 && q >= 1, "GatherND data and indices must have rank >= 1");
  DS_CHECK(b >= 0 && b < std::min(r, q), "batch_dims " + std::to_string(b) +
                                             " must be less than both ranks");
  int64_t k = indices.dim(q - 1);
  DS_CHECK(k >= 1 && k <= r - b, "indices last dimension " + std::to_string(k) +
                                     " must be in [1, " + std::to_string(r - b) + "]");
  for (int64_t d = 0; d < b; ++d)
    DS_CHECK(data.dim(d) == indices.dim(d), "batch dimensions of data " +
                                                shapeToString(data.shape()) + " and indices " +
                                                shapeToString(indices.shape()) + " differ");
  const Shape &ds = data.shape(), &is = indices.shape();
  Shape outShape(is.begin(), is.end() - 1);
  outShape.insert(outShape.end(), ds.begin() + b + k, ds.end());
  Tensor out(data.dtype(), outShape);

  int64_t batches = product(ds, 0, static_cast<size_t>(b));
  int64_t tuplesPerBatch = product(is, static_cast<size_t>(b), is.size() - 1);
  int64_t slice = product(ds, static_cast<size_t>(b + k), ds.size());
  int64_t batchStride = product(ds, static_cast<size_t>(b), ds.size());
  std::vector<int64_t> strides = rowMajorStrides(ds);
  // Resolve every tuple to an element offset first: all validation precedes copying.
  std::vector<int64_t> raw = indices.toInt64Vector();
  int64_t numTuples = batches * tuplesPerBatch;
  std::vector<int64_t> offsets(static_cast<size_t>(numTuples));
  for (int64_t t = 0; t < numTuples; ++t) {
    int64_t off = (t / tuplesPerBatch) * batchStride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = ds[static_cast<size_t>(b + j)];
      int64_t i = raw[static_cast<size_t>(t * k + j)];
      DS_CHECK(i >= -dim && i < dim, "index " + std::to_string(i) +
                                         " is out of range for a dimension of size " +
                                         std::to_string(dim));
      off += (i < 0 ? i + dim : i) * strides[static_cast<size_t>(b + j)];
    }
    offsets[static_cast<size_t>(t)] = off;
  }
  if (out.numel() > 0)
    dispatchBySize(data.dtype(), "GatherND", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *src = static_cast<const T *>(data.rawData());
      T *dst = static_cast<T *>(out.mutableRawData());
      parallelRange(ctx.pool, numTuples, out.numel(), [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
          std::memcpy(dst + t * slice, src + offsets[static_cast<size_t>(t)],
                      static_cast<size_t>(slice) * sizeof(T));
      });
    });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("gather_nd", gatherNDKernel);

} // namespace ds::rt
