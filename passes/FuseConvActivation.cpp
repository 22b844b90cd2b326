//===- FuseConvActivation.cpp - Conv -> Relu as one conv ------------------===//
//
// DESIGN §2 phase 3. A float (32 or 64 bit) Conv followed by its only user, a Relu, becomes
// one ds.conv with `activation = "relu"`: the conv kernel clips each output as
// it stores it (FusedActivation.h), which saves the Relu's pass over the whole
// tensor and a kernel call. The pipeline runs it after INT8 quantization, where
// the quantizer has already folded the Relus of the convs it quantized into
// quant_conv; what is left are the FP32 convs.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FUSECONVACTIVATIONPASS
#include "passes/Passes.h.inc"

namespace {

struct FuseConvRelu : OpRewritePattern<ds::ReluOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::ReluOp relu, PatternRewriter &rewriter) const override {
    Value input = relu->getOperand(0);
    auto conv = input.getDefiningOp<ds::ConvOp>();
    if (!conv || !input.hasOneUse())
      return rewriter.notifyMatchFailure(relu, "not the only user of a conv");
    auto type = dyn_cast<RankedTensorType>(input.getType());
    if (!type || !(type.getElementType().isF32() || type.getElementType().isF64()) ||
        relu->getResult(0).getType() != type)
      return rewriter.notifyMatchFailure(relu, "not a float32/float64 conv of the relu's type");
    if (auto act = conv->getAttrOfType<StringAttr>("activation"); act && act.getValue() != "none")
      return rewriter.notifyMatchFailure(relu, "the conv already has an activation");
    rewriter.modifyOpInPlace(conv, [&] {
      conv->setAttr("activation", rewriter.getStringAttr("relu"));
    });
    rewriter.replaceOp(relu, input);
    return success();
  }
};

struct FuseConvActivationPass : impl::FuseConvActivationPassBase<FuseConvActivationPass> {
  void runOnOperation() override {
    if (failed(applyRewrites<FuseConvRelu>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
