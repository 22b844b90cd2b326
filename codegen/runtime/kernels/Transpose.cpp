//===- Transpose.cpp - Transpose with merged dims and blocked tiles -------===//
//
// The permutation is first simplified (size-1 dims dropped, dims that stay
// adjacent merged), so e.g. NCHW->NHWC becomes a batched 2-D transpose. When the
// innermost dim stays innermost the copy is runs of memcpy; otherwise the two dims
// that are contiguous on either side are walked in square tiles so both the reads
// and the writes stay within a few cache lines.
//===----------------------------------------------------------------------===//
#include "MovementCommon.h"
#include "TargetClones.h"
#include "Transpose16.h"

namespace ds::rt {
namespace {
using namespace movement;

/// Tile edge in elements: 64 bytes wide rows are one cache line.
template <typename T> constexpr int64_t tileEdge() {
  return sizeof(T) >= 4 ? 16 : 32;
}

/// One full 16 x 16 tile of 4-byte elements through registers: element (ib, ia)
/// is in[ib + ia * sa] and goes to out[ib * db + ia]. Sixteen vector loads, the
/// register transpose and sixteen stores instead of 256 scalar copies (an LM
/// decode step transposes its whole K cache per layer this way).
__attribute__((target("avx512f"))) void transposeTile16(const uint32_t *in, int64_t sa,
                                                        uint32_t *out, int64_t db) {
  __m512 rows[16];
  for (int ia = 0; ia < 16; ++ia)
    rows[ia] = _mm512_loadu_ps(in + ia * sa);
  transpose16(rows);
  for (int ib = 0; ib < 16; ++ib)
    _mm512_storeu_ps(out + ib * db, rows[ib]);
}

/// out[row-major over outDims] with the last out dim `a` (source stride sa) and the
/// out dim `b` whose source stride is 1. Other dims are walked by `outer`.
template <typename T>
void tiledTranspose(ThreadPool &pool, const Shape &outDims,
                    const std::vector<int64_t> &srcStrides, size_t b, const T *src, T *dst) {
  size_t rank = outDims.size(), a = rank - 1;
  std::vector<int64_t> dstStrides = rowMajorStrides(outDims);
  Shape outerDims;
  std::vector<int64_t> outerSrc, outerDst;
  for (size_t i = 0; i < rank; ++i)
    if (i != a && i != b) {
      outerDims.push_back(outDims[i]);
      outerSrc.push_back(srcStrides[i]);
      outerDst.push_back(dstStrides[i]);
    }
  int64_t na = outDims[a], nb = outDims[b], sa = srcStrides[a], db = dstStrides[b];
  constexpr int64_t kTile = tileEdge<T>();
  int64_t tilesB = (nb + kTile - 1) / kTile;
  int64_t outer = product(outerDims, 0, outerDims.size());
  int64_t total = outer * na * nb;
  const bool avx512 = cpuHasAvx512f();
  parallelRange(pool, outer * tilesB, total, [&](int64_t begin, int64_t end) {
    StridedWalker srcWalk(outerDims, outerSrc, 0), dstWalk(outerDims, outerDst, 0);
    int64_t current = -1;
    for (int64_t job = begin; job < end; ++job) {
      int64_t o = job / tilesB, tb = job % tilesB;
      if (o != current) {
        srcWalk.seek(o);
        dstWalk.seek(o);
        current = o;
      }
      const T *in = src + srcWalk.offset();
      T *out = dst + dstWalk.offset();
      int64_t b0 = tb * kTile, b1 = std::min(nb, b0 + kTile);
      for (int64_t a0 = 0; a0 < na; a0 += kTile) {
        int64_t a1 = std::min(na, a0 + kTile);
        if constexpr (sizeof(T) == 4) {
          if (avx512 && b1 - b0 == 16 && a1 - a0 == 16) {
            transposeTile16(reinterpret_cast<const uint32_t *>(in + b0 + a0 * sa), sa,
                            reinterpret_cast<uint32_t *>(out + b0 * db + a0), db);
            continue;
          }
        }
        for (int64_t ib = b0; ib < b1; ++ib) {
          const T *inRow = in + ib;
          T *outRow = out + ib * db;
          for (int64_t ia = a0; ia < a1; ++ia)
            outRow[ia] = inRow[ia * sa];
        }
      }
    }
  });
}

void transposeKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                     std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 1, 1, "Transpose");
  const Tensor &data = inputs[0];
  checkMovableDType(data.dtype(), "Transpose");
  int64_t rank = data.rank();
  std::vector<int64_t> perm = ctx.attrs.getInts("perm");
  if (perm.empty() && !ctx.attrs.has("perm"))
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  DS_CHECK(static_cast<int64_t>(perm.size()) == rank,
           "perm has " + std::to_string(perm.size()) + " entries for a rank-" +
               std::to_string(rank) + " input");
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t &p : perm) {
    DS_CHECK(p >= -rank && p < rank, "perm entry " + std::to_string(p) + " is out of range");
    // ONNX does not allow negative entries; accept them like numpy.
    if (p < 0)
      p += rank;
    DS_CHECK(!seen[static_cast<size_t>(p)], "perm is not a permutation");
    seen[static_cast<size_t>(p)] = true;
  }

  Shape outShape(static_cast<size_t>(rank));
  std::vector<int64_t> inStrides = rowMajorStrides(data.shape()), srcStrides(outShape.size());
  for (size_t i = 0; i < outShape.size(); ++i) {
    outShape[i] = data.shape()[static_cast<size_t>(perm[i])];
    srcStrides[i] = inStrides[static_cast<size_t>(perm[i])];
  }
  Tensor out = Tensor::uninitialized(data.dtype(), outShape); // a permutation: all written
  if (out.numel() == 0) {
    outputs.push_back(std::move(out));
    return;
  }
  Shape dims = outShape;
  simplifyStridedView(dims, srcStrides);
  dispatchBySize(data.dtype(), "Transpose", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *src = static_cast<const T *>(data.rawData());
    T *dst = static_cast<T *>(out.mutableRawData());
    // Unit source stride on the last out dim (or nothing left): runs of memcpy.
    if (dims.empty() || srcStrides.back() == 1) {
      stridedCopy<T>(ctx.pool, dims, srcStrides, 0, src, dst);
      return;
    }
    size_t b = 0;
    while (srcStrides[b] != 1)
      ++b;
    tiledTranspose<T>(ctx.pool, dims, srcStrides, b, src, dst);
  });
  outputs.push_back(std::move(out));
}

} // namespace

DS_REGISTER_KERNEL("transpose", transposeKernel);

} // namespace ds::rt
