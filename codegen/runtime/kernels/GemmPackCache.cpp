//===- GemmPackCache.cpp - packed constant B operands, kept per node -------===//
#include "GemmPackCache.h"
#include "NodeCache.h"

namespace ds::rt::gemm_detail {
namespace {

/// What a pack depends on besides B's storage.
struct PackKey {
  const float *data = nullptr;
  bool transB = false;
  int64_t K = 0, N = 0, ldb = 0;
  bool operator==(const PackKey &) const = default;
};

} // namespace

const GemmPackedB *cachedPackedB(const KernelContext &ctx, const Tensor &b,
                                 const float *data, bool transB, int64_t K, int64_t N,
                                 int64_t ldb) {
  return cachedFromConstant<GemmPackedB>(ctx, b, PackKey{data, transB, K, N, ldb}, [&] {
    return gemmPackB(transB, K, N, data, ldb, &ctx.pool);
  });
}

} // namespace ds::rt::gemm_detail
