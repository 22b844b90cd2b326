//===- ElementwiseSwiGlu.cpp - the swiglu kernel (ds.swiglu) ---------------===//
//
// y = (gate * sigmoid(gate)) * up, the SwiGLU MLP's gating that exporters spell
// as Sigmoid, Mul, Mul (ds-fuse-swiglu): one pass instead of three over the
// MLP's widest tensors. Sigmoid is ElementwiseActivation.cpp's float32 loop
// (fastSigmoid, the same clones) and the products round as the two Muls do,
// so the bits equal the unfused chain's. Per element: thread-count independent.
//
// Inputs: 0 gate, 1 up, float of one shape. Output: float, that shape.
//===----------------------------------------------------------------------===//
// See ElementwiseActivation.cpp: without this GCC keeps the selects scalar.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ElementwiseFastMath.h"
#include "ElementwiseUtil.h"
#include "TargetClones.h"

namespace ds::rt {
namespace {
using namespace elementwise;

DS_X86_CLONES void swigluRowF32(const float *gate, const float *up, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float silu = g * fastSigmoid(g);
    out[i] = silu * up[i];
  }
}

void swigluKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "swiglu");
  const Tensor &gate = inputs[0], &up = inputs[1];
  DS_CHECK(gate.dtype() == DType::F32 && up.dtype() == DType::F32 && gate.shape() == up.shape(),
           "swiglu: gate and up must be float of one shape, got " +
               shapeToString(gate.shape()) + " and " + shapeToString(up.shape()));
  Tensor y = Tensor::uninitialized(DType::F32, gate.shape()); // every element is written
  const float *g = gate.data<float>(), *u = up.data<float>();
  float *out = y.mutableData<float>();
  parallelElements(ctx.pool, gate.numel(), kTranscendental, [&](int64_t begin, int64_t end) {
    swigluRowF32(g + begin, u + begin, out + begin, end - begin);
  });
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("swiglu", swigluKernel);

} // namespace ds::rt
