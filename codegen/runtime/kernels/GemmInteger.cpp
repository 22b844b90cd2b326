//===- GemmInteger.cpp - the matmul_integer kernel (ONNX MatMulInteger) ---===//
//
// int32 Y = (A - a_zero_point) x (B - b_zero_point) with numpy.matmul batching.
// A and B are uint8 or int8 (independently). a_zero_point is a scalar, one value
// per row of A ([M]), or one per row of every A matrix ([D1, D2, M, 1]);
// b_zero_point likewise per column ([N] or [D1, D2, 1, N]). Plain integer loops: B is
// widened to int32 with its zero point removed once per matrix, then rows of
// the output are accumulated with contiguous, vectorizable inner loops.
//===----------------------------------------------------------------------===//
#include "GemmBatch.h"

#include "ds/runtime/Kernel.h"

namespace ds::rt {
namespace {

/// Reads a uint8/int8 tensor's elements as int32.
std::vector<int32_t> widenToInt32(const Tensor &t, const char *what) {
  std::vector<int32_t> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::U8) {
    const uint8_t *p = t.data<uint8_t>();
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = p[i];
  } else if (t.dtype() == DType::I8) {
    const int8_t *p = t.data<int8_t>();
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = p[i];
  } else {
    throw Error(std::string(what) + " must be uint8 or int8, got " + dtypeName(t.dtype()));
  }
  return out;
}

/// Zero points expanded to matrices * perMatrix values (one per row of every A
/// matrix, or one per column of every B matrix).
std::vector<int32_t> zeroPoints(const Tensor &zp, const Tensor &operand, int64_t matrices,
                                int64_t perMatrix, const char *what) {
  const auto total = static_cast<size_t>(matrices * perMatrix);
  if (zp.isAbsent())
    return std::vector<int32_t>(total, 0);
  DS_CHECK(zp.dtype() == operand.dtype(), std::string(what) + " must have the type of its "
                                              "operand (" + dtypeName(operand.dtype()) + ")");
  std::vector<int32_t> values = widenToInt32(zp, what);
  if (values.size() == 1)
    return std::vector<int32_t>(total, values[0]);
  if (static_cast<int64_t>(values.size()) == perMatrix) {
    std::vector<int32_t> expanded(total);
    for (size_t e = 0; e < total; ++e)
      expanded[e] = values[e % perMatrix];
    return expanded;
  }
  DS_CHECK(values.size() == total,
           std::string(what) + " must be a scalar or have " + std::to_string(perMatrix) +
               " or " + std::to_string(total) + " elements, got shape " +
               shapeToString(zp.shape()));
  return values;
}

/// Matrices stored in an operand of rank >= 1 (a 1-D operand is one matrix).
int64_t matrixCount(const Shape &shape) {
  int64_t count = 1;
  for (size_t d = 0; d + 2 < shape.size(); ++d)
    count *= shape[d];
  return count;
}

void matmulIntegerKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                         std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 4, "MatMulInteger");
  const Tensor &a = inputs[0], &b = inputs[1];
  MatMulPlan plan = planMatMul(a.shape(), b.shape());
  const int64_t M = plan.M, K = plan.K, N = plan.N;
  std::vector<int32_t> aValues = widenToInt32(a, "A");
  std::vector<int32_t> bValues = widenToInt32(b, "B");
  std::vector<int32_t> aZero =
      zeroPoints(optionalInput(inputs, 2), a, matrixCount(a.shape()), M, "a_zero_point");
  std::vector<int32_t> bZero =
      zeroPoints(optionalInput(inputs, 3), b, matrixCount(b.shape()), N, "b_zero_point");
  // Remove B's zero points once: element (matrix m, k, j) gets bZero[m * N + j].
  for (int64_t e = 0; e < static_cast<int64_t>(bValues.size()); ++e)
    bValues[e] -= bZero[(e / (K * N)) * N + e % N];

  Tensor y(DType::I32, plan.outShape);
  int32_t *out = y.mutableData<int32_t>();
  const int64_t rows = plan.batch() * M;
  ctx.pool.parallelFor(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, K * N)),
                       [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t n = r / M, i = r % M;
      const int32_t *aRow = aValues.data() + plan.aOffsets[n] * M * K + i * K;
      const int32_t *bMat = bValues.data() + plan.bOffsets[n] * K * N;
      int32_t *yRow = out + r * N;
      for (int64_t k = 0; k < K; ++k) {
        // Products of 8-bit values minus zero points fit int32; sums wrap
        // (through uint32, as the hardware kernels would) rather than being UB.
        uint32_t x = static_cast<uint32_t>(aRow[k] - aZero[plan.aOffsets[n] * M + i]);
        const int32_t *bRow = bMat + k * N;
        for (int64_t j = 0; j < N; ++j)
          yRow[j] = static_cast<int32_t>(static_cast<uint32_t>(yRow[j]) +
                                         x * static_cast<uint32_t>(bRow[j]));
      }
    }
  });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("matmul_integer", matmulIntegerKernel);

} // namespace ds::rt
