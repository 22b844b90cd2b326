//===- ConvCommon.cpp - sliding-window geometry for conv and pool kernels -===//
//
// Output-size rules follow ONNX: explicit pads give floor (or ceil for pools
// with ceil_mode) of (in + pads - extent) / stride + 1; VALID is the same with
// zero pads; SAME_UPPER/SAME_LOWER give ceil(in / stride) and split the needed
// padding with the odd element at the end (UPPER) or the beginning (LOWER).
//
//===----------------------------------------------------------------------===//
#include "ConvCommon.h"

namespace ds::rt::conv {

std::vector<int64_t> readDimsAttr(const AttrMap &attrs, const char *name,
                                  size_t count, int64_t dflt) {
  if (!attrs.has(name))
    return std::vector<int64_t>(count, dflt);
  std::vector<int64_t> values = attrs.getInts(name);
  DS_CHECK(values.size() == count, std::string(name) + " has " +
                                       std::to_string(values.size()) +
                                       " entries, expected " + std::to_string(count));
  return values;
}

void checkWindowInput(const Shape &x, const char *what) {
  DS_CHECK(x.size() >= 3 && x.size() <= 2 + kMaxSpatialRank,
           std::string(what) + " must be [N, C, D1..Dk] with 1 to 3 spatial dims, got " +
               shapeToString(x));
}

ConvProblem readConvProblem(const AttrMap &attrs, const Shape &x, const Shape &w,
                            const char *xName, const char *wName) {
  checkWindowInput(x, xName);
  DS_CHECK(w.size() == x.size(), std::string(wName) + " must have the rank of " + xName + " (" +
                                     std::to_string(x.size()) + "), got " + shapeToString(w));
  ConvProblem p;
  p.batch = x[0];
  p.inChannels = x[1];
  p.outChannels = w[0];
  p.groups = attrs.getInt("group", 1);
  DS_CHECK(p.groups >= 1, "group must be positive");
  DS_CHECK(p.inChannels % p.groups == 0 && p.outChannels % p.groups == 0,
           "channels (" + std::to_string(p.inChannels) + " in, " +
               std::to_string(p.outChannels) + " out) are not divisible by group " +
               std::to_string(p.groups));
  p.inPerGroup = p.inChannels / p.groups;
  p.outPerGroup = p.outChannels / p.groups;
  DS_CHECK(w[1] == p.inPerGroup,
           std::string(wName) + " has " + std::to_string(w[1]) +
               " input channels per group, expected " + std::to_string(p.inPerGroup));
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (attrs.has("kernel_shape"))
    DS_CHECK(attrs.getInts("kernel_shape") == kernel,
             std::string("kernel_shape does not match ") + wName + "'s spatial dims " +
                 shapeToString(kernel));
  Shape spatial(x.begin() + 2, x.end());
  p.geom = forwardGeometry(attrs, spatial, kernel, OutputRounding::Floor);
  return p;
}

Shape convOutputShape(const ConvProblem &p) {
  Shape shape{p.batch, p.outChannels};
  for (int64_t d : p.geom.outShape())
    shape.push_back(d);
  return shape;
}

Dims3 toDims3(const std::vector<int64_t> &values, int64_t fill) {
  Dims3 dims{fill, fill, fill};
  size_t offset = 3 - values.size();
  for (size_t i = 0; i < values.size(); ++i)
    dims[offset + i] = values[i];
  return dims;
}

constexpr int64_t kMaxWindowAttr = int64_t(1) << 31;

WindowGeometry forwardGeometry(const AttrMap &attrs, const Shape &inSpatial,
                               const std::vector<int64_t> &kernel,
                               OutputRounding rounding) {
  const size_t rank = inSpatial.size();
  DS_CHECK(rank >= 1 && rank <= static_cast<size_t>(kMaxSpatialRank),
           "only 1 to 3 spatial dims are supported");
  DS_CHECK(kernel.size() == rank, "kernel_shape has " + std::to_string(kernel.size()) +
                                      " entries, expected " + std::to_string(rank));
  std::vector<int64_t> strides = readDimsAttr(attrs, "strides", rank, 1);
  std::vector<int64_t> dilations = readDimsAttr(attrs, "dilations", rank, 1);
  std::vector<int64_t> pads = readDimsAttr(attrs, "pads", 2 * rank, 0);
  std::string autoPad = attrs.getString("auto_pad", "NOTSET");

  WindowGeometry g;
  g.rank = static_cast<int64_t>(rank);
  g.in = toDims3(inSpatial, 1);
  g.kernel = toDims3(kernel, 1);
  g.stride = toDims3(strides, 1);
  g.dilation = toDims3(dilations, 1);
  for (size_t i = 0; i < rank; ++i) {
    DS_CHECK(kernel[i] >= 1, "kernel dims must be positive");
    DS_CHECK(strides[i] >= 1, "strides must be positive");
    DS_CHECK(dilations[i] >= 1, "dilations must be positive");
    // Bounded so that the extent and padded sizes below cannot overflow int64.
    DS_CHECK(kernel[i] <= kMaxWindowAttr && strides[i] <= kMaxWindowAttr &&
                 dilations[i] <= kMaxWindowAttr && pads[i] <= kMaxWindowAttr &&
                 pads[rank + i] <= kMaxWindowAttr,
             "kernel_shape, strides, dilations and pads must be at most 2^31");
  }

  for (size_t i = 0; i < rank; ++i) {
    int d = static_cast<int>(3 - rank + i);
    int64_t in = g.in[d], stride = g.stride[d], extent = g.extent(d);
    int64_t out = 0, padBegin = 0, padEnd = 0;
    if (autoPad == "NOTSET") {
      padBegin = pads[i];
      padEnd = pads[rank + i];
      DS_CHECK(padBegin >= 0 && padEnd >= 0, "pads must be non-negative");
      int64_t span = in + padBegin + padEnd - extent;
      DS_CHECK(span >= 0, "kernel extent " + std::to_string(extent) +
                              " is larger than the padded input " +
                              std::to_string(in + padBegin + padEnd));
      if (rounding == OutputRounding::Ceil) {
        out = (span + stride - 1) / stride + 1;
        // The last window must start inside the input or the leading padding
        // (PyTorch and ONNX Runtime drop it otherwise).
        if ((out - 1) * stride >= in + padBegin)
          --out;
      } else {
        out = span / stride + 1;
      }
    } else if (autoPad == "VALID") {
      DS_CHECK(in >= extent, "kernel extent " + std::to_string(extent) +
                                 " is larger than the input " + std::to_string(in));
      out = (in - extent) / stride + 1;
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (in + stride - 1) / stride;
      int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
      padBegin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      padEnd = total - padBegin;
    } else {
      throw Error("auto_pad '" + autoPad +
                  "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
    DS_CHECK(out >= 1, "output would be empty");
    g.out[d] = out;
    g.padBegin[d] = padBegin;
    g.padEnd[d] = padEnd;
  }
  return g;
}

} // namespace ds::rt::conv
