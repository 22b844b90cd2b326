//===- Pool.cpp - MaxPool, AveragePool, LpPool and the global pools -------===//
//
// ds.max_pool (optional int64 Indices output, storage_order), ds.average_pool
// (count_include_pad), ds.lp_pool, ds.global_average_pool, ds.global_max_pool.
// Windowed pools share ConvCommon's geometry (auto_pad, pads, strides,
// dilations, ceil_mode) over 1-D to 3-D inputs.
//
// Every (image, channel) plane is independent; planes are split over the pool.
// With ceil_mode, a window may run past the padded input: those taps are
// skipped, and AveragePool with count_include_pad still divides by the full
// kernel size, as ONNX's reference implementation does.
//
//===----------------------------------------------------------------------===//
#include "ConvCommon.h"
#include "PoolMax2x2.h"

#include "ds/runtime/Dispatch.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace ds::rt {
namespace {
using namespace conv;

/// Taps [lo, hi) of a window along one dim that fall inside [minPos, maxPos):
/// tap k sits at start + k * dilation.
void tapRange(int64_t start, int64_t dilation, int64_t kernel, int64_t minPos,
              int64_t maxPos, int64_t &lo, int64_t &hi) {
  lo = start >= minPos ? 0 : (minPos - start + dilation - 1) / dilation;
  hi = start >= maxPos ? 0 : std::min(kernel, (maxPos - start + dilation - 1) / dilation);
  hi = std::max(hi, lo);
}

WindowGeometry poolGeometry(const AttrMap &attrs, const Tensor &x) {
  checkWindowInput(x.shape(), "X");
  DS_CHECK(attrs.has("kernel_shape"), "kernel_shape attribute is required");
  Shape spatial(x.shape().begin() + 2, x.shape().end());
  OutputRounding rounding =
      attrs.getInt("ceil_mode", 0) != 0 ? OutputRounding::Ceil : OutputRounding::Floor;
  return forwardGeometry(attrs, spatial, attrs.getInts("kernel_shape"), rounding);
}

Shape poolOutputShape(const Tensor &x, const WindowGeometry &g) {
  Shape shape{x.dim(0), x.dim(1)};
  for (int64_t d : g.outShape())
    shape.push_back(d);
  return shape;
}

/// Calls body(plane, od, oh, ow, range) for every output position of the planes
/// in [begin, end), where range holds the valid taps per padded dim.
struct TapWindow {
  int64_t lo[3], hi[3], start[3];
};

template <typename Body>
void forEachWindow(const WindowGeometry &g, Body &&body) {
  TapWindow win;
  int64_t o[3];
  int64_t outIndex = 0;
  for (o[0] = 0; o[0] < g.out[0]; ++o[0])
    for (o[1] = 0; o[1] < g.out[1]; ++o[1])
      for (o[2] = 0; o[2] < g.out[2]; ++o[2], ++outIndex) {
        for (int d = 0; d < 3; ++d) {
          win.start[d] = o[d] * g.stride[d] - g.padBegin[d];
          tapRange(win.start[d], g.dilation[d], g.kernel[d], 0, g.in[d], win.lo[d], win.hi[d]);
        }
        body(outIndex, win);
      }
}

template <typename Fn>
void runPlanes(ThreadPool &pool, int64_t planes, int64_t workPerPlane, const Fn &fn) {
  const int64_t minPlanes = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, workPerPlane));
  pool.parallelFor(planes, minPlanes, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane)
      fn(plane);
  });
}

/// Valid taps [lo, hi) of the window at each output position along one dim.
struct TapSpan {
  int64_t start, lo, hi;
};

std::vector<TapSpan> tapSpans(const WindowGeometry &g, int d) {
  std::vector<TapSpan> spans(static_cast<size_t>(g.out[d]));
  for (int64_t o = 0; o < g.out[d]; ++o) {
    TapSpan &s = spans[o];
    s.start = o * g.stride[d] - g.padBegin[d];
    tapRange(s.start, g.dilation[d], g.kernel[d], 0, g.in[d], s.lo, s.hi);
  }
  return spans;
}

