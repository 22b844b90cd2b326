//===- QuantInt8.cpp - MatMul/Gemm/Conv -> ds.quant_matmul / ds.quant_conv -===//
//
// The static/dynamic INT8 rewrite (DESIGN §2 phase 6, §5). Calibration has
// already put each candidate's activation range on it (ds.act_range); this pass
// only does the numerics of weights and the IR surgery, so it is lit-testable
// on hand-written IR.
//
//===----------------------------------------------------------------------===//
#include "passes/ConstantUtils.h"
#include "executor/ReferenceExecutor.h"
#include "quantizers/Gptq.h"
#include "quantizers/Int8Scheme.h"
#include "quantizers/Passes.h"
#include "codegen/runtime/kernels/QuantGemm.h"
#include "ds/runtime/ResidentPages.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/Builders.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using ds::passes::constantTensor;
using ds::passes::createConstant;
using ds::passes::nodeName;

namespace ds::quant {
#define GEN_PASS_DEF_QUANTINT8PASS
#include "quantizers/Passes.h.inc"

namespace {

bool isAbsentOperand(Operation *op, unsigned i) {
  return op->getNumOperands() <= i || isa<NoneType>(op->getOperand(i).getType());
}

std::optional<rt::Tensor> floatConstant(Value v) {
  auto t = constantTensor(v);
  if (!t || t->dtype() != rt::DType::F32)
    return std::nullopt;
  return t;
}

rt::Tensor transposed2d(const rt::Tensor &t) {
  int64_t rows = t.dim(0), cols = t.dim(1);
  rt::Tensor out(rt::DType::F32, {cols, rows});
  const float *in = t.data<float>();
  float *o = out.mutableData<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      o[c * rows + r] = in[r * cols + c];
  return out;
}

/// A per-channel bias of `channels` floats from a constant that broadcasts to
/// [channels] ([N], [1, N] or a scalar), times `beta`; nullopt otherwise.
std::optional<rt::Tensor> channelBias(Value v, int64_t channels, float beta) {
  auto c = floatConstant(v);
  if (!c)
    return std::nullopt;
  int64_t n = c->numel();
  bool vectorLike = c->rank() == 0 || c->shape().back() == n;
  if (!vectorLike || (n != channels && n != 1))
    return std::nullopt;
  rt::Tensor bias(rt::DType::F32, {channels});
  for (int64_t i = 0; i < channels; ++i)
    bias.mutableData<float>()[i] = beta * c->data<float>()[n == 1 ? 0 : i];
  return bias;
}

/// What the rewrite of one candidate needs, or why it declines.
struct Plan {
  std::string declined;             // non-empty: stays FP32 for this reason
  rt::Tensor weights;               // float, in the kernel's layout ([K,N] or [M,C,kh,kw])
  int64_t channelAxis = 0;
  float weightScaleFactor = 1.0f;   // Gemm alpha
  std::optional<rt::Tensor> bias;   // [channels]
  const char *quantOp = nullptr;
};

Plan planFor(Operation *op) {
  Plan plan;
  auto decline = [&](std::string why) { plan.declined = std::move(why); return plan; };
  if (isa<ds::MatMulOp>(op)) {
    auto w = floatConstant(op->getOperand(1));
    if (!w || w->rank() != 2)
      return decline("right operand is not a 2-D float constant");
    auto x = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (!x || x.getRank() < 2)
      return decline("activation is not a ranked tensor of rank >= 2");
    plan.weights = *w;
    plan.channelAxis = 1;
    plan.quantOp = "ds.quant_matmul";
    return plan;
  }
  if (isa<ds::GemmOp>(op)) {
    auto getInt = [&](const char *name) {
      auto a = op->getAttrOfType<IntegerAttr>(name);
      return a ? a.getInt() : 0;
    };
    auto getFloat = [&](const char *name) {
      auto a = op->getAttrOfType<FloatAttr>(name);
      return a ? static_cast<float>(a.getValueAsDouble()) : 1.0f;
    };
    if (getInt("transA"))
      return decline("Gemm with transA=1");
    auto b = floatConstant(op->getOperand(1));
    if (!b || b->rank() != 2)
      return decline("B is not a 2-D float constant");
    plan.weights = getInt("transB") ? transposed2d(*b) : *b;
    plan.channelAxis = 1;
    plan.weightScaleFactor = getFloat("alpha");
    if (!isAbsentOperand(op, 2)) {
      plan.bias = channelBias(op->getOperand(2), plan.weights.dim(1), getFloat("beta"));
      if (!plan.bias)
        return decline("C is not a constant per-column bias");
    }
    plan.quantOp = "ds.quant_matmul";
    return plan;
  }
  if (isa<ds::ConvOp>(op)) {
    auto w = floatConstant(op->getOperand(1));
    if (!w || w->rank() != 4)
      return decline("weights are not a 4-D float constant (only 2-D Conv is quantized)");
    plan.weights = *w;
    plan.channelAxis = 0;
    if (!isAbsentOperand(op, 2)) {
      plan.bias = channelBias(op->getOperand(2), w->dim(0), 1.0f);
      if (!plan.bias)
        return decline("bias is not a float constant");
    }
    plan.quantOp = "ds.quant_conv";
    return plan;
  }
  return decline("not a MatMul, Gemm or Conv");
}

/// SmoothQuant: scales row k of `weights` [K, N] by s_k and returns 1/s_k, with
/// s_k = max|X_k|^alpha / max|W_k|^(1-alpha) from the activation's per-channel
/// ranges; [lo, hi] becomes the range of X / s. Channels with no signal keep s = 1.
rt::Tensor smoothWeights(rt::Tensor &weights, llvm::ArrayRef<float> chMin,
                         llvm::ArrayRef<float> chMax, float alpha, float &lo, float &hi) {
  int64_t k = weights.dim(0), n = weights.dim(1);
  rt::Tensor scaled = weights.clone();
  float *w = scaled.mutableData<float>();
  rt::Tensor inverse(rt::DType::F32, {k});
  float newLo = 0.0f, newHi = 0.0f;
  for (int64_t row = 0; row < k; ++row) {
    float actAbs = std::max(std::fabs(chMin[row]), std::fabs(chMax[row]));
    float wAbs = 0.0f;
    for (int64_t col = 0; col < n; ++col)
      wAbs = std::max(wAbs, std::fabs(w[row * n + col]));
    float s = 1.0f;
    if (actAbs > 0.0f && wAbs > 0.0f && std::isfinite(actAbs))
      s = std::clamp(std::pow(actAbs, alpha) / std::pow(wAbs, 1.0f - alpha), 1e-5f, 1e5f);
    for (int64_t col = 0; col < n; ++col)
      w[row * n + col] *= s;
    inverse.mutableData<float>()[row] = 1.0f / s;
    if (std::isfinite(chMin[row]) && std::isfinite(chMax[row]) && chMin[row] <= chMax[row]) {
      newLo = std::min(newLo, chMin[row] / s);
      newHi = std::max(newHi, chMax[row] / s);
    }
  }
  weights = scaled;
  lo = newLo;
  hi = newHi;
  return inverse;
}

/// `tensor<shape x !quant.uniform<i8<-127:127>:f32:axis, {scales}>>`: the
/// weights' MLIR quantized type, symmetric per output channel.
RankedTensorType quantizedWeightType(MLIRContext *ctx, const QuantizedWeights &qw, int64_t axis) {
  llvm::SmallVector<double> scales(qw.scales.data<float>(),
                                   qw.scales.data<float>() + qw.scales.numel());
  llvm::SmallVector<int64_t> zeroPoints(scales.size(), 0);
  auto element = mlir::quant::UniformQuantizedPerAxisType::get(
      mlir::quant::QuantizationFlags::Signed, IntegerType::get(ctx, 8), Float32Type::get(ctx),
      scales, zeroPoints, static_cast<int32_t>(axis), -127, 127);
  return RankedTensorType::get(qw.values.shape(), element);
}

/// `x`'s shape with `!quant.uniform<u8:f32, scale:zero_point>` elements.
RankedTensorType quantizedActivationType(Value x, const ActivationParams &act) {
  MLIRContext *ctx = x.getContext();
  auto element = mlir::quant::UniformQuantizedType::get(
      /*flags=*/0, IntegerType::get(ctx, 8), Float32Type::get(ctx), act.scale, act.zeroPoint, 0, 255);
  return RankedTensorType::get(cast<RankedTensorType>(x.getType()).getShape(), element);
}

/// The single user of `v` when it is an op of type OpT, else null.
template <typename OpT> OpT soleUser(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return dyn_cast<OpT>(*v.getUsers().begin());
}

struct QuantInt8Pass : impl::QuantInt8PassBase<QuantInt8Pass> {
  using QuantInt8PassBase::QuantInt8PassBase;

