//===- Resize.cpp - Resize kernel (opsets 11-21) ---------------------------===//
//
// ds.resize: modes nearest / linear / cubic on any rank, every
// coordinate_transformation_mode and nearest_mode, cubic_coeff_a,
// exclude_outside, extrapolation_value (tf_crop_and_resize with roi), scales or
// sizes, and opset 18's antialias, axes and keep_aspect_ratio_policy.
//
// ONNX defines N-D interpolation as 1-D interpolation applied axis by axis (see
// onnx/reference/ops/op_resize.py), so the kernel is separable: for each
// resized axis it precomputes, per output index, a few (source index, weight)
// taps, then runs one pass per axis. Nearest is the one-tap case. An output
// coordinate outside the crop window of tf_crop_and_resize becomes
// extrapolation_value. Axes whose size and scale are 1:1 (and not cropped) are
// the identity and skipped. Coordinates are computed in double, like the
// reference; the value arithmetic is float for float tensors.
//
// Where the reference and the spec text differ we follow the reference (the
// source of ONNX's expected test data): output size from scales is
// floor(in * scale) without the roi factor, and align_corners /
// tf_crop_and_resize use the unrounded output length in * scale.
// pytorch_half_pixel maps a length-1 output to coordinate 0 (spec, ONNX Runtime).
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"
#include "ds/runtime/ShapeHelpers.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ds::rt {
namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class Transform {
  HalfPixel,
  HalfPixelSymmetric,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfHalfPixelForNn,
  TfCropAndResize
};
enum class NearestRounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeOptions {
  Mode mode = Mode::Nearest;
  Transform transform = Transform::HalfPixel;
  NearestRounding rounding = NearestRounding::RoundPreferFloor;
  double cubicA = -0.75;
  bool excludeOutside = false;
  bool antialias = false;
  float extrapolation = 0.f;
};

ResizeOptions readOptions(const AttrMap &attrs) {
  ResizeOptions o;
  std::string mode = attrs.getString("mode", "nearest");
  if (mode == "nearest")
    o.mode = Mode::Nearest;
  else if (mode == "linear")
    o.mode = Mode::Linear;
  else if (mode == "cubic")
    o.mode = Mode::Cubic;
  else
    throw Error("mode '" + mode + "' is not one of nearest, linear, cubic");

  std::string ctm = attrs.getString("coordinate_transformation_mode", "half_pixel");
  if (ctm == "half_pixel")
    o.transform = Transform::HalfPixel;
  else if (ctm == "half_pixel_symmetric")
    o.transform = Transform::HalfPixelSymmetric;
  else if (ctm == "pytorch_half_pixel")
    o.transform = Transform::PytorchHalfPixel;
  else if (ctm == "align_corners")
    o.transform = Transform::AlignCorners;
  else if (ctm == "asymmetric")
    o.transform = Transform::Asymmetric;
  else if (ctm == "tf_half_pixel_for_nn")
    o.transform = Transform::TfHalfPixelForNn;
  else if (ctm == "tf_crop_and_resize")
    o.transform = Transform::TfCropAndResize;
  else
    throw Error("coordinate_transformation_mode '" + ctm + "' is not supported");

  std::string nearest = attrs.getString("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor")
    o.rounding = NearestRounding::RoundPreferFloor;
  else if (nearest == "round_prefer_ceil")
    o.rounding = NearestRounding::RoundPreferCeil;
  else if (nearest == "floor")
    o.rounding = NearestRounding::Floor;
  else if (nearest == "ceil")
    o.rounding = NearestRounding::Ceil;
  else
    throw Error("nearest_mode '" + nearest + "' is not supported");

  o.cubicA = attrs.getFloat("cubic_coeff_a", -0.75f);
  o.excludeOutside = attrs.getInt("exclude_outside", 0) != 0;
  o.antialias = attrs.getInt("antialias", 0) != 0;
  o.extrapolation = attrs.getFloat("extrapolation_value", 0.f);
  return o;
}