/// MaxPool values only (no Indices). The tap ranges of every output position
/// are computed once per call (no divisions per window); per output row, the
/// offsets of the taps valid for the whole row are listed once, and interior
/// columns (all x taps inside the input) fold them in a register. The fold is
/// the reference's: start from the first valid tap, replace when `v > best`.
class MaxPoolRows {
public:
  explicit MaxPoolRows(const WindowGeometry &g)
      : g_(g), zs_(tapSpans(g, 0)), ys_(tapSpans(g, 1)), xs_(tapSpans(g, 2)) {
    owLo_ = g.out[2];
    owHi_ = g.out[2];
    for (int64_t ow = 0; ow < g.out[2]; ++ow)
      if (xs_[ow].lo == 0 && xs_[ow].hi == g.kernel[2] && xs_[ow].start >= 0) {
        owLo_ = std::min(owLo_, ow);
        owHi_ = ow + 1;
      }
    if (owLo_ == g.out[2])
      owLo_ = owHi_ = 0;
  }

  template <typename T> void plane(const T *xp, T *yp) const {
    const WindowGeometry &g = g_;
    const int64_t outW = g.out[2], sx = g.stride[2], dx = g.dilation[2];
    std::vector<int64_t> &offsets = offsetScratch();
    offsets.resize(static_cast<size_t>(g.kernelSize()));
    for (int64_t od = 0; od < g.out[0]; ++od) {
      const TapSpan &z = zs_[od];
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        const TapSpan &y = ys_[oh];
        T *yrow = yp + (od * g.out[1] + oh) * outW;
        // Row offsets (relative to plane start + x0) of the valid z/y taps.
        int64_t rows = 0;
        for (int64_t kz = z.lo; kz < z.hi; ++kz)
          for (int64_t ky = y.lo; ky < y.hi; ++ky)
            offsets[rows++] = ((z.start + kz * g.dilation[0]) * g.in[1] +
                               (y.start + ky * g.dilation[1])) * g.in[2];
        auto window = [&](int64_t ow) { // border columns
          const TapSpan &x = xs_[ow];
          bool found = false;
          T best = T(0);
          for (int64_t r = 0; r < rows; ++r) {
            const T *row = xp + offsets[r] + x.start;
            for (int64_t kx = x.lo; kx < x.hi; ++kx) {
              const T v = row[kx * dx];
              if (!found || v > best) {
                best = v;
                found = true;
              }
            }
          }
          yrow[ow] = best;
        };
        const int64_t lo = rows ? owLo_ : outW, hi = rows ? owHi_ : outW;
        for (int64_t ow = 0; ow < lo; ++ow)
          window(ow);
        const int64_t kw = g.kernel[2];
        for (int64_t ow = lo; ow < hi; ++ow) {
          const T *base = xp + ow * sx - g.padBegin[2];
          T best = base[offsets[0]];
          for (int64_t r = 0; r < rows; ++r) {
            const T *row = base + offsets[r];
            for (int64_t kx = r == 0 ? 1 : 0; kx < kw; ++kx) {
              const T v = row[kx * dx];
              best = v > best ? v : best;
            }
          }
          yrow[ow] = best;
        }
        for (int64_t ow = hi; ow < outW; ++ow)
          window(ow);
      }
    }
  }

private:
  static std::vector<int64_t> &offsetScratch() {
    static thread_local std::vector<int64_t> offsets;
    return offsets;
  }
  WindowGeometry g_;
  std::vector<TapSpan> zs_, ys_, xs_;
  int64_t owLo_ = 0, owHi_ = 0; // interior output columns
};

/// MaxPool values only, for small planes: every plane shares the geometry, so
/// the flat input offsets of each output's valid taps are listed once per call
/// (CSR: taps [start[j], start[j + 1]) of output j) and a plane is one pass
/// over the table with a register fold; no per-row or per-window setup.
class MaxPoolTable {
public:
  /// Whether the table for `g` stays small (and its offsets fit int32).
  static bool applies(const WindowGeometry &g) {
    return g.outSize() * g.kernelSize() <= (int64_t{1} << 16) &&
           g.inSize() < (int64_t{1} << 31);
  }

