//===- DepthSpace.cpp - DepthToSpace and SpaceToDepth -----------------------===//
//
// ds.depth_to_space (modes DCR, the default, and CRD) and ds.space_to_depth on
// [N, C, H, W] tensors of any element type. Both are pure permutations, so the
// kernels move elements by size (1, 2, 4 or 8 bytes) without caring about the
// type. Output rows are split over the thread pool.
//
//   DepthToSpace DCR: y[n, c, h*b+i, w*b+j] = x[n, (i*b + j) * C/b^2 + c, h, w]
//   DepthToSpace CRD: y[n, c, h*b+i, w*b+j] = x[n, c * b^2 + i*b + j, h, w]
//   SpaceToDepth:     y[n, (i*b + j) * C + c, h, w] = x[n, c, h*b+i, w*b+j]
//
//===----------------------------------------------------------------------===//
#include "ds/runtime/Kernel.h"

#include <algorithm>

namespace ds::rt {
namespace {

/// Calls fn with an unsigned integer type of the element size of `dtype`.
template <typename Fn> void dispatchBySize(DType dtype, const char *opName, Fn &&fn) {
  DS_CHECK(dtype != DType::String && dtype != DType::Undefined,
           std::string(opName) + ": element type " + dtypeName(dtype) + " is not supported");
  switch (dtypeSize(dtype)) {
  case 1:
    return fn(uint8_t{});
  case 2:
    return fn(uint16_t{});
  case 4:
    return fn(uint32_t{});
  case 8:
    return fn(uint64_t{});
  default:
    throw Error(std::string(opName) + ": element type " + dtypeName(dtype) +
                " is not supported");
  }
}

int64_t readBlockSize(const AttrMap &attrs) {
  DS_CHECK(attrs.has("blocksize"), "blocksize attribute is required");
  int64_t b = attrs.getInt("blocksize", 1);
  DS_CHECK(b >= 1, "blocksize must be positive");
  return b;
}

void depthToSpaceKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                        std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "DepthToSpace");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() == 4, "X must be [N, C, H, W], got " + shapeToString(x.shape()));
  const int64_t b = readBlockSize(ctx.attrs);
  const std::string mode = ctx.attrs.getString("mode", "DCR");
  DS_CHECK(mode == "DCR" || mode == "CRD", "mode '" + mode + "' is not DCR or CRD");
  const bool crd = mode == "CRD";
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  DS_CHECK(C % (b * b) == 0, "channels " + std::to_string(C) +
                                 " are not divisible by blocksize^2 = " + std::to_string(b * b));
  const int64_t outC = C / (b * b), outH = H * b, outW = W * b;
  Tensor y(x.dtype(), {N, outC, outH, outW});
  outputs.push_back(y);
  if (y.numel() == 0)
    return;
  dispatchBySize(x.dtype(), "DepthToSpace", [&](auto word) {
    using U = decltype(word);
    const U *src = static_cast<const U *>(x.rawData());
    U *dst = static_cast<U *>(y.mutableRawData());
    const int64_t rows = N * outC * outH;
    ctx.pool.parallelFor(rows, std::max<int64_t>(1, 32768 / outW), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t oh = r % outH, nc = r / outH;
        const int64_t c = nc % outC, n = nc / outC;
        const int64_t h = oh / b, i = oh % b;
        U *out = dst + r * outW;
        for (int64_t j = 0; j < b; ++j) {
          const int64_t ic = crd ? c * b * b + i * b + j : (i * b + j) * outC + c;
          const U *in = src + ((n * C + ic) * H + h) * W;
          for (int64_t w = 0; w < W; ++w)
            out[w * b + j] = in[w];
        }
      }
    });
  });
}

void spaceToDepthKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                        std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "SpaceToDepth");
  const Tensor &x = inputs[0];
  DS_CHECK(x.rank() == 4, "X must be [N, C, H, W], got " + shapeToString(x.shape()));
  const int64_t b = readBlockSize(ctx.attrs);
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  DS_CHECK(H % b == 0 && W % b == 0, "spatial dims " + std::to_string(H) + "x" +
                                         std::to_string(W) + " are not divisible by blocksize " +
                                         std::to_string(b));
  const int64_t outC = C * b * b, outH = H / b, outW = W / b;
  Tensor y(x.dtype(), {N, outC, outH, outW});
  outputs.push_back(y);
  if (y.numel() == 0)
    return;
  dispatchBySize(x.dtype(), "SpaceToDepth", [&](auto word) {
    using U = decltype(word);
    const U *src = static_cast<const U *>(x.rawData());
    U *dst = static_cast<U *>(y.mutableRawData());
    const int64_t rows = N * outC * outH;
    ctx.pool.parallelFor(rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, outW)),
                         [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t oh = r % outH, nc = r / outH;
        const int64_t oc = nc % outC, n = nc / outC;
        const int64_t c = oc % C, ij = oc / C, i = ij / b, j = ij % b;
        const U *in = src + ((n * C + c) * H + oh * b + i) * W + j;
        U *out = dst + r * outW;
        for (int64_t w = 0; w < outW; ++w)
          out[w] = in[w * b];
      }
    });
  });
}

} // namespace

DS_REGISTER_KERNEL("depth_to_space", depthToSpaceKernel);
DS_REGISTER_KERNEL("space_to_depth", spaceToDepthKernel);

} // namespace ds::rt
