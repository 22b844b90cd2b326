//===- GemmPackCache.cpp - packed constant B operands, kept per node -------===//
#include "GemmPackCache.h"

#include <memory>

namespace ds::rt::gemm_detail {
namespace {

struct PackState {
  Tensor b; // keeps the keyed storage alive
  const float *data = nullptr;
  bool transB = false;
  int64_t K = 0, N = 0, ldb = 0;
  bool packed = false;
  GemmPackedB pack;

  bool matches(const Tensor &t, const float *d, bool tb, int64_t k, int64_t n,
               int64_t ld) const {
    return b.rawData() == t.rawData() && b.byteSize() == t.byteSize() && data == d &&
           transB == tb && K == k && N == n && ldb == ld;
  }
};

} // namespace

const GemmPackedB *cachedPackedB(const KernelContext &ctx, const Tensor &b,
                                 const float *data, bool transB, int64_t K, int64_t N,
                                 int64_t ldb) {
  if (!ctx.state || !b.holdsStorage())
    return nullptr;
  if (*ctx.state) {
    auto *state = static_cast<PackState *>(ctx.state->get());
    if (state->matches(b, data, transB, K, N, ldb)) {
      if (!state->packed) {
        state->pack = gemmPackB(transB, K, N, data, ldb, &ctx.pool);
        state->packed = true;
      }
      return &state->pack;
    }
  }
  auto state = std::make_shared<PackState>();
  state->b = b;
  state->data = data;
  state->transB = transB;
  state->K = K;
  state->N = N;
  state->ldb = ldb;
  *ctx.state = std::move(state);
  return nullptr;
}

} // namespace ds::rt::gemm_detail
