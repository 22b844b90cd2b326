//===- ConvTranspose.cpp - ConvTranspose kernel ----------------------------===//
//
// ds.conv_transpose (float, double), 1-D to 3-D, with groups, strides,
// dilations, pads, output_padding, output_shape and auto_pad.
//
// Strategy: per (image, group), col = W_g^T * X_g (a GEMM giving, for every
// output channel and kernel tap, the contribution of every input position),
// then col2im scatters col into the output planes. The GEMM is split over row
// blocks of col and col2im over output channels, so every output element is
// summed by one thread in a fixed order (bit-identical for any thread count).
//
// Output size and pads follow ONNX (and its reference implementation):
//   out = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - pads;
// with output_shape (or SAME_* auto_pad, whose output is in * stride) the pads
// are derived from the total padding, the odd one at the end for SAME_UPPER and
// at the beginning otherwise.
//
//===----------------------------------------------------------------------===//
#include "ConvCommon.h"
#include "ConvGemm.h"

#include "ds/runtime/Dispatch.h"

#include <algorithm>

namespace ds::rt {
namespace {
using namespace conv;

struct TransposeProblem {
  int64_t batch = 0, inChannels = 0, outChannels = 0, groups = 1;
  int64_t inPerGroup = 0, outPerGroup = 0;
  /// `in` is X's spatial size, `out` Y's; the window maps input to output.
  WindowGeometry geom;
};

/// Python-style floor division (total padding may be negative).
int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

TransposeProblem readProblem(const AttrMap &attrs, const Tensor &x, const Tensor &w) {
  checkWindowInput(x.shape(), "X");
  DS_CHECK(w.rank() == x.rank(), "W must have the rank of X (" + std::to_string(x.rank()) +
                                     "), got " + shapeToString(w.shape()));
  TransposeProblem p;
  p.batch = x.dim(0);
  p.inChannels = x.dim(1);
  p.groups = attrs.getInt("group", 1);
  DS_CHECK(p.groups >= 1, "group must be positive");
  DS_CHECK(w.dim(0) == p.inChannels, "W has " + std::to_string(w.dim(0)) +
                                         " input channels, X has " +
                                         std::to_string(p.inChannels));
  DS_CHECK(p.inChannels % p.groups == 0, "input channels " + std::to_string(p.inChannels) +
                                             " are not divisible by group " +
                                             std::to_string(p.groups));
  p.inPerGroup = p.inChannels / p.groups;
  p.outPerGroup = w.dim(1);
  p.outChannels = p.outPerGroup * p.groups;

  const size_t rank = static_cast<size_t>(x.rank() - 2);
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (attrs.has("kernel_shape"))
    DS_CHECK(attrs.getInts("kernel_shape") == kernel,
             "kernel_shape does not match W's spatial dims " + shapeToString(kernel));
  std::vector<int64_t> strides = readDimsAttr(attrs, "strides", rank, 1);
  std::vector<int64_t> dilations = readDimsAttr(attrs, "dilations", rank, 1);
  std::vector<int64_t> outputPadding = readDimsAttr(attrs, "output_padding", rank, 0);
  std::string autoPad = attrs.getString("auto_pad", "NOTSET");
  DS_CHECK(autoPad == "NOTSET" || autoPad == "VALID" || autoPad == "SAME_UPPER" ||
               autoPad == "SAME_LOWER",
           "auto_pad '" + autoPad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  const bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  std::vector<int64_t> pads = autoPad == "NOTSET" ? readDimsAttr(attrs, "pads", 2 * rank, 0)
                                                  : std::vector<int64_t>(2 * rank, 0);
  std::vector<int64_t> outputShape;
  if (attrs.has("output_shape")) {
    outputShape = attrs.getInts("output_shape");
    // Some exporters include N and C; the spatial dims are the last ones.
    DS_CHECK(outputShape.size() >= rank,
             "output_shape has fewer entries than spatial dims");
    outputShape.erase(outputShape.begin(), outputShape.end() - rank);
  }

  WindowGeometry &g = p.geom;
  g.rank = static_cast<int64_t>(rank);
  g.in = toDims3(std::vector<int64_t>(x.shape().begin() + 2, x.shape().end()), 1);
  g.kernel = toDims3(kernel, 1);
  g.stride = toDims3(strides, 1);
  g.dilation = toDims3(dilations, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int d = static_cast<int>(3 - rank + i);
    DS_CHECK(kernel[i] >= 1 && strides[i] >= 1 && dilations[i] >= 1,
             "kernel dims, strides and dilations must be positive");
    DS_CHECK(outputPadding[i] >= 0, "output_padding must be non-negative");
    const int64_t full = strides[i] * (g.in[d] - 1) + outputPadding[i] + g.extent(d);
    if (!outputShape.empty() || same) {
      const int64_t out = outputShape.empty() ? g.in[d] * strides[i] : outputShape[i];
      const int64_t total = full - out;
      const int64_t half = floorDiv(total, 2);
      g.padBegin[d] = autoPad == "SAME_UPPER" ? half : total - half;
      g.padEnd[d] = total - g.padBegin[d];
      g.out[d] = out;
    } else {
      DS_CHECK(pads[i] >= 0 && pads[rank + i] >= 0, "pads must be non-negative");
      g.padBegin[d] = pads[i];
      g.padEnd[d] = pads[rank + i];
      g.out[d] = full - pads[i] - pads[rank + i];
    }
    DS_CHECK(g.out[d] >= 1, "output would be empty");
  }
  return p;
}

/// Adds col (rows: taps of one output channel, columns: input positions) into
/// that channel's output plane y.
template <typename T>
void col2imChannel(const WindowGeometry &g, const T *col, T *y) {
  const int64_t inP = g.inSize();
  const int64_t sw = g.stride[2];
  for (int64_t kz = 0; kz < g.kernel[0]; ++kz)
    for (int64_t ky = 0; ky < g.kernel[1]; ++ky)
      for (int64_t kx = 0; kx < g.kernel[2]; ++kx, col += inP) {
        const int64_t offW = kx * g.dilation[2] - g.padBegin[2];
        // Input columns iw with 0 <= iw * sw + offW < outW.
        int64_t lo = offW >= 0 ? 0 : (-offW + sw - 1) / sw;
        int64_t hi = g.out[2] - offW <= 0 ? 0 : (g.out[2] - offW + sw - 1) / sw;
        hi = std::min(hi, g.in[2]);
        if (hi <= lo)
          continue;
        for (int64_t id = 0; id < g.in[0]; ++id) {
          const int64_t od = id * g.stride[0] - g.padBegin[0] + kz * g.dilation[0];
          if (od < 0 || od >= g.out[0])
            continue;
          for (int64_t ih = 0; ih < g.in[1]; ++ih) {
            const int64_t oh = ih * g.stride[1] - g.padBegin[1] + ky * g.dilation[1];
            if (oh < 0 || oh >= g.out[1])
              continue;
            const T *src = col + (id * g.in[1] + ih) * g.in[2];
            T *dst = y + (od * g.out[1] + oh) * g.out[2] + offW;
            if (sw == 1)
              for (int64_t iw = lo; iw < hi; ++iw)
                dst[iw] += src[iw];
            else
              for (int64_t iw = lo; iw < hi; ++iw)
                dst[iw * sw] += src[iw];
          }
        }
      }
}

template <typename T>
void convTranspose(ThreadPool &pool, const TransposeProblem &p, const T *x, const T *w,
                   const T *bias, T *y) {
  const WindowGeometry &g = p.geom;
  const int64_t ks = g.kernelSize(), inP = g.inSize(), outP = g.outSize();
  const int64_t rows = p.outPerGroup * ks; // rows of col
  // W_g is [Cg, Mg * ks]; the GEMM wants its transpose, built once per group.
  std::vector<T> wT(static_cast<size_t>(p.groups * rows * p.inPerGroup));
  for (int64_t grp = 0; grp < p.groups; ++grp) {
    const T *wg = w + grp * p.inPerGroup * rows;
    T *dst = wT.data() + grp * rows * p.inPerGroup;
    for (int64_t c = 0; c < p.inPerGroup; ++c)
      for (int64_t r = 0; r < rows; ++r)
        dst[r * p.inPerGroup + c] = wg[c * rows + r];
  }
  std::vector<T> col(static_cast<size_t>(rows * inP));
  for (int64_t n = 0; n < p.batch; ++n) {
    for (int64_t grp = 0; grp < p.groups; ++grp) {
      const T *xg = x + (n * p.inChannels + grp * p.inPerGroup) * inP;
      const T *wg = wT.data() + grp * rows * p.inPerGroup;
      const int64_t rowBlock = std::max<int64_t>(4, 32768 / std::max<int64_t>(1, inP * p.inPerGroup));
      pool.parallelFor(rows, rowBlock, [&](int64_t r0, int64_t r1) {
        convGemm<T>(r1 - r0, inP, p.inPerGroup, wg + r0 * p.inPerGroup, p.inPerGroup, xg, inP,
                    col.data() + r0 * inP, inP);
      });
      T *yg = y + (n * p.outChannels + grp * p.outPerGroup) * outP;
      const int64_t minChannels = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, ks * inP));
      pool.parallelFor(p.outPerGroup, minChannels, [&](int64_t m0, int64_t m1) {
        for (int64_t m = m0; m < m1; ++m) {
          T *ym = yg + m * outP;
          std::fill(ym, ym + outP, bias ? bias[grp * p.outPerGroup + m] : T(0));
          col2imChannel(g, col.data() + m * ks * inP, ym);
        }
      });
    }
  }
}

void convTransposeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                         std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 3, "ConvTranspose");
  const Tensor &x = inputs[0], &w = inputs[1];
  const Tensor &b = optionalInput(inputs, 2);
  DS_CHECK(w.dtype() == x.dtype(), "W's element type differs from X's");
  TransposeProblem p = readProblem(ctx.attrs, x, w);
  if (!b.isAbsent()) {
    DS_CHECK(b.dtype() == x.dtype(), "B's element type differs from X's");
    DS_CHECK(b.rank() == 1 && b.dim(0) == p.outChannels,
             "B must be [" + std::to_string(p.outChannels) + "], got " + shapeToString(b.shape()));
  }
  Shape shape{p.batch, p.outChannels};
  for (int64_t d : p.geom.outShape())
    shape.push_back(d);
  Tensor y(x.dtype(), shape);
  if (y.numel() != 0) {
    dispatchDType<float, double>(x.dtype(), "ConvTranspose", [&](auto tag) {
      using T = typename decltype(tag)::type;
      convTranspose<T>(ctx.pool, p, x.data<T>(), w.data<T>(),
                       b.isAbsent() ? nullptr : b.data<T>(), y.mutableData<T>());
    });
  }
  outputs.push_back(y);
}

} // namespace

DS_REGISTER_KERNEL("conv_transpose", convTransposeKernel);

} // namespace ds::rt
