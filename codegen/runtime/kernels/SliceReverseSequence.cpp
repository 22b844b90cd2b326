//===- SliceReverseSequence.cpp - ReverseSequence -------------------------===//
//
// For batch b, the first sequence_lens[b] steps along time_axis are reversed and
// the rest copied unchanged. batch_axis/time_axis are 0 and 1 in either order;
// every step moves one contiguous run of the trailing dims.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void reverseSequenceKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                           std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "ReverseSequence");
  const Tensor &data = inputs[0], &lensIn = inputs[1];
  checkMovableDType(data.dtype(), "ReverseSequence");
  DS_CHECK(data.rank() >= 2, "ReverseSequence input must have rank >= 2");
  int64_t batchAxis = ctx.attrs.getInt("batch_axis", 1);
  int64_t timeAxis = ctx.attrs.getInt("time_axis", 0);
  DS_CHECK((batchAxis == 0 && timeAxis == 1) || (batchAxis == 1 && timeAxis == 0),
           "batch_axis and time_axis must be 0 and 1 in some order");
  DS_CHECK(lensIn.dtype() == DType::I64 || lensIn.dtype() == DType::I32,
           "sequence_lens must be int64");
  int64_t batch = data.dim(batchAxis), steps = data.dim(timeAxis);
  DS_CHECK(lensIn.rank() == 1 && lensIn.numel() == batch,
           "sequence_lens must have one entry per batch (" + std::to_string(batch) + ")");
  std::vector<int64_t> lens = lensIn.toInt64Vector();
  for (int64_t len : lens)
    DS_CHECK(len >= 0 && len <= steps, "sequence length " + std::to_string(len) +
                                           " is out of range [0, " + std::to_string(steps) +
                                           "]");
  const Shape &s = data.shape();
  size_t runBytes = static_cast<size_t>(product(s, 2, s.size())) * dtypeSize(data.dtype());
  // Element-run strides (in runs) of the batch and time axes in the [d0, d1] prefix.
  int64_t batchStride = batchAxis == 0 ? steps : 1, timeStride = batchAxis == 0 ? 1 : batch;
  Tensor out(data.dtype(), s);
  const char *src = static_cast<const char *>(data.rawData());
  char *dst = static_cast<char *>(out.mutableRawData());
  if (runBytes)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < steps; ++t) {
        int64_t from = t < lens[static_cast<size_t>(b)] ? lens[static_cast<size_t>(b)] - 1 - t : t;
        std::memcpy(dst + static_cast<size_t>(b * batchStride + t * timeStride) * runBytes,
                    src + static_cast<size_t>(b * batchStride + from * timeStride) * runBytes,
                    runBytes);
      }
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("reverse_sequence", reverseSequenceKernel);

} // namespace ds::rt
