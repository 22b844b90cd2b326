//===- Slice.cpp - Slice with ONNX's clamping rules, any step sign --------===//
//
// starts/ends/axes/steps are inputs (opset >= 10). Out-of-range starts/ends clamp
// as the spec says ([0, dim] for positive steps, [-1, dim-1] for negative ones), so
// any INT_MAX/INT_MIN "to the end" sentinel works. The result is a strided view of
// the input copied out by stridedCopy (memcpy runs where the step is 1).
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

#include <limits>

namespace ds::rt {
namespace {
using namespace movement;

std::vector<int64_t> intsInput(const Tensor &t, const char *what) {
  DS_CHECK(t.dtype() == DType::I64 || t.dtype() == DType::I32,
           std::string("'") + what + "' must be int32 or int64");
  DS_CHECK(t.rank() == 1, std::string("'") + what + "' must be 1-D");
  return t.toInt64Vector();
}

void sliceKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 5, "Slice");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Slice");
  int64_t rank = data.rank();
  std::vector<int64_t> starts = intsInput(inputs[1], "starts");
  std::vector<int64_t> ends = intsInput(inputs[2], "ends");
  size_t n = starts.size();
  DS_CHECK(ends.size() == n, "'starts' and 'ends' have different lengths");
  std::vector<int64_t> axes, steps(n, 1);
  const Tensor &axesIn = optionalInput(inputs, 3), &stepsIn = optionalInput(inputs, 4);
  if (!axesIn.isAbsent()) {
    axes = normalizeAxes(intsInput(axesIn, "axes"), rank);
    DS_CHECK(axes.size() == n, "'axes' and 'starts' have different lengths");
  } else {
    DS_CHECK(static_cast<int64_t>(n) <= rank, "more 'starts' than input dimensions");
    for (size_t i = 0; i < n; ++i)
      axes.push_back(static_cast<int64_t>(i));
  }
  if (!stepsIn.isAbsent()) {
    steps = intsInput(stepsIn, "steps");
    DS_CHECK(steps.size() == n, "'steps' and 'starts' have different lengths");
  }

  Shape outShape = data.shape();
  std::vector<int64_t> inStrides = rowMajorStrides(data.shape());
  std::vector<int64_t> srcStrides = inStrides;
  int64_t base = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t a = static_cast<size_t>(axes[i]);
    int64_t dim = data.shape()[a], step = steps[i];
    DS_CHECK(step != 0, "slice step must not be 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start - 1) / step + 1 : 0;
    } else if (dim == 0) {
      count = 0;
    } else {
      if (step == std::numeric_limits<int64_t>::min())
        step = -std::numeric_limits<int64_t>::max();
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end - 1) / (-step) + 1 : 0;
    }
    outShape[a] = count;
    if (count > 0)
      base += start * inStrides[a];
    // With count <= 1 the stride is never used (and step may be huge).
    srcStrides[a] = count > 1 ? inStrides[a] * step : 0;
  }
  Tensor out = Tensor::uninitialized(data.dtype(), outShape); // stridedCopy writes all
  if (out.numel() > 0)
    dispatchBySize(data.dtype(), "Slice", [&](auto tag) {
      using T = typename decltype(tag)::type;
      stridedCopy<T>(ctx.pool, outShape, srcStrides, base,
                     static_cast<const T *>(data.rawData()),
                     static_cast<T *>(out.mutableRawData()));
    });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("slice", sliceKernel);

} // namespace ds::rt