  void runOnOperation() override {
    if (weightRounding != "rtn" && weightRounding != "gptq") {
      getOperation().emitError() << "ds-quant-int8: weight-rounding must be rtn or gptq, got '"
                                 << weightRounding << "'";
      return signalPassFailure();
    }
    if (mode != "static" && mode != "dynamic" && mode != "dynamic-per-token") {
      getOperation().emitError() << "ds-quant-int8: mode must be static, dynamic or "
                                    "dynamic-per-token, got '" << mode << "'";
      return signalPassFailure();
    }
    std::vector<llvm::GlobPattern> keep;
    for (const std::string &pattern : keepFp32) {
      auto glob = llvm::GlobPattern::create(pattern);
      if (!glob) {
        getOperation().emitError() << "ds-quant-int8: bad keep-fp32 pattern '" << pattern << "'";
        return signalPassFailure();
      }
      keep.push_back(std::move(*glob));
    }
    std::vector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      if (isQuantCandidate(op))
        candidates.push_back(op);
    });
    for (Operation *op : candidates)
      if (failed(rewrite(op, keep)))
        return signalPassFailure();
  }

  LogicalResult rewrite(Operation *op, const std::vector<llvm::GlobPattern> &keep) {
    MLIRContext *ctx = op->getContext();
    auto keepAsFp32 = [&](const std::string &why) {
      op->setAttr(kFp32ReasonAttr, StringAttr::get(ctx, why));
      op->removeAttr(kActRangeAttr);
      op->removeAttr(kActQParamsAttr);
      op->removeAttr(kActChannelMinAttr);
      op->removeAttr(kActHessianAttr);
      op->removeAttr(kActChannelMaxAttr);
      return success();
    };
    std::string name = nodeName(op);
    for (const auto &glob : keep)
      if (glob.match(name))
        return keepAsFp32("kept by --keep-fp32");
    if (llvm::is_contained(autoFp32, name))
      return keepAsFp32(autoFp32Reason.empty() ? std::string("kept in FP32 by the pipeline")
                                               : std::string(autoFp32Reason));
    Plan plan = planFor(op);
    if (!plan.declined.empty())
      return keepAsFp32(plan.declined);
    // The INT8 kernels sum K u8*s8 products in int32: deeper reductions could
    // overflow, so they stay FP32 here rather than fail in the kernel.
    int64_t depth = plan.channelAxis == 0 ? plan.weights.numel() / std::max<int64_t>(plan.weights.dim(0), 1)
                                          : plan.weights.dim(0);
    if (depth > rt::kQuantGemmMaxK)
      return keepAsFp32(llvm::formatv("reduction depth {0} exceeds {1}, the INT32 accumulator "
                                      "bound of the INT8 kernels", depth, rt::kQuantGemmMaxK).str());

    ActivationParams act;
    bool perToken = mode == "dynamic-per-token";
    bool dynamic = mode == "dynamic" || perToken;
    std::optional<rt::Tensor> inverseSmoothing; // [K]: x is multiplied by it first
    auto qparams = op->getAttrOfType<DenseF32ArrayAttr>(kActQParamsAttr);
    auto range = op->getAttrOfType<DenseF32ArrayAttr>(kActRangeAttr);
    float lo = range && range.size() == 2 ? range[0] : 0.0f, hi = range && range.size() == 2 ? range[1] : 0.0f;
    // SmoothQuant needs the per-channel ranges of a calibration run; it applies
    // to dynamic modes too (the smoothed activation is then ranged per call).
    auto chMin = op->getAttrOfType<DenseF32ArrayAttr>(kActChannelMinAttr);
    auto chMax = op->getAttrOfType<DenseF32ArrayAttr>(kActChannelMaxAttr);
    if (smoothquantAlpha > 0 && !qparams && plan.quantOp == std::string("ds.quant_matmul") && chMin &&
        chMax && chMin.size() == plan.weights.dim(0) && chMax.size() == chMin.size())
      inverseSmoothing = smoothWeights(plan.weights, chMin.asArrayRef(), chMax.asArrayRef(),
                                       static_cast<float>(smoothquantAlpha), lo, hi);
    if (!dynamic && qparams && qparams.size() == 2) {
      act.scale = qparams[0]; // the model's own Q/DQ parameters, kept as they are
      act.zeroPoint = static_cast<int64_t>(qparams[1]);
    } else if (!dynamic) {
      if (!range || range.size() != 2)
        return keepAsFp32("no calibration range for its input");
      try {
        act = uint8Asymmetric(lo, hi);
      } catch (const rt::Error &e) {
        op->emitError() << "ds-quant-int8: " << e.what();
        return failure();
      }
    }
    QuantizedWeights qw;
    try {
      qw = quantizeSymmetricPerChannel(plan.weights, plan.channelAxis);
      auto hessian = op->getAttrOfType<ElementsAttr>(kActHessianAttr);
      if (weightRounding == "gptq" && hessian && plan.quantOp == std::string("ds.quant_matmul")) {
        rt::Tensor h = exec::tensorFromElementsAttr(hessian);
        if (inverseSmoothing) { // x' = x / s: H' = diag(1/s) H diag(1/s)
          h = h.clone();
          const float *inv = inverseSmoothing->data<float>();
          int64_t k = h.dim(0);
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j)
              h.mutableData<float>()[i * k + j] *= inv[i] * inv[j];
        }
        qw.values = gptqQuantize(plan.weights, qw.scales, h);
      }
    } catch (const rt::Error &e) {
      return keepAsFp32(std::string("weights: ") + e.what());
    } catch (const exec::ExecutionError &e) {
      return keepAsFp32(std::string("calibration Hessian: ") + e.what());
    }
    if (plan.weightScaleFactor != 1.0f) {
      // Gemm alpha goes into the scales, which a quantized type needs positive:
      // a negative alpha flips the int8 values instead ([-127, 127] is symmetric).
      float alpha = plan.weightScaleFactor;
      if (alpha < 0.0f)
        for (int64_t i = 0; i < qw.values.numel(); ++i)
          qw.values.mutableData<int8_t>()[i] = static_cast<int8_t>(-qw.values.data<int8_t>()[i]);
      for (int64_t i = 0; i < qw.scales.numel(); ++i)
        qw.scales.mutableData<float>()[i] *= std::fabs(alpha);
    }
    for (int64_t i = 0; i < qw.scales.numel(); ++i)
      if (float s = qw.scales.data<float>()[i]; !(s > 0.0f) || !std::isfinite(s))
        return keepAsFp32(llvm::formatv("weight scale {0} of channel {1} is not positive and "
                                        "finite (Gemm alpha {2})", s, i, plan.weightScaleFactor)
                              .str());

