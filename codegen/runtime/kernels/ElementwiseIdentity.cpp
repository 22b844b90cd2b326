//===- ElementwiseIdentity.cpp - Identity and inference-mode Dropout ------===//
//
// Both return their input unchanged (aliased: tensors are immutable once
// produced). Dropout's optional mask output is all true. Dropout in training
// mode is random and is not supported, except with ratio 0, where it is the
// identity by definition (ONNX's test_training_dropout_zero_ratio).
// Dropout-10/11 carry 'ratio' as an attribute; opset 12 made ratio and
// training_mode inputs. Either way the ratio does not matter for inference.
//===----------------------------------------------------------------------===//
// GCC keeps -ftrapping-math by default and then will not if-convert selects
// whose arms do float arithmetic, so such loops stay scalar. Kernels never read
// FP exception flags; see ElementwiseUtil.h. (Clang does not trap by default.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseUtil.h"

namespace ds::rt {
namespace {

using KernelArgs = const std::vector<Tensor> &;

/// Throws for the element types the kernel library does not support at all.
void checkSupported(const Tensor &t, const char *opName) {
  dispatchDType<DS_ALL_TYPES>(t.dtype(), opName, [](auto) {});
}

void identityKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Identity");
  checkSupported(inputs[0], "Identity");
  outputs.push_back(inputs[0]);
}

void dropoutKernel(const KernelContext &ctx, KernelArgs inputs, std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 3, "Dropout");
  const Tensor &data = inputs[0];
  dispatchDType<DS_FLOAT_TYPES>(data.dtype(), "Dropout", [](auto) {});
  const Tensor &ratioIn = optionalInput(inputs, 1);
  const Tensor &trainingIn = optionalInput(inputs, 2);
  double ratio = ctx.attrs.getFloat("ratio", 0.5f);
  if (!ratioIn.isAbsent()) {
    DS_CHECK(ratioIn.numel() == 1, "'ratio' must be a scalar, got shape " +
                                       shapeToString(ratioIn.shape()));
    ratio = ratioIn.getAsDouble(0);
  }
  bool training = false;
  if (!trainingIn.isAbsent()) {
    DS_CHECK(trainingIn.dtype() == DType::Bool && trainingIn.numel() == 1,
             "'training_mode' must be a bool scalar");
    training = trainingIn.data<bool>()[0];
  }
  DS_CHECK(!training || ratio == 0.0, "training mode is not supported");
  DS_CHECK(ctx.numOutputs >= 1 && ctx.numOutputs <= 2,
           "expects 1 or 2 outputs, got " + std::to_string(ctx.numOutputs));
  outputs.push_back(data);
  if (ctx.numOutputs == 2) {
    Tensor mask(DType::Bool, data.shape());
    bool *m = mask.mutableData<bool>();
    std::fill(m, m + mask.numel(), true);
    outputs.push_back(std::move(mask));
  }
}

} // namespace

DS_REGISTER_KERNEL("identity", identityKernel);
DS_REGISTER_KERNEL("dropout", dropoutKernel);

} // namespace ds::rt
