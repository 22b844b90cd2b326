//===- FoldBatchNorm.cpp - Conv + BatchNormalization -> Conv --------------===//
//
// Inference BatchNormalization after a convolution is an affine map per output
// channel, so it folds into the convolution's weights and bias (DESIGN §2
// phase 3, "Conv + BatchNorm"). The folded weights are new dense_resource
// constants; the originals die with their last user.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "passes/Passes.h"
#include "passes/RewriteUtils.h"

#include "mlir/IR/PatternMatch.h"

#include "llvm/Support/Debug.h"

#include <cmath>

#define DEBUG_TYPE "ds-fold-batchnorm"

using namespace mlir;

namespace ds::passes {
#define GEN_PASS_DEF_FOLDBATCHNORMPASS
#include "passes/Passes.h.inc"

namespace {

struct FoldConvBatchNorm : OpRewritePattern<ds::BatchNormalizationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ds::BatchNormalizationOp bn,
                                PatternRewriter &rewriter) const override {
    if (bn->getNumResults() != 1 || bn->getNumOperands() != 5)
      return rewriter.notifyMatchFailure(bn, "training-mode BatchNormalization");
    if (auto training = bn->getAttrOfType<IntegerAttr>("training_mode"); training && training.getInt())
      return rewriter.notifyMatchFailure(bn, "training_mode is set");
    auto conv = bn->getOperand(0).getDefiningOp<ds::ConvOp>();
    if (!conv || !conv->getResult(0).hasOneUse())
      return rewriter.notifyMatchFailure(bn, "input is not a single-use Conv");
    auto weights = constantTensor(conv->getOperand(1));
    if (!weights || weights->dtype() != rt::DType::F32 || weights->rank() < 3)
      return rewriter.notifyMatchFailure(bn, "conv weights are not a float constant");
    std::optional<rt::Tensor> convBias;
    if (conv->getNumOperands() == 3 && !isa<NoneType>(conv->getOperand(2).getType())) {
      convBias = constantTensor(conv->getOperand(2));
      if (!convBias)
        return rewriter.notifyMatchFailure(bn, "conv bias is not a constant");
    }
    int64_t channels = weights->dim(0);
    std::vector<rt::Tensor> stats; // scale, bias, mean, var
    for (unsigned i = 1; i < 5; ++i) {
      auto t = constantTensor(bn->getOperand(i));
      if (!t || t->dtype() != rt::DType::F32 || t->numel() != channels)
        return rewriter.notifyMatchFailure(bn, "a statistic is not a float constant per channel");
      stats.push_back(*t);
    }
    float epsilon = 1e-5f;
    if (auto eps = bn->getAttrOfType<FloatAttr>("epsilon"))
      epsilon = static_cast<float>(eps.getValueAsDouble());

    const float *gamma = stats[0].data<float>(), *beta = stats[1].data<float>(),
                *mean = stats[2].data<float>(), *var = stats[3].data<float>();
    rt::Tensor newWeights(rt::DType::F32, weights->shape());
    rt::Tensor newBias(rt::DType::F32, {channels});
    int64_t perChannel = weights->numel() / channels;
    const float *w = weights->data<float>();
    float *nw = newWeights.mutableData<float>(), *nb = newBias.mutableData<float>();
    for (int64_t m = 0; m < channels; ++m) {
      float s = gamma[m] / std::sqrt(var[m] + epsilon);
      for (int64_t i = 0; i < perChannel; ++i)
        nw[m * perChannel + i] = w[m * perChannel + i] * s;
      float b = convBias ? convBias->data<float>()[m] : 0.0f;
      nb[m] = (b - mean[m]) * s + beta[m];
    }

    rewriter.setInsertionPoint(conv);
    std::string name = blobPrefix(conv);
    Value w2 = createConstant(rewriter, conv.getLoc(), newWeights, name + ".bn_folded_weight");
    Value b2 = createConstant(rewriter, conv.getLoc(), newBias, name + ".bn_folded_bias");
    Operation *folded = rewriter.clone(*conv);
    folded->setOperands({conv->getOperand(0), w2, b2});
    // The folded conv computes the BatchNormalization's result (same type).
    folded->getResult(0).setType(bn->getResult(0).getType());
    rewriter.replaceOp(bn, folded->getResults());
    rewriter.eraseOp(conv);
    return success();
  }
};

struct FoldBatchNormPass : impl::FoldBatchNormPassBase<FoldBatchNormPass> {
  void runOnOperation() override {
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyRewrites<FoldConvBatchNorm>(getOperation(), config)))
      signalPassFailure();
  }
};

} // namespace
} // namespace ds::passes
