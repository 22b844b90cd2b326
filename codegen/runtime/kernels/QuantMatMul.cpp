//===- QuantMatMul.cpp - the quant_matmul kernel (ds.quant_matmul) ---------===//
//
// y = act(DequantizeLinear(QuantizeLinear(x)) @ (w * w_scale) + bias), computed
// in integers: x is quantized to u8 per tensor while the GEMM packs it, w is
// int8 [K, N] packed once (cached per node in KernelContext::state), and the
// GEMM's epilogue applies scales, zero-point correction, bias and relu.
//
// Inputs: 0 x float [..., M, K] (rank >= 2, leading dims flatten into M);
// 1 w int8 [K, N], or with w_packed = [K, N] the int8 block that
// ds-pack-int8-weights packed ahead of time (quantPackedBBytes(K, N) bytes, read
// in place: no copy, no cache); 2 w_scale float [N] or scalar/[1]; 3 bias float
// [N], optional. Attributes: x_scale (float; > 0 static, absent or 0 dynamic),
// x_zero_point (int in [0, 255], static only), activation ("none" | "relu"),
// x_granularity ("tensor" (default) | "row": dynamic, one scale per row of x).
// Output: float [..., M, N].
//===----------------------------------------------------------------------===//
#include "FusedActivation.h"
#include "QuantGemm.h"
#include "QuantGemmOperands.h"
#include "QuantMatMulPerRow.h"

#include "ds/runtime/Kernel.h"

namespace ds::rt {
namespace {

void quantMatMulKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                       std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 4, "quant_matmul");
  const Tensor &x = inputs[0], &w = inputs[1], &wScale = inputs[2];
  const Tensor &bias = optionalInput(inputs, 3);
  DS_CHECK(x.dtype() == DType::F32, std::string("x must be float, got ") + dtypeName(x.dtype()));
  DS_CHECK(x.rank() >= 2, "x must have rank >= 2, got " + shapeToString(x.shape()));
  DS_CHECK(w.dtype() == DType::I8, std::string("w must be int8, got ") + dtypeName(w.dtype()));
  const std::vector<int64_t> packedShape = ctx.attrs.getInts("w_packed");
  const bool prepacked = !packedShape.empty();
  DS_CHECK(prepacked || w.rank() == 2, "w must be [K, N], got " + shapeToString(w.shape()));
  DS_CHECK(!prepacked || packedShape.size() == 2, "w_packed must be [K, N]");
  const int64_t K = x.dim(x.rank() - 1), N = prepacked ? packedShape[1] : w.dim(1);
  const int64_t wK = prepacked ? packedShape[0] : w.dim(0);
  DS_CHECK(wK == K, "x has K = " + std::to_string(K) + " but w is [" + std::to_string(wK) + ", " +
                        std::to_string(N) + "] (expected [" + std::to_string(K) + ", N])");
  DS_CHECK(!prepacked || (N >= 0 && w.rank() == 1 && w.numel() == quantPackedBBytes(K, N)),
           "packed w for [" + std::to_string(K) + ", " + std::to_string(N) + "] must be " +
               std::to_string(quantPackedBBytes(K, N)) + " bytes, got " + shapeToString(w.shape()));
  const bool perColumn = quant_ops::checkWeightScale(wScale, N);
  const float *biasData = quant_ops::checkBias(bias, N);
  const bool relu = readFusedRelu(ctx.attrs);

  Shape outShape = x.shape();
  outShape.back() = N;
  Tensor y = Tensor::uninitialized(DType::F32, outShape); // the epilogue writes all
  const int64_t rows = shapeNumel(Shape(x.shape().begin(), x.shape().end() - 1));
  const float *xData = x.data<float>();
  const std::string granularity = ctx.attrs.getString("x_granularity", "tensor");
  DS_CHECK(granularity == "tensor" || granularity == "row",
           "x_granularity must be \"tensor\" or \"row\", got \"" + granularity + "\"");
  const bool perRow = granularity == "row";
  const quant_ops::ActivationQuant xq =
      perRow ? quant_ops::ActivationQuant{}
             : quant_ops::activationQuant(ctx.attrs, xData, x.numel(), ctx.pool);

  std::vector<QuantPackedB> uncached;
  if (prepacked) // the block lives as long as w's storage, which the view holds
    uncached.push_back(QuantPackedB::view(K, N, quant_ops::heldBytes(w)));
  const std::vector<QuantPackedB> &packs =
      prepacked ? uncached
                : quant_ops::packedWeights(
                      ctx, w,
                      [&] {
                        return std::vector<QuantPackedB>{
                            packQuantB(false, K, N, w.data<int8_t>(), std::max<int64_t>(N, 1))};
                      },
                      uncached);
  if (y.numel() == 0)
    return outputs.push_back(std::move(y));
  if (perRow) {
    quant_ops::quantMatMulPerRow(rows, K, N, xData, packs[0], wScale.data<float>(), perColumn,
                                 biasData, relu, y.mutableData<float>(), ctx.pool);
    return outputs.push_back(std::move(y));
  }

  QuantGemmA a;
  a.f32 = xData;
  a.ld = std::max<int64_t>(K, 1);
  a.scale = xq.scale;
  a.zeroPoint = xq.zeroPoint;
  QuantEpilogue e;
  e.scaleA = xq.scale;
  e.zeroPointA = xq.zeroPoint;
  e.scaleB = wScale.data<float>();
  e.scaleBPerColumn = perColumn;
  e.bias = biasData;
  e.relu = relu;
  quantGemm(rows, a, packs[0], e, {y.mutableData<float>(), N, 1}, &ctx.pool);
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("quant_matmul", quantMatMulKernel);

} // namespace ds::rt
