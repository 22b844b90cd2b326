//===- FusedActivation.h - the `activation` attribute of fused kernels -----===//
//
// quant_matmul, quant_conv and (after ds-fuse-conv-activation) conv carry the
// Relu that followed them as `activation = "relu"` and apply it to each output
// element before it is stored, instead of a separate pass over the tensor.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ds::rt {

/// true for activation "relu", false for "none" (the default); throws otherwise.
inline bool readFusedRelu(const AttrMap &attrs) {
  const std::string act = attrs.getString("activation", "none");
  DS_CHECK(act == "none" || act == "relu",
           "activation must be \"none\" or \"relu\", got \"" + act + "\"");
  return act == "relu";
}

/// The Relu kernel's rule, x < 0 ? 0 : x: NaN and -0.0 pass through unchanged.
template <typename T> inline T fusedRelu(T x) { return x < T(0) ? T(0) : x; }

#if defined(__x86_64__)
/// fusedRelu on 16 floats (the AVX-512 conv epilogues).
__attribute__((target("avx512f"), always_inline)) inline __m512 fusedReluAvx512(__m512 x) {
  const __m512 zero = _mm512_setzero_ps();
  return _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), zero);
}
#endif

} // namespace ds::rt
