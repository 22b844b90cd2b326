//===- PackInt8Weights.cpp - INT8 GEMM weights packed at compile time -----===//
//
// The INT8 GEMM reads its weights in one panel layout for every ISA
// (QuantPackedB in codegen/runtime/kernels/QuantGemm.h). Packing them here,
// once, puts that layout into the compiled model: the reference executor and
// the artifact read the block in place (the artifact straight from its
// mmapped weights.bin) instead of packing a private copy on their first run,
// which kept every INT8 weight twice in an artifact's memory.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "quantizers/Passes.h"
#include "codegen/runtime/kernels/ConvCommon.h"
#include "codegen/runtime/kernels/QuantConvPacking.h"
#include "codegen/runtime/kernels/QuantGemm.h"
#include "ds/runtime/ResidentPages.h"
#include "executor/ReferenceExecutor.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace ds::quant {
#define GEN_PASS_DEF_PACKINT8WEIGHTSPASS
#include "quantizers/Passes.h.inc"

namespace {

/// Panels are 32 columns wide: a narrow matrix (a classifier's N = 10) would
/// grow several-fold in weights.bin, more than the runtime's copy of such a
/// small matrix costs. Pack only what grows by at most 1/8.
bool packingPays(int64_t packedBytes, int64_t weightBytes) {
  return 8 * packedBytes <= 9 * weightBytes;
}

/// A quant_conv's weights, packed as its kernel would pack them for its GEMM
/// path, when that is the path it takes: static C, H, W (the decision depends
/// on the geometry) and no direct kernel that fits (the decision uses the shape
/// alone, never this machine's CPU, so every machine compiles the same bytes).
void packConvWeights(ds::QuantConvOp op) {
  auto x = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  Value w = op->getOperand(1);
  auto wType = dyn_cast<RankedTensorType>(w.getType());
  if (op->hasAttr(kWeightsPackedAttr) || !x || x.getRank() != 4 || !wType ||
      !wType.hasStaticShape() || wType.getRank() != 4 ||
      !wType.getElementType().isSignlessInteger(8))
    return;
  rt::Shape xShape(x.getShape().begin(), x.getShape().end());
  if (ShapedType::isDynamic(xShape[0]))
    xShape[0] = 1; // the batch decides nothing here
  if (llvm::any_of(xShape, [](int64_t d) { return ShapedType::isDynamic(d); }))
    return;
  std::optional<rt::Tensor> values = passes::constantTensor(w);
  if (!values)
    return;
  rt::conv::ConvProblem problem;
  try {
    problem = rt::conv::readConvProblem(exec::kernelAttrs(op), xShape, values->shape(), "x", "w");
  } catch (const std::exception &) {
    return; // the kernel will say what is wrong
  }
  const int64_t bytes = rt::quant_conv::packedWeightBytes(problem);
  if (rt::quant_conv::mayRunDirect(problem) ||
      problem.inPerGroup * problem.geom.kernelSize() > rt::kQuantGemmMaxK ||
      !packingPays(bytes, values->numel()))
    return;
  rt::Tensor block(rt::DType::I8, {bytes});
  rt::quant_conv::packWeights(problem, values->data<int8_t>(), block.mutableData<int8_t>());
  rt::releaseResidentPages(*values);
  OpBuilder builder(w.getDefiningOp());
  builder.setInsertionPointAfter(w.getDefiningOp());
  op->setOperand(1, passes::createConstant(builder, w.getLoc(), block,
                                           passes::blobPrefix(op) + ".int8_weight_packed"));
  op->setAttr(kWeightsPackedAttr, DenseI64ArrayAttr::get(op->getContext(), wType.getShape()));
  if (w.use_empty())
    w.getDefiningOp()->erase();
}

struct PackInt8WeightsPass : impl::PackInt8WeightsPassBase<PackInt8WeightsPass> {
  void runOnOperation() override {
    // One packed constant per int8 constant, however many ops read it.
    llvm::MapVector<Value, Value> packedOf;
    getOperation().walk([&](ds::QuantMatMulOp op) {
      if (op->hasAttr(kWeightsPackedAttr))
        return;
      Value w = op->getOperand(1);
      auto type = dyn_cast<RankedTensorType>(w.getType());
      if (!type || type.getRank() != 2 || !type.getElementType().isSignlessInteger(8))
        return; // quantized types (lower them first) or not a weight matrix
      int64_t K = type.getDimSize(0), N = type.getDimSize(1);
      if (ShapedType::isDynamic(K) || ShapedType::isDynamic(N) || K > rt::kQuantGemmMaxK)
        return;
      if (!packingPays(rt::quantPackedBBytes(K, N), K * N))
        return;
      auto [it, fresh] = packedOf.try_emplace(w, Value());
      if (fresh) {
        std::optional<rt::Tensor> values = passes::constantTensor(w);
        if (!values) { // computed at run time: the kernel packs it per call
          packedOf.erase(w);
          return;
        }
        rt::Tensor block(rt::DType::I8, {rt::quantPackedBBytes(K, N)});
        rt::packQuantBInto(false, K, N, values->data<int8_t>(), std::max<int64_t>(N, 1),
                           block.mutableData<int8_t>());
        rt::releaseResidentPages(*values);
        OpBuilder builder(w.getDefiningOp());
        builder.setInsertionPointAfter(w.getDefiningOp());
        it->second = passes::createConstant(builder, w.getLoc(), block,
                                            passes::blobPrefix(op) + ".int8_weight_packed");
      }
      op->setOperand(1, it->second);
      op->setAttr(kWeightsPackedAttr, DenseI64ArrayAttr::get(op->getContext(), {K, N}));
    });
    for (auto &[unpacked, packed] : packedOf)
      if (unpacked.use_empty())
        unpacked.getDefiningOp()->erase();
    getOperation().walk([](ds::QuantConvOp op) { packConvWeights(op); });
  }
};

} // namespace
} // namespace ds::quant
