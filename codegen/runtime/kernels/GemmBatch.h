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

/// Batch dims a MatMul operand may have (rank 18): deeper ones are refused.
constexpr size_t kMaxBatchRank = 16;

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
  // Read as [batch..., M, K] x [batch..., K, N], a 1-D operand taking the
  // matrix role ONNX gives it, without copying the shapes (a decode step
  // plans ~40 products: each vector here was an allocation).
  const bool aVector = aShape.size() == 1, bVector = bShape.size() == 1;
  const size_t aBatchRank = aVector ? 0 : aShape.size() - 2;
  const size_t bBatchRank = bVector ? 0 : bShape.size() - 2;
  MatMulPlan plan;
  plan.M = aVector ? 1 : aShape[aShape.size() - 2];
  plan.K = aShape.back();
  plan.N = bVector ? 1 : bShape.back();
  const int64_t bK = bVector ? bShape[0] : bShape[bShape.size() - 2];
  DS_CHECK(bK == plan.K, "inner dimensions differ: " + shapeToString(aShape) + " x " +
                             shapeToString(bShape));
  // Broadcast batch shape, right-aligned, with each operand's matrix strides.
  const size_t rank = std::max(aBatchRank, bBatchRank);
  Shape batchShape(rank, 1);
  int64_t aStride[kMaxBatchRank], bStride[kMaxBatchRank];
  DS_CHECK(rank <= kMaxBatchRank, "more than " + std::to_string(kMaxBatchRank) + " batch dims");
  int64_t aRun = 1, bRun = 1;
  for (size_t i = rank; i-- > 0;) {
    const size_t back = rank - 1 - i;
    const int64_t ad = back < aBatchRank ? aShape[aBatchRank - 1 - back] : 1;
    const int64_t bd = back < bBatchRank ? bShape[bBatchRank - 1 - back] : 1;
    DS_CHECK(ad == bd || ad == 1 || bd == 1,
             "batch dimensions do not broadcast: " + shapeToString(aShape) + " x " +
                 shapeToString(bShape));
    batchShape[i] = ad == 1 ? bd : ad;
    aStride[i] = ad == 1 ? 0 : aRun;
    bStride[i] = bd == 1 ? 0 : bRun;
    aRun *= ad;
    bRun *= bd;
  }
  const int64_t batch = shapeNumel(batchShape);
  plan.aOffsets.resize(static_cast<size_t>(batch));
  plan.bOffsets.resize(static_cast<size_t>(batch));
  int64_t index[kMaxBatchRank] = {};
  plan.foldsIntoOneProduct = true;
  for (int64_t n = 0; n < batch; ++n) {
    int64_t ao = 0, bo = 0;
    for (size_t d = 0; d < rank; ++d) {
      ao += index[d] * aStride[d];
      bo += index[d] * bStride[d];
    }
    plan.aOffsets[static_cast<size_t>(n)] = ao;
    plan.bOffsets[static_cast<size_t>(n)] = bo;
    plan.foldsIntoOneProduct = plan.foldsIntoOneProduct && ao == n && bo == 0;
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < batchShape[d])
        break;
      index[d] = 0;
    }
  }
  plan.outShape = std::move(batchShape);
  plan.outShape.reserve(rank + 2);
  if (!aVector)
    plan.outShape.push_back(plan.M);
  if (!bVector)
    plan.outShape.push_back(plan.N);
  return plan;
}

} // namespace ds::rt
