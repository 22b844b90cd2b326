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
#include "codegen/runtime/kernels/QuantGemm.h"
#include "ds/runtime/ResidentPages.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace ds::quant {
#define GEN_PASS_DEF_PACKINT8WEIGHTSPASS
#include "quantizers/Passes.h.inc"

namespace {

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
      // Panels are 32 columns wide: a narrow matrix (a classifier's N = 10)
      // would grow several-fold in weights.bin, more than the runtime's copy of
      // such a small matrix costs. Pack only what grows by at most 1/8.
      if (8 * rt::quantPackedBBytes(K, N) > 9 * K * N)
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
  }
};

} // namespace
} // namespace ds::quant
