//===- MatMulNBits.cpp - A @ W with block-quantized 4/8-bit weights -------===//
//
// ds.matmul_nbits (ORT's MatMulNBits, imported as it is): the weights stay in
// the exporter's packed codes, so an INT4 model's artifact holds INT4 weights.
// Each output column's weights are dequantized once into a row buffer (K
// floats) and multiplied with every row of A; a decode step (one row) reads
// 4 bits per weight. Columns are the work items, each summed in a fixed order,
// so the result does not depend on the thread count.
//
// Inputs: 0 A float [..., K]; 1 codes uint8 [N, blocks, block * bits / 8];
// 2 scales float [N * blocks]; 3 zero points (optional); 4 bias float [N]
// (optional). Attributes: K, N, bits, block_size. Output: float [..., N].
//===----------------------------------------------------------------------===//
#include "BlockQuantized.h"
#include "Scratch.h"

#include "ds/runtime/ShapeHelpers.h"

namespace ds::rt {
namespace {

__attribute__((optimize("fp-contract=off"))) float dot(const float *a, const float *w, int64_t k) {
  // Eight partial sums, always combined the same way: vectorizable, deterministic.
  float s[8] = {};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int j = 0; j < 8; ++j)
      s[j] += a[i + j] * w[i + j];
  float tail = 0.0f;
  for (; i < k; ++i)
    tail += a[i] * w[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + tail;
}

void matmulNBitsKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                       std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 5, "matmul_nbits");
  const Tensor &a = inputs[0], &codes = inputs[1], &scales = inputs[2];
  const Tensor *zp = inputs.size() > 3 ? &inputs[3] : nullptr;
  const Tensor *bias = inputs.size() > 4 && !inputs[4].isAbsent() ? &inputs[4] : nullptr;
  blockq::Layout l;
  l.rows = ctx.attrs.getInt("N", 0);
  l.cols = ctx.attrs.getInt("K", 0);
  l.bits = ctx.attrs.getInt("bits", 4);
  l.block = ctx.attrs.getInt("block_size", 32);
  DS_CHECK(l.rows > 0 && l.cols > 0, "matmul_nbits: K and N must be positive");
  DS_CHECK(a.dtype() == DType::F32 && a.rank() >= 1 && a.shape().back() == l.cols,
           "matmul_nbits: A must be float [..., " + std::to_string(l.cols) + "], got " +
               std::string(dtypeName(a.dtype())) + " " + shapeToString(a.shape()));
  blockq::checkOperands(l, codes, scales, zp, "matmul_nbits");
  if (bias)
    DS_CHECK(bias->dtype() == DType::F32 && bias->numel() == l.rows,
             "matmul_nbits: bias must be float [" + std::to_string(l.rows) + "]");
  Shape outShape = a.shape();
  outShape.back() = l.rows;
  Tensor y = Tensor::uninitialized(DType::F32, outShape);
  const int64_t M = l.cols ? a.numel() / l.cols : 0, N = l.rows, K = l.cols;
  const float *A = a.data<float>(), *S = scales.data<float>();
  const uint8_t *Q = codes.data<uint8_t>();
  float *Y = y.mutableData<float>();
  // A column costs K dequantizations plus M * K multiply-adds.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, K * (M + 1)));
  ctx.pool.parallelFor(N, grain, [&](int64_t n0, int64_t n1) {
    static thread_local Scratch<float> column;
    float *w = column.get(static_cast<size_t>(l.blocks() * l.block));
    for (int64_t n = n0; n < n1; ++n) {
      blockq::dequantizeRow(l, Q, S, zp, n, w);
      const float b = bias ? bias->data<float>()[n] : 0.0f;
      for (int64_t m = 0; m < M; ++m)
        Y[m * N + n] = dot(A + m * K, w, K) + b;
    }
  });
  outputs.push_back(std::move(y));
}

/// Rows of a block-quantized table (GatherBlockQuantized, gather_axis 0).
void gatherBlockQuantizedKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                                std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 4, "gather_block_quantized");
  const Tensor &codes = inputs[0], &indices = inputs[1], &scales = inputs[2];
  const Tensor *zp = inputs.size() > 3 ? &inputs[3] : nullptr;
  blockq::Layout l;
  l.bits = ctx.attrs.getInt("bits", 4);
  l.block = ctx.attrs.getInt("block_size", 128);
  l.padded = false;
  DS_CHECK(codes.rank() >= 2 && codes.dim(0) > 0,
           "gather_block_quantized: data must be [rows, packed bytes...]");
  l.rows = codes.dim(0);
  l.cols = ctx.attrs.getInt("columns", codes.numel() / l.rows * 8 / std::max<int64_t>(l.bits, 1));
  blockq::checkOperands(l, codes, scales, zp, "gather_block_quantized");
  DS_CHECK(indices.dtype() == DType::I64 || indices.dtype() == DType::I32,
           "gather_block_quantized: indices must be int64 or int32");
  Shape outShape = indices.shape();
  outShape.push_back(l.cols);
  Tensor y = Tensor::uninitialized(DType::F32, outShape);
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t r = indices.getAsInt64(i);
    if (r < 0)
      r += l.rows;
    DS_CHECK(r >= 0 && r < l.rows, "gather_block_quantized: index " +
                                       std::to_string(indices.getAsInt64(i)) + " is outside [-" +
                                       std::to_string(l.rows) + ", " + std::to_string(l.rows) + ")");
    blockq::dequantizeRow(l, codes.data<uint8_t>(), scales.data<float>(), zp, r,
                          y.mutableData<float>() + i * l.cols);
  }
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("matmul_nbits", matmulNBitsKernel);
DS_REGISTER_KERNEL("gather_block_quantized", gatherBlockQuantizedKernel);

} // namespace ds::rt
