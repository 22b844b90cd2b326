//===- GemmBatch.h - numpy matmul shape rules for matmul and matmul_integer ===//
//
// Resolves numpy.matmul semantics once for both kernels: 1-D operands are
// promoted (A to a row, B to a column) and the promoted dim is dropped from the
// result; leading batch dims broadcast. Each batch is then a plain M x K by K x N
// product whose operands start at aOffsets[b] * M * K and bOffsets[b] * K * N.
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/ShapeHelpers.h"
#include "ds/runtime/Tensor.h"

#include <vector>

namespace ds::rt {

struct MatMulPlan {
  int64_t M = 0, K = 0, N = 0;
  Shape outShape;
  /// Matrix index (not element offset) of each batch's A and B.
  std::vector<int64_t> aOffsets, bOffsets;
  /// True when every batch reads the same B matrix and the A matrices are
  /// consecutive: the batches then fold into one (batch*M) x K product.
  bool foldsIntoOneProduct = false;

  int64_t batch() const { return static_cast<int64_t>(aOffsets.size()); }
};

inline MatMulPlan planMatMul(const Shape &aShape, const Shape &bShape) {
  DS_CHECK(!aShape.empty() && !bShape.empty(),
           "operands must have rank >= 1, got " + shapeToString(aShape) + " and " +
               shapeToString(bShape));
  Shape a = aShape, b = bShape;
  bool aVector = a.size() == 1, bVector = b.size() == 1;
  if (aVector)
    a.insert(a.begin(), 1);
  if (bVector)
    b.push_back(1);
  MatMulPlan plan;
  plan.M = a[a.size() - 2];
  plan.K = a.back();
  plan.N = b.back();
  DS_CHECK(b[b.size() - 2] == plan.K, "inner dimensions differ: " + shapeToString(aShape) +
                                          " x " + shapeToString(bShape));
  Shape aBatch(a.begin(), a.end() - 2), bBatch(b.begin(), b.end() - 2);
  Shape batchShape = broadcastShapes(aBatch, bBatch);
  std::vector<int64_t> aStrides = broadcastStrides(aBatch, batchShape);
  std::vector<int64_t> bStrides = broadcastStrides(bBatch, batchShape);
  int64_t batch = shapeNumel(batchShape);
  plan.aOffsets.resize(batch);
  plan.bOffsets.resize(batch);
  std::vector<int64_t> index(batchShape.size(), 0);
  for (int64_t n = 0; n < batch; ++n) {
    int64_t ao = 0, bo = 0;
    for (size_t d = 0; d < index.size(); ++d) {
      ao += index[d] * aStrides[d];
      bo += index[d] * bStrides[d];
    }
    plan.aOffsets[n] = ao;
    plan.bOffsets[n] = bo;
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < batchShape[d])
        break;
      index[d] = 0;
    }
  }
  plan.foldsIntoOneProduct = true;
  for (int64_t n = 0; n < batch; ++n)
    if (plan.aOffsets[n] != n || plan.bOffsets[n] != 0)
      plan.foldsIntoOneProduct = false;

  plan.outShape = batchShape;
  if (!aVector)
    plan.outShape.push_back(plan.M);
  if (!bVector)
    plan.outShape.push_back(plan.N);
  return plan;
}

} // namespace ds::rt
