//===- QuantGemmOperands.cpp - operands shared by quant_matmul and quant_conv ===//
#include "QuantGemmOperands.h"
#include "NodeCache.h"

#include "MovementCommon.h"
#include "MovementQuantize.h"

#include <cmath>
#include <limits>

namespace ds::rt::quant_ops {

ActivationQuant activationQuant(const AttrMap &attrs, const float *x, int64_t n,
                                ThreadPool &pool) {
  const float staticScale = attrs.getFloat("x_scale", 0.0f);
  DS_CHECK(staticScale >= 0.0f && staticScale < std::numeric_limits<float>::infinity(),
           "x_scale must be finite and >= 0 (0: dynamic), got " + std::to_string(staticScale));
  ActivationQuant q;
  if (staticScale > 0.0f) {
    const int64_t zp = attrs.getInt("x_zero_point", 0);
    DS_CHECK(zp >= 0 && zp <= 255,
             "x_zero_point must be in [0, 255] for uint8, got " + std::to_string(zp));
    q.scale = staticScale;
    q.zeroPoint = static_cast<int32_t>(zp);
    return q;
  }
  const movement::DynamicUint8Params d = movement::dynamicUint8Params(pool, x, n);
  q.scale = d.scale;
  q.zeroPoint = d.zeroPoint;
  return q;
}

bool checkWeightScale(const Tensor &wScale, int64_t count) {
  DS_CHECK(!wScale.isAbsent(), "w_scale is required");
  DS_CHECK(wScale.dtype() == DType::F32,
           std::string("w_scale must be float, got ") + dtypeName(wScale.dtype()));
  if (wScale.numel() == 1 && wScale.rank() <= 1)
    return false;
  DS_CHECK(wScale.rank() == 1 && wScale.dim(0) == count,
           "w_scale must be [" + std::to_string(count) + "] or a scalar, got " +
               shapeToString(wScale.shape()));
  return true;
}

const float *checkBias(const Tensor &bias, int64_t count) {
  if (bias.isAbsent())
    return nullptr;
  DS_CHECK(bias.dtype() == DType::F32,
           std::string("bias must be float, got ") + dtypeName(bias.dtype()));
  DS_CHECK(bias.rank() == 1 && bias.dim(0) == count,
           "bias must be [" + std::to_string(count) + "], got " + shapeToString(bias.shape()));
  return bias.data<float>();
}

std::shared_ptr<const int8_t> heldBytes(const Tensor &w) {
  return std::shared_ptr<const int8_t>(w.data<int8_t>(), [keep = w](const int8_t *) {});
}

const std::vector<QuantPackedB> &
packedWeights(const KernelContext &ctx, const Tensor &w,
              const std::function<std::vector<QuantPackedB>()> &pack,
              std::vector<QuantPackedB> &local) {
  if (const auto *cached = cachedFromConstant<std::vector<QuantPackedB>>(
          ctx, w, std::make_pair(w.shape(), w.dtype()), pack))
    return *cached;
  local = pack();
  return local;
}

} // namespace ds::rt::quant_ops