/// One resized axis: for output index j, taps [j * numTaps, (j+1) * numTaps)
/// of `index`/`weight`; extrapolate[j] means the output is extrapolation_value.
struct AxisPlan {
  int64_t axis = 0, inSize = 0, outSize = 0, numTaps = 0;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<char> extrapolate;
};

double cubicWeight(double x, double a) {
  x = std::abs(x);
  if (x <= 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

/// Input coordinate of output index j (ONNX's coordinate_transformation_mode).
double sourceCoordinate(const ResizeOptions &o, double j, double scale, int64_t inSize,
                        int64_t outSize, double roiStart, double roiEnd) {
  const double lengthResized = scale * static_cast<double>(inSize);
  const double in = static_cast<double>(inSize);
  switch (o.transform) {
  case Transform::HalfPixel:
    return (j + 0.5) / scale - 0.5;
  case Transform::HalfPixelSymmetric: {
    const double adjustment = static_cast<double>(outSize) / lengthResized;
    const double offset = in / 2 * (1 - adjustment);
    return offset + (j + 0.5) / scale - 0.5;
  }
  case Transform::PytorchHalfPixel:
    return outSize > 1 ? (j + 0.5) / scale - 0.5 : 0.0;
  case Transform::AlignCorners:
    return lengthResized == 1 ? 0.0 : j * (in - 1) / (lengthResized - 1);
  case Transform::Asymmetric:
    return j / scale;
  case Transform::TfHalfPixelForNn:
    return (j + 0.5) / scale;
  case Transform::TfCropAndResize: {
    const double x = lengthResized == 1
                         ? (roiEnd - roiStart) * (in - 1) / 2
                         : j * (roiEnd - roiStart) * (in - 1) / (lengthResized - 1);
    return x + roiStart * (in - 1);
  }
  }
  return 0.0;
}

AxisPlan planAxis(const ResizeOptions &o, int64_t axis, int64_t inSize, int64_t outSize,
                  double scale, double roiStart, double roiEnd) {
  AxisPlan plan;
  plan.axis = axis;
  plan.inSize = inSize;
  plan.outSize = outSize;
  // Taps relative to floor(x) and how many: fixed per axis.
  int64_t firstTap = 0;
  const double aaScale = std::min(scale, 1.0);
  if (o.mode == Mode::Nearest) {
    plan.numTaps = 1;
  } else if (o.mode == Mode::Linear) {
    firstTap = o.antialias ? static_cast<int64_t>(std::floor(-1 / aaScale)) + 1 : 0;
    plan.numTaps = 2 - 2 * firstTap;
  } else {
    firstTap = o.antialias ? static_cast<int64_t>(std::floor(-2 / aaScale)) + 1 : -1;
    plan.numTaps = 2 - 2 * firstTap;
  }
  DS_CHECK(plan.numTaps <= 4096, "antialias kernel is too wide for this scale");
  plan.index.resize(static_cast<size_t>(outSize * plan.numTaps));
  plan.weight.resize(plan.index.size());
  plan.extrapolate.assign(static_cast<size_t>(outSize), 0);
  std::vector<double> w(static_cast<size_t>(plan.numTaps));
  for (int64_t j = 0; j < outSize; ++j) {
    int64_t *idx = plan.index.data() + j * plan.numTaps;
    double *wt = plan.weight.data() + j * plan.numTaps;
    const double x = sourceCoordinate(o, static_cast<double>(j), scale, inSize, outSize,
                                      roiStart, roiEnd);
    if (o.transform == Transform::TfCropAndResize &&
        (x < 0 || x > static_cast<double>(inSize - 1))) {
      plan.extrapolate[j] = 1;
      std::fill(idx, idx + plan.numTaps, 0);
      std::fill(wt, wt + plan.numTaps, 0.0);
      continue;
    }
    // The reference takes the neighbours of x preferring the lower side, so an
    // integral x is treated as floor(x) - 1 with ratio 1.
    double base = std::floor(x);
    double ratio = x - base;
    if (ratio == 0) {
      base -= 1;
      ratio = 1;
    }
    const int64_t b = static_cast<int64_t>(base);
    if (o.mode == Mode::Nearest) {
      bool up = false;
      switch (o.rounding) {
      case NearestRounding::RoundPreferFloor:
        up = ratio > 0.5;
        break;
      case NearestRounding::RoundPreferCeil:
        up = ratio >= 0.5;
        break;
      case NearestRounding::Floor:
        up = ratio == 1; // an integral x is itself
        break;
      case NearestRounding::Ceil:
        up = true;
        break;
      }
      idx[0] = std::clamp<int64_t>(up ? b + 1 : b, 0, inSize - 1);
      wt[0] = 1.0;
      continue;
    }
    if (o.mode == Mode::Linear && !o.antialias) {
      w[0] = 1 - ratio;
      w[1] = ratio;
    } else if (o.mode == Mode::Cubic && !o.antialias) {
      for (int t = 0; t < 4; ++t)
        w[t] = cubicWeight(t - 1 - ratio, o.cubicA);
    } else {
      double sum = 0;
      for (int64_t t = 0; t < plan.numTaps; ++t) {
        const double arg = (firstTap + t - ratio) * aaScale;
        w[t] = o.mode == Mode::Linear ? std::clamp(1 - std::abs(arg), 0.0, 1.0)
                                      : cubicWeight(arg, o.cubicA);
        sum += w[t];
      }
      for (double &v : w)
        v /= sum;
    }
    double sum = 0;
    for (int64_t t = 0; t < plan.numTaps; ++t) {
      int64_t i = b + firstTap + t;
      if (o.excludeOutside && (i < 0 || i >= inSize))
        w[t] = 0;
      sum += w[t];
      idx[t] = std::clamp<int64_t>(i, 0, inSize - 1);
    }
    for (int64_t t = 0; t < plan.numTaps; ++t)
      wt[t] = o.excludeOutside ? (sum != 0 ? w[t] / sum : 0.0) : w[t];
  }
  return plan;
}

/// Converts an interpolated value to the output type: integers round to
/// nearest and saturate.
template <typename TOut, typename TAcc> TOut convertValue(TAcc v) {
  if constexpr (std::is_same_v<TOut, TAcc> || std::is_floating_point_v<TOut>) {
    return static_cast<TOut>(v);
  } else {
    TAcc r = std::nearbyint(v);
    r = std::clamp(r, static_cast<TAcc>(std::numeric_limits<TOut>::lowest()),
                   static_cast<TAcc>(std::numeric_limits<TOut>::max()));
    return static_cast<TOut>(r);
  }
}

/// One separable pass: in [outer, inSize, inner] -> out [outer, outSize, inner].
template <typename TIn, typename TOut, typename TAcc>
void resizePass(ThreadPool &pool, const AxisPlan &plan, int64_t outer, int64_t inner,
                const TIn *in, TOut *out, TAcc extrapolation) {
  const int64_t rows = outer * plan.outSize;
  const int64_t work = inner * plan.numTaps;
  pool.parallelFor(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, work)),
                   [&](int64_t r0, int64_t r1) {
    std::vector<TAcc> acc(static_cast<size_t>(inner));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t j = r % plan.outSize, o = r / plan.outSize;
      TOut *dst = out + r * inner;
      if (plan.extrapolate[j]) {
        std::fill(dst, dst + inner, convertValue<TOut>(extrapolation));
        continue;
      }
      const int64_t *idx = plan.index.data() + j * plan.numTaps;
      const double *wt = plan.weight.data() + j * plan.numTaps;
      const TIn *src = in + o * plan.inSize * inner;
      if (inner == 1) {
        TAcc sum = 0;
        for (int64_t t = 0; t < plan.numTaps; ++t)
          sum += static_cast<TAcc>(wt[t]) * static_cast<TAcc>(src[idx[t]]);
        dst[0] = convertValue<TOut>(sum);
        continue;
      }
      std::fill(acc.begin(), acc.end(), TAcc(0));
      for (int64_t t = 0; t < plan.numTaps; ++t) {
        const TAcc w = static_cast<TAcc>(wt[t]);
        if (w == 0 && plan.numTaps > 1)
          continue;
        const TIn *s = src + idx[t] * inner;
        for (int64_t i = 0; i < inner; ++i)
          acc[i] += w * static_cast<TAcc>(s[i]);
      }
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = convertValue<TOut>(acc[i]);
    }
  });
}

