//===- Normalization.cpp - layer, instance, group and mean-variance norms ===//
//
// All four normalize runs of elements to zero mean and unit variance, then
// (except mean_variance_normalization) apply a scale and bias:
//   layer_normalization   runs = trailing dims from `axis`; scale/bias broadcast
//                         over them; optional Mean and InvStdDev outputs (float)
//   instance_normalization runs = spatial dims of each (n, c); scale/bias [C]
//   group_normalization   runs = each (n, group); scale/bias per group ([G],
//                         opset 18) or per channel ([C], opset 21), told apart
//                         by their size
//   mean_variance_normalization (x - mean) / (sqrt(variance) + 1e-9) over `axes`
// Statistics are computed in double (NormalizationStats.h), so stash_type=1
// (float) is met or exceeded; the affine step runs in the element type.
//===----------------------------------------------------------------------===//
#include "NormalizationStats.h"

#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>

namespace ds::rt {
namespace {

constexpr int64_t kParallelGrain = 16384;

/// `t` (any numeric dtype) broadcast unidirectionally to `target`, as T values.
template <typename T>
std::vector<T> expandTo(const Tensor &t, const Shape &target, const char *what) {
  std::vector<T> out(static_cast<size_t>(shapeNumel(target)));
  if (t.numel() == static_cast<int64_t>(out.size()) && t.rank() <= static_cast<int64_t>(target.size())) {
    bool same = true;
    for (int64_t d = 0; d < t.rank(); ++d)
      same = same && t.dim(d) == target[target.size() - t.rank() + d];
    if (same) {
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<T>(t.getAsDouble(static_cast<int64_t>(i)));
      return out;
    }
  }
  DS_CHECK(t.rank() <= static_cast<int64_t>(target.size()),
           std::string(what) + " of shape " + shapeToString(t.shape()) +
               " does not broadcast to " + shapeToString(target));
  std::vector<int64_t> strides = broadcastStrides(t.shape(), target);
  std::vector<int64_t> index(target.size(), 0);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t offset = 0;
    for (size_t d = 0; d < target.size(); ++d)
      offset += index[d] * strides[d];
    out[i] = static_cast<T>(t.getAsDouble(offset));
    for (size_t d = target.size(); d-- > 0;) {
      if (++index[d] < target[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

/// One run: y = (x - mean) * invStd * scale + bias, scale/bias per element of
/// the run (stride 1) or constant over it (stride 0).
template <typename T>
void normalizeRun(const T *x, T *y, int64_t n, double mean, double invStd, const T *scale,
                  int64_t scaleStride, const T *bias, int64_t biasStride) {
  const T m = static_cast<T>(mean), inv = static_cast<T>(invStd);
  if (scaleStride == 0 && biasStride == 0) {
    const T s = scale ? scale[0] * inv : inv, b = bias ? bias[0] : T(0);
    for (int64_t j = 0; j < n; ++j)
      y[j] = (x[j] - m) * s + b;
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    y[j] = (x[j] - m) * inv * scale[j * scaleStride] + (bias ? bias[j * biasStride] : T(0));
}

void layerNormalizationKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                              std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "LayerNormalization");
  const Tensor &x = inputs[0], &scale = inputs[1];
  const Tensor &bias = optionalInput(inputs, 2);
  DS_CHECK(x.rank() >= 1, "input must have rank >= 1");
  const int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", -1), x.rank());
  const double epsilon = ctx.attrs.getFloat("epsilon", 1e-5f);
  int64_t rows = 1, n = 1;
  Shape normShape, statsShape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis) {
      rows *= x.dim(d);
      statsShape.push_back(x.dim(d));
    } else {
      n *= x.dim(d);
      normShape.push_back(x.dim(d));
      statsShape.push_back(1);
    }
  }
  Tensor y(x.dtype(), x.shape());
  Tensor meanOut(DType::F32, statsShape), invStdOut(DType::F32, statsShape);
  dispatchDType<float, double>(x.dtype(), "LayerNormalization", [&](auto tag) {
    using T = typename decltype(tag)::type;
    std::vector<T> s = expandTo<T>(scale, normShape, "Scale");
    std::vector<T> b = bias.isAbsent() ? std::vector<T>() : expandTo<T>(bias, normShape, "B");
    const T *in = x.data<T>();
    T *out = y.mutableData<T>();
    float *meanData = meanOut.mutableData<float>(), *invData = invStdOut.mutableData<float>();
    ctx.pool.parallelFor(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
                         [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        RunStats st = computeRunStats(in + r * n, n);
        double invStd = 1.0 / std::sqrt(st.variance + epsilon);
        normalizeRun(in + r * n, out + r * n, n, st.mean, invStd, s.data(), 1,
                     b.empty() ? nullptr : b.data(), 1);
        meanData[r] = static_cast<float>(st.mean);
        invData[r] = static_cast<float>(invStd);
      }
    });
  });
  outputs.push_back(std::move(y));
  if (ctx.numOutputs > 1)
    outputs.push_back(std::move(meanOut));
  if (ctx.numOutputs > 2)
    outputs.push_back(std::move(invStdOut));
}

/// Instance and group normalization: runs are (n, group) over channelsPerGroup
/// channels of `spatial` elements each.
template <typename T>
void normalizeGroups(const T *in, T *out, int64_t batch, int64_t channels, int64_t groups,
                     int64_t spatial, double epsilon, const std::vector<T> &scale,
                     const std::vector<T> &bias, bool perChannel, ThreadPool &pool) {
  const int64_t perGroup = channels / groups;
  const int64_t runLength = perGroup * spatial;
  pool.parallelFor(batch * groups, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(runLength, 1)),
                   [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t g = r % groups;
      const T *x = in + r * runLength;
      T *y = out + r * runLength;
      RunStats st = computeRunStats(x, runLength);
      double invStd = 1.0 / std::sqrt(st.variance + epsilon);
      for (int64_t c = 0; c < perGroup; ++c) {
        int64_t param = perChannel ? g * perGroup + c : g;
        normalizeRun(x + c * spatial, y + c * spatial, spatial, st.mean, invStd,
                     &scale[param], 0, &bias[param], 0);
      }
    }
  });
}

