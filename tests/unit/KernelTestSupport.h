//===- KernelTestSupport.h - running one registered kernel in a gtest -----===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <random>
#include <vector>

namespace ds::rt::kernel_test {

/// The first output of kernel `name` on `inputs` with a pool of `threads`.
inline Tensor runKernel(const char *name, const std::vector<Tensor> &inputs, unsigned threads,
                        const AttrMap &attrs = {}) {
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1};
  std::vector<Tensor> out;
  findKernel(name)(ctx, inputs, out);
  return out.at(0);
}

/// float32 of `shape` drawn from N(0, stddev^2).
inline Tensor randomTensor(Shape shape, std::mt19937 &rng, float stddev) {
  std::normal_distribution<float> d(0.0f, stddev);
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = d(rng);
  return t;
}

} // namespace ds::rt::kernel_test
