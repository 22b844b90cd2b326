//===- GemmPackCache.h - packed constant B operands, kept per node ---------===//
//
// matmul and gemm nodes usually multiply by a constant weight matrix; packing
// it on every call cost ~10% of a small LM. The pack is kept in the node's
// KernelContext::state and reused while B is the very same storage.
//
// A node cannot tell a constant from an activation, so the cache keys on
// storage identity: it holds a reference to B's storage (so the buffer cannot
// be freed and recycled for a different value while the key is kept), packs
// only on the second call that sees the same storage (an activation gets fresh
// storage every run and is never packed twice), and ignores caller memory
// borrowed without a holder (it can change behind the tensor's back).
//===----------------------------------------------------------------------===//
#pragma once

#include "Gemm.h"

#include "ds/runtime/Kernel.h"

namespace ds::rt::gemm_detail {

/// The cached pack of op(B) for this node, or nullptr when the caller should
/// run the plain gemmF32 (first sight of this storage, no state, or unheld B).
/// `b` is the tensor whose storage starts at or contains `data`.
const GemmPackedB *cachedPackedB(const KernelContext &ctx, const Tensor &b,
                                 const float *data, bool transB, int64_t K, int64_t N,
                                 int64_t ldb);

} // namespace ds::rt::gemm_detail
