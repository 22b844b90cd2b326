//===- QuantConvPacking.h - quant_conv's GEMM weights, packed once ---------===//
//
// quant_conv multiplies per-group GEMMs (QuantGemm.h) unless a direct kernel
// fits (shallow K on AVX-512, depthwise). The GEMMs read each group's weights
// packed (QuantPackedB), K in (ky, kx, c) order where the group runs
// channels-last. The kernel packs them on first use (cached per node), or reads
// a block that ds-pack-int8-weights packed at compile time with the same
// function (`w_packed`): then it always takes the GEMM path.
//===----------------------------------------------------------------------===//
#pragma once

#include "ConvCommon.h"
#include "QuantGemm.h"

#include <memory>
#include <vector>

namespace ds::rt::quant_conv {

/// Whether quant_conv may run `p` with a direct kernel instead of GEMMs: on
/// shape alone (the AVX-512 check aside), so a compiler decides the same on
/// every machine.
bool mayRunDirect(const conv::ConvProblem &p);

/// Bytes of every group's packed weights, back to back (each group's block is
/// a multiple of 128 bytes, so each stays 64-byte aligned).
int64_t packedWeightBytes(const conv::ConvProblem &p);

/// Packs w [M, C/group, kh, kw] into dst (packedWeightBytes(p) bytes).
void packWeights(const conv::ConvProblem &p, const int8_t *w, int8_t *dst);

/// One view per group of a block in packWeights' layout, which `bytes` keeps alive.
std::vector<QuantPackedB> packedViews(const conv::ConvProblem &p,
                                      const std::shared_ptr<const int8_t> &bytes);

} // namespace ds::rt::quant_conv