/// Runs the per-axis passes; intermediates are kept unrounded in Acc.
template <typename T, typename Acc>
void runPasses(ThreadPool &pool, const std::vector<AxisPlan> &plans, const Tensor &x,
               Tensor &y, float extrapolationValue) {
  const Acc extrapolation = static_cast<Acc>(extrapolationValue);
  const int64_t rank = x.rank();
  Shape cur = x.shape();
  std::vector<Acc> bufA, bufB;
  const Acc *curData = nullptr;
  for (size_t p = 0; p < plans.size(); ++p) {
    const AxisPlan &plan = plans[p];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < plan.axis; ++d)
      outer *= cur[d];
    for (int64_t d = plan.axis + 1; d < rank; ++d)
      inner *= cur[d];
    cur[plan.axis] = plan.outSize;
    if (p + 1 == plans.size()) {
      if (p == 0)
        resizePass<T, T, Acc>(pool, plan, outer, inner, x.data<T>(), y.mutableData<T>(),
                              extrapolation);
      else
        resizePass<Acc, T, Acc>(pool, plan, outer, inner, curData, y.mutableData<T>(),
                                extrapolation);
    } else {
      std::vector<Acc> &dst = (p % 2 == 0) ? bufA : bufB;
      dst.resize(static_cast<size_t>(shapeNumel(cur)));
      if (p == 0)
        resizePass<T, Acc, Acc>(pool, plan, outer, inner, x.data<T>(), dst.data(),
                                extrapolation);
      else
        resizePass<Acc, Acc, Acc>(pool, plan, outer, inner, curData, dst.data(),
                                  extrapolation);
      curData = dst.data();
    }
  }
}

void resizeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 4, "Resize");
  const Tensor &x = inputs[0];
  const Tensor &roiIn = optionalInput(inputs, 1), &scalesIn = optionalInput(inputs, 2),
               &sizesIn = optionalInput(inputs, 3);
  const ResizeOptions opts = readOptions(ctx.attrs);
  const int64_t rank = x.rank();
  DS_CHECK(rank >= 1, "X must have at least one dim");

  std::vector<int64_t> axes;
  if (ctx.attrs.has("axes")) {
    for (int64_t a : ctx.attrs.getInts("axes"))
      axes.push_back(normalizeAxis(a, rank));
    std::vector<int64_t> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    DS_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
             "axes must not repeat");
  } else {
    for (int64_t a = 0; a < rank; ++a)
      axes.push_back(a);
  }
  const size_t numAxes = axes.size();

  const bool hasScales = !scalesIn.isAbsent() && scalesIn.numel() > 0;
  const bool hasSizes = !sizesIn.isAbsent() && sizesIn.numel() > 0;
  DS_CHECK(hasScales != hasSizes, "exactly one of scales and sizes must be given");

  std::vector<double> scale(static_cast<size_t>(rank), 1.0);
  Shape outShape = x.shape();
  if (hasScales) {
    DS_CHECK(scalesIn.dtype() == DType::F32, "scales must be float");
    DS_CHECK(static_cast<size_t>(scalesIn.numel()) == numAxes,
             "scales has " + std::to_string(scalesIn.numel()) + " entries, expected " +
                 std::to_string(numAxes));
    for (size_t i = 0; i < numAxes; ++i) {
      const double s = scalesIn.getAsDouble(static_cast<int64_t>(i));
      DS_CHECK(s > 0 && std::isfinite(s), "scales must be positive");
      scale[axes[i]] = s;
      outShape[axes[i]] =
          static_cast<int64_t>(std::floor(s * static_cast<double>(x.dim(axes[i]))));
    }
  } else {
    DS_CHECK(sizesIn.dtype() == DType::I64, "sizes must be int64");
    DS_CHECK(static_cast<size_t>(sizesIn.numel()) == numAxes,
             "sizes has " + std::to_string(sizesIn.numel()) + " entries, expected " +
                 std::to_string(numAxes));
    std::vector<int64_t> sizes = sizesIn.toInt64Vector();
    for (size_t i = 0; i < numAxes; ++i) {
      DS_CHECK(sizes[i] >= 0, "sizes must be non-negative");
      DS_CHECK(x.dim(axes[i]) > 0 || sizes[i] == 0, "cannot resize an empty axis");
      scale[axes[i]] = x.dim(axes[i]) > 0 ? static_cast<double>(sizes[i]) /
                                                static_cast<double>(x.dim(axes[i]))
                                          : 1.0;
      outShape[axes[i]] = sizes[i];
    }
    std::string policy = ctx.attrs.getString("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch") {
      DS_CHECK(policy == "not_larger" || policy == "not_smaller",
               "keep_aspect_ratio_policy '" + policy + "' is not supported");
      double common = scale[axes[0]];
      for (int64_t a : axes)
        common = policy == "not_larger" ? std::min(common, scale[a]) : std::max(common, scale[a]);
      for (int64_t a : axes) {
        scale[a] = common;
        outShape[a] = static_cast<int64_t>(common * static_cast<double>(x.dim(a)) + 0.5);
      }
    }
  }

  // roi: [starts..., ends...] over the resized axes (or all dims), used only
  // by tf_crop_and_resize.
  std::vector<double> roiStart(static_cast<size_t>(rank), 0.0), roiEnd(static_cast<size_t>(rank), 1.0);
  if (opts.transform == Transform::TfCropAndResize) {
    DS_CHECK(!roiIn.isAbsent() && roiIn.numel() > 0, "tf_crop_and_resize needs the roi input");
    const bool perAxis = static_cast<size_t>(roiIn.numel()) == 2 * numAxes;
    DS_CHECK(perAxis || roiIn.numel() == 2 * rank,
             "roi has " + std::to_string(roiIn.numel()) + " entries, expected " +
                 std::to_string(2 * numAxes));
    if (perAxis) {
      for (size_t i = 0; i < numAxes; ++i) {
        roiStart[axes[i]] = roiIn.getAsDouble(static_cast<int64_t>(i));
        roiEnd[axes[i]] = roiIn.getAsDouble(static_cast<int64_t>(numAxes + i));
      }
    } else {
      for (int64_t d = 0; d < rank; ++d) {
        roiStart[d] = roiIn.getAsDouble(d);
        roiEnd[d] = roiIn.getAsDouble(rank + d);
      }
    }
  }

  Tensor y(x.dtype(), outShape);
  outputs.push_back(y);
  if (y.numel() == 0)
    return;

  std::vector<AxisPlan> plans;
  for (int64_t d = 0; d < rank; ++d) {
    const bool identity = outShape[d] == x.dim(d) && scale[d] == 1.0 &&
                          opts.transform != Transform::TfCropAndResize;
    if (!identity)
      plans.push_back(planAxis(opts, d, x.dim(d), outShape[d], scale[d], roiStart[d], roiEnd[d]));
  }

  dispatchDType<float, double, int8_t, uint8_t, int32_t, int64_t>(
      x.dtype(), "Resize", [&](auto tag) {
        using T = typename decltype(tag)::type;
        if (plans.empty()) {
          std::copy(x.data<T>(), x.data<T>() + x.numel(), y.mutableData<T>());
        } else if (opts.mode == Mode::Nearest) {
          // One tap of weight 1: keep values exact (int64 does not fit a float).
          runPasses<T, T>(ctx.pool, plans, x, y, opts.extrapolation);
        } else {
          using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
          runPasses<T, Acc>(ctx.pool, plans, x, y, opts.extrapolation);
        }
      });
}

} // namespace

DS_REGISTER_KERNEL("resize", resizeKernel);

} // namespace ds::rt
