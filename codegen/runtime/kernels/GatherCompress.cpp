//===- GatherCompress.cpp - Compress: keep slices where a condition holds ===//
//
// Without 'axis' the input is flattened first. The condition may be shorter than
// the axis (missing entries count as false); entries past the axis must be false.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void compressKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                    std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "Compress");
  const Tensor &input = inputs[0], &condition = inputs[1];
  checkMovableDType(input.dtype(), "Compress");
  DS_CHECK(condition.dtype() == DType::Bool, "condition must be bool");
  DS_CHECK(condition.rank() == 1, "condition must be 1-D");
  bool hasAxis = ctx.attrs.has("axis");
  Tensor data = hasAxis ? input : input.reshaped({input.numel()});
  DS_CHECK(data.rank() >= 1, "Compress input must have rank >= 1");
  int64_t axis = hasAxis ? normalizeAxis(ctx.attrs.getInt("axis", 0), data.rank()) : 0;
  int64_t axisDim = data.dim(axis);
  const bool *cond = condition.data<bool>();
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < condition.numel(); ++i)
    if (cond[i]) {
      DS_CHECK(i < axisDim, "condition selects index " + std::to_string(i) +
                                " past the axis size " + std::to_string(axisDim));
      kept.push_back(i);
    }
  const Shape &s = data.shape();
  Shape outShape = s;
  outShape[static_cast<size_t>(axis)] = static_cast<int64_t>(kept.size());
  Tensor out(data.dtype(), outShape);
  int64_t outer = product(s, 0, static_cast<size_t>(axis));
  int64_t inner = product(s, static_cast<size_t>(axis) + 1, s.size());
  size_t runBytes = static_cast<size_t>(inner) * dtypeSize(data.dtype());
  const char *src = static_cast<const char *>(data.rawData());
  char *dst = static_cast<char *>(out.mutableRawData());
  if (runBytes)
    for (int64_t o = 0; o < outer; ++o)
      for (size_t j = 0; j < kept.size(); ++j)
        std::memcpy(dst + (static_cast<size_t>(o) * kept.size() + j) * runBytes,
                    src + static_cast<size_t>(o * axisDim + kept[j]) * runBytes, runBytes);
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("compress", compressKernel);

} // namespace ds::rt
