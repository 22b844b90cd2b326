//===- Trilu.cpp - Trilu: keep the upper or lower triangle of each matrix ===//
//
// upper=1 keeps (i, j) with j - i >= k, upper=0 keeps j - i <= k; the rest is 0.
// Each row is one kept run (memcpy) and one zero run, so no dtype dispatch.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

void triluKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "Trilu");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Trilu");
  DS_CHECK(data.rank() >= 2, "Trilu input must have rank >= 2, got shape " +
                                 shapeToString(data.shape()));
  int64_t k = 0;
  const Tensor &kIn = optionalInput(inputs, 1);
  if (!kIn.isAbsent()) {
    DS_CHECK(kIn.dtype() == DType::I64 && kIn.numel() == 1, "'k' must be an int64 scalar");
    k = kIn.getAsInt64(0);
  }
  bool upper = ctx.attrs.getInt("upper", 1) != 0;
  int64_t rows = data.dim(data.rank() - 2), cols = data.dim(data.rank() - 1);
  // Clamp k so row +/- k cannot overflow; beyond +/-(rows+cols) nothing changes.
  k = std::clamp<int64_t>(k, -(rows + cols), rows + cols);
  Tensor out(data.dtype(), data.shape());
  size_t elem = dtypeSize(data.dtype());
  int64_t matrices = rows * cols == 0 ? 0 : data.numel() / (rows * cols);
  const char *src = static_cast<const char *>(data.rawData());
  char *dst = static_cast<char *>(out.mutableRawData());
  parallelRange(ctx.pool, matrices * rows, data.numel(), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t i = r % rows;
      // Kept columns are [lo, hi); the output is already zero elsewhere.
      int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      if (hi > lo) {
        size_t off = static_cast<size_t>(r * cols + lo) * elem;
        std::memcpy(dst + off, src + off, static_cast<size_t>(hi - lo) * elem);
      }
    }
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("trilu", triluKernel);

} // namespace ds::rt
