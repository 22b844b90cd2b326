//===- GemmPackCache.h - packed constant B operands, kept per node ---------===//
//
// matmul and gemm nodes usually multiply by a constant weight matrix; packing
// it on every call cost ~10% of a small LM. The pack is kept in the node's
// KernelContext::state by NodeCache.h's rules (keyed on B's storage, built on
// the second call that sees it, never for unheld caller memory).
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