  explicit MaxPoolTable(const WindowGeometry &g) : outP_(g.outSize()) {
    const std::vector<TapSpan> zs = tapSpans(g, 0), ys = tapSpans(g, 1), xs = tapSpans(g, 2);
    start_.reserve(static_cast<size_t>(outP_ + 1));
    start_.push_back(0);
    for (const TapSpan &z : zs)
      for (const TapSpan &y : ys)
        for (const TapSpan &x : xs) {
          for (int64_t kz = z.lo; kz < z.hi; ++kz)
            for (int64_t ky = y.lo; ky < y.hi; ++ky)
              for (int64_t kx = x.lo; kx < x.hi; ++kx)
                offsets_.push_back(static_cast<int32_t>(
                    ((z.start + kz * g.dilation[0]) * g.in[1] + y.start + ky * g.dilation[1]) *
                        g.in[2] +
                    x.start + kx * g.dilation[2]));
          start_.push_back(static_cast<int32_t>(offsets_.size()));
        }
    uniform_ = static_cast<int64_t>(offsets_.size()) == outP_ * g.kernelSize()
                   ? g.kernelSize()
                   : 0;
  }

  template <typename T> void plane(const T *xp, T *yp) const {
    switch (uniform_) { // unrolled folds for the usual 2x2 and 3x3 windows
    case 4:
      return uniformPlane<4>(xp, yp);
    case 9:
      return uniformPlane<9>(xp, yp);
    default:
      break;
    }
    const int32_t *off = offsets_.data();
    for (int64_t j = 0; j < outP_; ++j) {
      const int32_t s = start_[j], e = start_[j + 1];
      T best = s < e ? xp[off[s]] : T(0);
      for (int32_t t = s + 1; t < e; ++t) {
        const T v = xp[off[t]];
        best = v > best ? v : best;
      }
      yp[j] = best;
    }
  }

private:
  template <int Taps, typename T> void uniformPlane(const T *xp, T *yp) const {
    const int32_t *off = offsets_.data();
    for (int64_t j = 0; j < outP_; ++j, off += Taps) {
      T best = xp[off[0]];
#pragma GCC unroll 9
      for (int t = 1; t < Taps; ++t) {
        const T v = xp[off[t]];
        best = v > best ? v : best;
      }
      yp[j] = best;
    }
  }

  int64_t outP_;
  int64_t uniform_ = 0; // taps per output when every output has all of them
  std::vector<int32_t> offsets_, start_;
};

void maxPoolKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                   std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "MaxPool");
  const Tensor &x = inputs[0];
  WindowGeometry g = poolGeometry(ctx.attrs, x);
  const int64_t storageOrder = ctx.attrs.getInt("storage_order", 0);
  DS_CHECK(storageOrder == 0 || storageOrder == 1, "storage_order must be 0 or 1");
  const bool wantIndices = ctx.numOutputs >= 2;
  Shape shape = poolOutputShape(x, g);
  Tensor y = Tensor::uninitialized(x.dtype(), shape); // every window writes its output
  Tensor indices = wantIndices ? Tensor(DType::I64, shape) : Tensor();
  const int64_t planes = x.dim(0) * x.dim(1), inP = g.inSize(), outP = g.outSize();
  dispatchDType<float, double, int8_t, uint8_t, int32_t, int64_t>(
      x.dtype(), "MaxPool", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T *xd = x.data<T>();
        T *yd = y.mutableData<T>();
        int64_t *id = wantIndices ? indices.mutableData<int64_t>() : nullptr;
        if constexpr (std::is_same_v<T, float>)
          if (!id && maxPool2x2Applies(g)) {
            if (maxPool2x2FlatApplies(g)) {
              const int64_t total = planes * inP, blocks = (total + 63) / 64;
              ctx.pool.parallelFor(blocks, 256, [&](int64_t b0, int64_t b1) {
                maxPool2x2Flat(g, xd, total, b0, b1, yd);
              });
              return;
            }
            runPlanes(ctx.pool, planes, outP * 4, [&](int64_t plane) {
              maxPool2x2Plane(g, xd + plane * inP, yd + plane * outP);
            });
            return;
          }
        if (!id && MaxPoolTable::applies(g)) {
          const MaxPoolTable table(g);
          runPlanes(ctx.pool, planes, outP * g.kernelSize(), [&](int64_t plane) {
            table.plane(xd + plane * inP, yd + plane * outP);
          });
          return;
        }
        if (!id) {
          const MaxPoolRows rows(g);
          runPlanes(ctx.pool, planes, outP * g.kernelSize(), [&](int64_t plane) {
            rows.plane(xd + plane * inP, yd + plane * outP);
          });
          return;
        }
        runPlanes(ctx.pool, planes, outP * g.kernelSize(), [&](int64_t plane) {
          const T *xp = xd + plane * inP;
          T *yp = yd + plane * outP;
          int64_t *ip = id ? id + plane * outP : nullptr;
          forEachWindow(g, [&](int64_t outIndex, const TapWindow &w) {
            bool found = false;
            T best = T(0);
            int64_t bestPos[3] = {0, 0, 0};
            for (int64_t kz = w.lo[0]; kz < w.hi[0]; ++kz) {
              const int64_t pz = w.start[0] + kz * g.dilation[0];
              for (int64_t ky = w.lo[1]; ky < w.hi[1]; ++ky) {
                const int64_t py = w.start[1] + ky * g.dilation[1];
                const T *row = xp + (pz * g.in[1] + py) * g.in[2];
                for (int64_t kx = w.lo[2]; kx < w.hi[2]; ++kx) {
                  const int64_t px = w.start[2] + kx * g.dilation[2];
                  // The first maximum wins, as in ONNX's reference; NaN propagates
                  // only if it is the first tap (same as `>` in the reference).
                  if (!found || row[px] > best) {
                    best = row[px];
                    bestPos[0] = pz;
                    bestPos[1] = py;
                    bestPos[2] = px;
                    found = true;
                  }
                }
              }
            }
            yp[outIndex] = best;
            if (ip) {
              int64_t local = storageOrder == 0
                                  ? (bestPos[0] * g.in[1] + bestPos[1]) * g.in[2] + bestPos[2]
                                  : bestPos[0] + bestPos[1] * g.in[0] +
                                        bestPos[2] * g.in[0] * g.in[1];
              ip[outIndex] = found ? plane * inP + local : -1;
            }
          });
        });
      });
  outputs.push_back(y);
  if (wantIndices)
    outputs.push_back(indices);
}

/// Average or Lp pooling: both sum a function of the valid taps.
enum class SumPool { Average, Lp };

void sumPool(const KernelContext &ctx, const std::vector<Tensor> &inputs,
             std::vector<Tensor> &outputs, SumPool kind) {
  const char *name = kind == SumPool::Average ? "AveragePool" : "LpPool";
  checkInputCount(inputs, 1, 1, name);
  const Tensor &x = inputs[0];
  WindowGeometry g = poolGeometry(ctx.attrs, x);
  const bool includePad = ctx.attrs.getInt("count_include_pad", 0) != 0;
  const int64_t p = ctx.attrs.getInt("p", 2);
  DS_CHECK(kind == SumPool::Average || p >= 1, "p must be positive");
  Tensor y(x.dtype(), poolOutputShape(x, g));
  const int64_t planes = x.dim(0) * x.dim(1), inP = g.inSize(), outP = g.outSize();
  dispatchDType<float, double>(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xd = x.data<T>();
    T *yd = y.mutableData<T>();
    const T invP = T(1) / T(p);
    runPlanes(ctx.pool, planes, outP * g.kernelSize(), [&](int64_t plane) {
      const T *xp = xd + plane * inP;
      T *yp = yd + plane * outP;
      forEachWindow(g, [&](int64_t outIndex, const TapWindow &w) {
        T sum = T(0);
        for (int64_t kz = w.lo[0]; kz < w.hi[0]; ++kz) {
          const int64_t pz = w.start[0] + kz * g.dilation[0];
          for (int64_t ky = w.lo[1]; ky < w.hi[1]; ++ky) {
            const int64_t py = w.start[1] + ky * g.dilation[1];
            const T *row = xp + (pz * g.in[1] + py) * g.in[2] + w.start[2];
            if (kind == SumPool::Average) {
              for (int64_t kx = w.lo[2]; kx < w.hi[2]; ++kx)
                sum += row[kx * g.dilation[2]];
            } else if (p == 1) {
              for (int64_t kx = w.lo[2]; kx < w.hi[2]; ++kx)
                sum += std::abs(row[kx * g.dilation[2]]);
            } else if (p == 2) {
              for (int64_t kx = w.lo[2]; kx < w.hi[2]; ++kx)
                sum += row[kx * g.dilation[2]] * row[kx * g.dilation[2]];
            } else {
              for (int64_t kx = w.lo[2]; kx < w.hi[2]; ++kx)
                sum += std::pow(std::abs(row[kx * g.dilation[2]]), T(p));
            }
          }
        }
        if (kind == SumPool::Lp) {
          yp[outIndex] = p == 1 ? sum : p == 2 ? std::sqrt(sum) : std::pow(sum, invP);
          return;
        }
        // count_include_pad divides by the whole window, including taps that
        // ceil_mode pushed past the explicit padding (ONNX's reference and its
        // averagepool_*_count_include_pad_is_1_ceil_mode_is_True tests).
        int64_t count = includePad ? g.kernelSize() : 1;
        if (!includePad)
          for (int d = 0; d < 3; ++d)
            count *= w.hi[d] - w.lo[d];
        yp[outIndex] = count > 0 ? sum / T(count) : T(0);
      });
    });
  });
  outputs.push_back(y);
}

void averagePoolKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                       std::vector<Tensor> &outputs) {
  sumPool(ctx, inputs, outputs, SumPool::Average);
}

void lpPoolKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  sumPool(ctx, inputs, outputs, SumPool::Lp);
}

/// Global pools reduce all spatial dims of [N, C, D1..Dk] to 1.
enum class GlobalPool { Average, Max };

void globalPool(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                std::vector<Tensor> &outputs, GlobalPool kind) {
  const char *name = kind == GlobalPool::Average ? "GlobalAveragePool" : "GlobalMaxPool";
  checkInputCount(inputs, 1, 1, name);
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() >= 3, "X must be [N, C, D1..Dk], got " + shapeToString(x.shape()));
  Shape shape = x.shape();
  int64_t spatial = 1;
  for (int64_t i = 2; i < x.rank(); ++i) {
    spatial *= shape[i];
    shape[i] = 1;
  }
  DS_CHECK(spatial > 0, "spatial dims must not be empty");
  Tensor y(x.dtype(), shape);
  const int64_t planes = x.dim(0) * x.dim(1);
  dispatchDType<float, double>(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xd = x.data<T>();
    T *yd = y.mutableData<T>();
    runPlanes(ctx.pool, planes, spatial, [&](int64_t plane) {
      const T *xp = xd + plane * spatial;
      if (kind == GlobalPool::Max) {
        T best = xp[0];
        for (int64_t i = 1; i < spatial; ++i)
          best = xp[i] > best ? xp[i] : best;
        yd[plane] = best;
        return;
      }
      // Eight partial sums: vectorizable and a little more accurate than one.
      T partial[8] = {};
      int64_t i = 0;
      for (; i + 8 <= spatial; i += 8)
        for (int j = 0; j < 8; ++j)
          partial[j] += xp[i + j];
      T sum = T(0);
      for (; i < spatial; ++i)
        sum += xp[i];
      for (int j = 0; j < 8; ++j)
        sum += partial[j];
      yd[plane] = sum / T(spatial);
    });
  });
  outputs.push_back(y);
}

void globalAveragePoolKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                             std::vector<Tensor> &outputs) {
  globalPool(ctx, inputs, outputs, GlobalPool::Average);
}

void globalMaxPoolKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                         std::vector<Tensor> &outputs) {
  globalPool(ctx, inputs, outputs, GlobalPool::Max);
}

} // namespace

DS_REGISTER_KERNEL("max_pool", maxPoolKernel);
DS_REGISTER_KERNEL("average_pool", averagePoolKernel);
DS_REGISTER_KERNEL("lp_pool", lpPoolKernel);
DS_REGISTER_KERNEL("global_average_pool", globalAveragePoolKernel);
DS_REGISTER_KERNEL("global_max_pool", globalMaxPoolKernel);

} // namespace ds::rt
