//===- Passes.td - ds-optimize's graph passes (optimize, fuse) -------------===//
#ifndef DS_PASSES_TD
#define DS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldBatchNormPass : Pass<"ds-fold-batchnorm", "mlir::func::FuncOp"> {
  let summary = "fold inference BatchNormalization into the preceding Conv";
  let description = [{
    `conv(x, W, B)` followed by `batch_normalization(scale, bias, mean, var)`
    becomes `conv(x, W', B')` with `W'[m] = W[m] * s[m]`,
    `B'[m] = (B[m] - mean[m]) * s[m] + bias[m]`, `s = scale / sqrt(var + eps)`.
    Declines when the conv weights or any statistic is not a constant, when the
    conv result has other users, or when the BatchNormalization is in training
    mode (more than one result).
  }];
  let dependentDialects = ["ds::DsDialect"];
}

#endif // DS_PASSES_TD
