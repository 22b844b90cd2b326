//===- SliceSplit.cpp - Split: cut a tensor into pieces along one axis ----===//
//
// Piece sizes come from the 'split' input (opset >= 13) or attribute (< 13), from
// 'num_outputs' (opset >= 18, last piece smaller when uneven), or else an equal
// split into ctx.numOutputs pieces. Each piece is one contiguous run per outer row.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"

namespace ds::rt {
namespace {
using namespace movement;

std::vector<int64_t> pieceSizes(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                                int64_t dim) {
  int64_t n = static_cast<int64_t>(ctx.numOutputs);
  DS_CHECK(n >= 1, "Split needs at least one output");
  const Tensor &splitInput = optionalInput(inputs, 1);
  std::vector<int64_t> sizes;
  if (!splitInput.isAbsent()) {
    DS_CHECK(splitInput.dtype() == DType::I64, "'split' input must be int64");
    sizes = splitInput.toInt64Vector();
  } else if (ctx.attrs.has("split")) {
    sizes = ctx.attrs.getInts("split");
  }
  if (!sizes.empty()) {
    DS_CHECK(static_cast<int64_t>(sizes.size()) == n,
             "'split' has " + std::to_string(sizes.size()) + " entries for " +
                 std::to_string(n) + " outputs");
    int64_t sum = 0;
    for (int64_t s : sizes) {
      DS_CHECK(s >= 0, "'split' has a negative entry");
      DS_CHECK(s <= dim - sum, "'split' entries add up to more than the axis size " +
                                   std::to_string(dim));
      sum += s;
    }
    DS_CHECK(sum == dim, "'split' sums to " + std::to_string(sum) + ", not the axis size " +
                             std::to_string(dim));
    return sizes;
  }
  if (ctx.attrs.has("num_outputs")) {
    int64_t num = ctx.attrs.getInt("num_outputs", n);
    DS_CHECK(num == n, "num_outputs is " + std::to_string(num) + " but the node has " +
                           std::to_string(n) + " outputs");
    int64_t chunk = (dim + n - 1) / n, last = dim - chunk * (n - 1);
    DS_CHECK(last >= 0, "cannot split an axis of size " + std::to_string(dim) + " into " +
                            std::to_string(n) + " pieces of " + std::to_string(chunk));
    sizes.assign(static_cast<size_t>(n), chunk);
    sizes.back() = last;
    return sizes;
  }
  DS_CHECK(dim % n == 0, "axis of size " + std::to_string(dim) +
                             " does not split evenly into " + std::to_string(n) + " outputs");
  return std::vector<int64_t>(static_cast<size_t>(n), dim / n);
}

void splitKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                 std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 2, "Split");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Split");
  DS_CHECK(data.rank() >= 1, "Split input must have rank >= 1");
  int64_t axis = normalizeAxis(ctx.attrs.getInt("axis", 0), data.rank());
  std::vector<int64_t> sizes = pieceSizes(ctx, inputs, data.dim(axis));
  const Shape &s = data.shape();
  int64_t outer = product(s, 0, static_cast<size_t>(axis));
  int64_t inner = product(s, static_cast<size_t>(axis) + 1, s.size());
  int64_t elem = static_cast<int64_t>(dtypeSize(data.dtype()));
  int64_t inRowBytes = data.dim(axis) * inner * elem;
  const char *src = static_cast<const char *>(data.rawData());
  int64_t offset = 0;
  for (int64_t size : sizes) {
    Shape pieceShape = s;
    pieceShape[static_cast<size_t>(axis)] = size;
    Tensor piece(data.dtype(), pieceShape);
    int64_t rowBytes = size * inner * elem;
    char *dst = static_cast<char *>(piece.mutableRawData());
    if (rowBytes)
      parallelRange(ctx.pool, outer, piece.numel(), [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o)
          std::memcpy(dst + o * rowBytes, src + o * inRowBytes + offset,
                      static_cast<size_t>(rowBytes));
      });
    offset += rowBytes;
    outputs.push_back(std::move(piece));
  }
}

} // namespace

DS_REGISTER_KERNEL("split", splitKernel);

} // namespace ds::rt