template <typename T> std::vector<T> valuesOf(const Tensor &t) {
  std::vector<T> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<T>(t.getAsDouble(static_cast<int64_t>(i)));
  return out;
}

void instanceNormalizationKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "InstanceNormalization");
  const Tensor &x = inputs[0], &scale = inputs[1], &bias = inputs[2];
  DS_CHECK(x.rank() >= 2, "input must have rank >= 2 (N x C x ...), got " +
                              shapeToString(x.shape()));
  const int64_t channels = x.dim(1);
  DS_CHECK(scale.numel() == channels && bias.numel() == channels,
           "scale and B must have " + std::to_string(channels) + " elements (one per channel)");
  const double epsilon = ctx.attrs.getFloat("epsilon", 1e-5f);
  const int64_t spatial = x.numel() / std::max<int64_t>(1, x.dim(0) * channels);
  Tensor y(x.dtype(), x.shape());
  if (x.numel() > 0)
    dispatchDType<float, double>(x.dtype(), "InstanceNormalization", [&](auto tag) {
      using T = typename decltype(tag)::type;
      normalizeGroups<T>(x.data<T>(), y.mutableData<T>(), x.dim(0), channels, channels,
                         spatial, epsilon, valuesOf<T>(scale), valuesOf<T>(bias), true,
                         ctx.pool);
    });
  outputs.push_back(std::move(y));
}

void groupNormalizationKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                              std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 3, 3, "GroupNormalization");
  const Tensor &x = inputs[0], &scale = inputs[1], &bias = inputs[2];
  DS_CHECK(x.rank() >= 2, "input must have rank >= 2 (N x C x ...), got " +
                              shapeToString(x.shape()));
  const int64_t channels = x.dim(1);
  const int64_t groups = ctx.attrs.requireInt("num_groups");
  DS_CHECK(groups > 0 && channels % groups == 0,
           "num_groups (" + std::to_string(groups) + ") must divide the channel count (" +
               std::to_string(channels) + ")");
  // Opset 21 has one scale/bias per channel, opset 18 one per group.
  const bool perChannel = scale.numel() == channels;
  DS_CHECK((perChannel || scale.numel() == groups) && bias.numel() == scale.numel(),
           "scale and bias must both have " + std::to_string(channels) +
               " (per channel) or " + std::to_string(groups) + " (per group) elements");
  const double epsilon = ctx.attrs.getFloat("epsilon", 1e-5f);
  const int64_t spatial = x.numel() / std::max<int64_t>(1, x.dim(0) * channels);
  Tensor y(x.dtype(), x.shape());
  if (x.numel() > 0)
    dispatchDType<float, double>(x.dtype(), "GroupNormalization", [&](auto tag) {
      using T = typename decltype(tag)::type;
      normalizeGroups<T>(x.data<T>(), y.mutableData<T>(), x.dim(0), channels, groups,
                         spatial, epsilon, valuesOf<T>(scale), valuesOf<T>(bias), perChannel,
                         ctx.pool);
    });
  outputs.push_back(std::move(y));
}

void meanVarianceNormalizationKernel(const KernelContext &ctx,
                                     const std::vector<Tensor> &inputs,
                                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "MeanVarianceNormalization");
  const Tensor &x = inputs[0];
  std::vector<int64_t> axes = ctx.attrs.getInts("axes", {0, 2, 3});
  std::vector<bool> reduced(static_cast<size_t>(x.rank()), false);
  for (int64_t axis : axes) {
    int64_t a = normalizeAxis(axis, x.rank());
    DS_CHECK(!reduced[a], "axis " + std::to_string(axis) + " is listed twice");
    reduced[a] = true;
  }
  // Offsets of the kept positions and of the normalized positions within each.
  std::vector<int64_t> strides = rowMajorStrides(x.shape());
  std::vector<int64_t> keptOffsets{0}, runOffsets{0};
  for (int64_t d = 0; d < x.rank(); ++d) {
    std::vector<int64_t> &list = reduced[d] ? runOffsets : keptOffsets;
    std::vector<int64_t> next;
    for (int64_t base : list)
      for (int64_t k = 0; k < x.dim(d); ++k)
        next.push_back(base + k * strides[d]);
    list = std::move(next);
  }
  Tensor y(x.dtype(), x.shape());
  if (x.numel() > 0)
    dispatchDType<float, double>(x.dtype(), "MeanVarianceNormalization", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T *in = x.data<T>();
      T *out = y.mutableData<T>();
      const int64_t n = static_cast<int64_t>(runOffsets.size());
      ctx.pool.parallelFor(static_cast<int64_t>(keptOffsets.size()),
                           std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(n, 1)),
                           [&](int64_t k0, int64_t k1) {
        std::vector<T> run(static_cast<size_t>(n));
        for (int64_t k = k0; k < k1; ++k) {
          const int64_t base = keptOffsets[k];
          for (int64_t i = 0; i < n; ++i)
            run[i] = in[base + runOffsets[i]];
          RunStats st = computeRunStats(run.data(), n);
          const double denominator = std::sqrt(st.variance) + 1e-9;
          for (int64_t i = 0; i < n; ++i)
            out[base + runOffsets[i]] =
                static_cast<T>((static_cast<double>(run[i]) - st.mean) / denominator);
        }
      });
    });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("layer_normalization", layerNormalizationKernel);
DS_REGISTER_KERNEL("instance_normalization", instanceNormalizationKernel);
DS_REGISTER_KERNEL("group_normalization", groupNormalizationKernel);
DS_REGISTER_KERNEL("mean_variance_normalization", meanVarianceNormalizationKernel);

} // namespace ds::rt