    // Fold a following constant bias Add (MatMul only) and a following Relu;
    // `chain` is what the quantized op replaces, in order.
    std::vector<Operation *> chain{op};
    Value result = op->getResult(0);
    int64_t channels = qw.scales.numel();
    if (isa<ds::MatMulOp>(op) && !plan.bias)
      if (auto add = soleUser<ds::AddOp>(result)) {
        Value other = add->getOperand(0) == result ? add->getOperand(1) : add->getOperand(0);
        auto addType = dyn_cast<RankedTensorType>(add->getResult(0).getType());
        auto resultType = dyn_cast<RankedTensorType>(result.getType());
        if (auto bias = channelBias(other, channels, 1.0f);
            bias && addType && resultType && addType.getShape() == resultType.getShape()) {
          plan.bias = bias;
          chain.push_back(add);
        }
      }
    std::string activation = "none";
    if (auto relu = soleUser<ds::ReluOp>(chain.back()->getResult(0))) {
      activation = "relu";
      chain.push_back(relu);
    }
    Operation *last = chain.back();

    OpBuilder builder(op);
    Location loc = op->getLoc();
    name = passes::blobPrefix(op);
    Value w8 = createConstant(builder, loc, qw.values, name + ".int8_weight");
    // Done with the FP32 weight: a model larger than memory must not keep every
    // weight it has read resident (ds/runtime/ResidentPages.h).
    rt::releaseResidentPages(plan.weights);
    if (auto original = constantTensor(op->getOperand(1)))
      rt::releaseResidentPages(*original);
    Value wq = mlir::quant::StorageCastOp::create(
        builder, loc, quantizedWeightType(ctx, qw, plan.channelAxis), w8);
    Value bias = plan.bias ? createConstant(builder, loc, *plan.bias, name + ".bias")
                           : ds::NoneOp::create(builder, loc, builder.getNoneType()).getResult();
    Value x = op->getOperand(0);
    if (inverseSmoothing) {
      Value inv = createConstant(builder, loc, *inverseSmoothing, name + ".smoothquant_inverse_scale");
      OperationState mul(loc, "ds.mul");
      mul.addOperands({x, inv});
      mul.addTypes(x.getType());
      x = builder.create(mul)->getResult(0);
    }
    if (!dynamic) // the op quantizes x itself: the cast states how
      x = mlir::quant::QuantizeCastOp::create(builder, loc, quantizedActivationType(x, act), x);
    OperationState state(loc, plan.quantOp);
    state.addOperands({x, wq, bias});
    state.addTypes(last->getResult(0).getType());
    if (isa<ds::ConvOp>(op))
      for (NamedAttribute attr : op->getDiscardableAttrs())
        if (!attr.getName().getValue().starts_with("ds."))
          state.addAttribute(attr.getName(), attr.getValue());
    state.addAttribute("activation", builder.getStringAttr(activation));
    if (perToken && plan.quantOp == std::string("ds.quant_matmul"))
      state.addAttribute("x_granularity", builder.getStringAttr("row"));
    // The FP32 op whose value this one now computes (the report compares them).
    if (std::string replaced = nodeName(last); !replaced.empty())
      state.addAttribute(kReplacesAttr, builder.getStringAttr(replaced));
    Operation *quantized = builder.create(state);
    last->getResult(0).replaceAllUsesWith(quantized->getResult(0));
    // Erase the replaced chain from its end; constants only it used die in DCE.
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      (*it)->erase();
    return success();
  }
};

} // namespace

bool isQuantCandidate(Operation *op) {
  if (!isa<ds::MatMulOp, ds::GemmOp, ds::ConvOp>(op) || op->getNumResults() != 1)
    return false;
  // Unranked activations are candidates too: they stay FP32 with the reason
  // said (an unrankable value is a gap in shape inference, never silent).
  auto x = dyn_cast<TensorType>(op->getOperand(0).getType());
  return x && x.getElementType().isF32();
}

} // namespace ds::quant
