//===- ConvCommon.h - sliding-window geometry shared by conv and pool kernels ===//
//
// Conv, ConvTranspose, ConvInteger and the pooling kernels all read the same
// ONNX attributes (kernel_shape, strides, dilations, pads, auto_pad) and derive
// output sizes from them. This header turns those attributes into one
// WindowGeometry, always padded to three spatial dims (leading dims of size 1,
// kernel 1, stride 1), so each kernel has a single 3-D loop nest for 1-D, 2-D
// and 3-D inputs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <array>
#include <string>

namespace ds::rt::conv {

/// The most spatial dims a window op supports (ONNX's tests use 1-D to 3-D).
constexpr int64_t kMaxSpatialRank = 3;

using Dims3 = std::array<int64_t, 3>;

/// Spatial geometry of one sliding-window op, right-aligned into 3 dims.
struct WindowGeometry {
  int64_t rank = 0; // the real number of spatial dims (1..3)
  Dims3 in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
  Dims3 stride{1, 1, 1}, dilation{1, 1, 1}, padBegin{0, 0, 0}, padEnd{0, 0, 0};

  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kernelSize() const { return kernel[0] * kernel[1] * kernel[2]; }
  /// Extent of the dilated kernel along padded dim d.
  int64_t extent(int d) const { return (kernel[d] - 1) * dilation[d] + 1; }
  /// The real spatial output dims (rank of them), for building output shapes.
  Shape outShape() const { return Shape(out.begin() + (3 - rank), out.end()); }
};

/// Which rule turns input size into output size.
enum class OutputRounding { Floor, Ceil };

/// Reads strides/dilations/pads/auto_pad for a forward window op (conv, pools)
/// whose input spatial dims are `inSpatial` and whose kernel is `kernel`, and
/// computes the output size. `rounding` is Ceil for pools with ceil_mode=1.
/// Throws rt::Error on malformed attributes or an empty output.
WindowGeometry forwardGeometry(const AttrMap &attrs, const Shape &inSpatial,
                               const std::vector<int64_t> &kernel,
                               OutputRounding rounding);

/// Everything a forward conv needs to know about its operands (float Conv and
/// quant_conv alike).
struct ConvProblem {
  int64_t batch = 0, inChannels = 0, outChannels = 0, groups = 1;
  int64_t inPerGroup = 0, outPerGroup = 0;
  WindowGeometry geom;
};

/// Reads group, kernel_shape, strides, pads and dilations against the shapes of
/// x [N, C, ...] and w [M, C / group, ...] (a compiler deciding a layout has
/// the shapes without data); errors name the operands `xName` and `wName`.
ConvProblem readConvProblem(const AttrMap &attrs, const Shape &x, const Shape &w,
                            const char *xName, const char *wName);

/// [N, M, output spatial dims...].
Shape convOutputShape(const ConvProblem &p);

/// Reads an int-list attribute that must have `count` entries, or returns
/// `count` copies of `dflt` when absent.
std::vector<int64_t> readDimsAttr(const AttrMap &attrs, const char *name,
                                  size_t count, int64_t dflt);

/// Checks that `x` is [N, C, spatial...] with 1..3 spatial dims.
void checkWindowInput(const Shape &x, const char *what);

/// Copies the real dims of `values` (size rank) right-aligned into a Dims3 whose
/// leading entries are `fill`.
Dims3 toDims3(const std::vector<int64_t> &values, int64_t fill);

} // namespace ds::rt::conv
