//===- ScatterND.cpp - ScatterND: write slices at index tuples ------------===//
//
// output = copy of data; for each tuple t of indices[..., k], the slice
// data[t, ...] (prod(data.shape[k:]) elements) is replaced by, or reduced with,
// updates[t-position, ...]. Every tuple is validated before the copy starts.
//===----------------------------------------------------------------------===//
#include "MovementScatter.h"

namespace ds::rt {
namespace {
using namespace movement;

void scatterNDKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "ScatterND");
  const Tensor &data = inputs[0], &indices = inputs[1], &updates = inputs[2];
  checkMovableDType(data.dtype(), "ScatterND");
  DS_CHECK(updates.dtype() == data.dtype(), "updates and data have different element types");
  DS_CHECK(indices.dtype() == DType::I64 || indices.dtype() == DType::I32,
           "indices must be int64");
  ScatterReduction reduction = parseScatterReduction(ctx.attrs);
  int64_t r = data.rank(), q = indices.rank();
  DS_CHECK(r >= 1 && q >= 1, "ScatterND data and indices must have rank >= 1");
  int64_t k = indices.dim(q - 1);
  DS_CHECK(k >= 1 && k <= r, "indices last dimension " + std::to_string(k) +
                                 " must be in [1, " + std::to_string(r) + "]");
  const Shape &ds = data.shape(), &is = indices.shape();
  Shape expected(is.begin(), is.end() - 1);
  expected.insert(expected.end(), ds.begin() + k, ds.end());
  DS_CHECK(updates.shape() == expected, "updates shape " + shapeToString(updates.shape()) +
                                            " should be " + shapeToString(expected));

  int64_t slice = product(ds, static_cast<size_t>(k), ds.size());
  int64_t numTuples = product(is, 0, is.size() - 1);
  std::vector<int64_t> strides = rowMajorStrides(ds);
  std::vector<int64_t> raw = indices.toInt64Vector();
  std::vector<int64_t> offsets(static_cast<size_t>(numTuples));
  for (int64_t t = 0; t < numTuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t dim = ds[static_cast<size_t>(j)], i = raw[static_cast<size_t>(t * k + j)];
      DS_CHECK(i >= -dim && i < dim, "index " + std::to_string(i) +
                                         " is out of range for a dimension of size " +
                                         std::to_string(dim));
      off += (i < 0 ? i + dim : i) * strides[static_cast<size_t>(j)];
    }
    offsets[static_cast<size_t>(t)] = off;
  }

  Tensor out = data.clone();
  dispatchScatter(data.dtype(), reduction, "ScatterND", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *upd = static_cast<const T *>(updates.rawData());
    T *dst = static_cast<T *>(out.mutableRawData());
    withScatterCombine<T>(reduction, [&](auto combine) {
      for (int64_t t = 0; t < numTuples; ++t) {
        T *d = dst + offsets[static_cast<size_t>(t)];
        const T *u = upd + t * slice;
        for (int64_t e = 0; e < slice; ++e)
          combine(d[e], u[e]);
      }
    });
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("scatter_nd", scatterNDKernel);

} // namespace ds::rt
