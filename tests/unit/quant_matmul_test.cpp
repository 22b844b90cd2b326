// Tests of the quant_matmul kernel: against the QDQ formula evaluated with
// exact integer sums (bit equality) and against a float QDQ reference
// (DequantizeLinear(QuantizeLinear(x)) @ DequantizeLinear(w) + bias, summed in
// double); static and dynamic activation quantization, relu, bias, per-tensor
// and per-column w_scale, batched x, the packed-weight cache, weights packed
// ahead of time (w_packed), and errors.
#include "../../codegen/runtime/kernels/QuantGemm.h"
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> run(const AttrMap &attrs, const std::vector<Tensor> &inputs,
                        unsigned threads = 2, std::shared_ptr<void> *state = nullptr) {
  KernelFn fn = findKernel("quant_matmul");
  if (!fn)
    throw std::runtime_error("no quant_matmul kernel");
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, 1, state};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

Tensor randomFloats(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::F32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor randomWeights(int64_t K, int64_t N, uint32_t seed) {
  Tensor t(DType::I8, {K, N});
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-127, 127);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<int8_t>()[i] = static_cast<int8_t>(dist(rng));
  return t;
}

struct Quant {
  float scale;
  int32_t zp;
};

/// DynamicQuantizeLinear's parameters, computed naively.
Quant dynamicParams(const Tensor &x) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, x.data<float>()[i]);
    hi = std::max(hi, x.data<float>()[i]);
  }
  float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  float zp = std::nearbyint(std::clamp(-lo / scale, 0.0f, 255.0f));
  return {scale, static_cast<int32_t>(zp)};
}

int32_t quantize(float x, Quant q) {
  float v = std::nearbyint(x / q.scale) + float(q.zp);
  return static_cast<int32_t>(std::clamp(v, 0.0f, 255.0f));
}

struct Reference {
  std::vector<float> exact; // integer sums, then the kernel's float formula
  std::vector<float> qdq;   // float QDQ, summed in double
};

Reference reference(const Tensor &x, const Tensor &w, const Tensor &wScale, const Tensor *bias,
                    Quant q, bool relu) {
  const int64_t K = w.dim(0), N = w.dim(1), M = x.numel() / K;
  Reference r;
  r.exact.resize(static_cast<size_t>(M * N));
  r.qdq.resize(r.exact.size());
  const float *xs = x.data<float>();
  const int8_t *ws = w.data<int8_t>();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const float sw = wScale.data<float>()[wScale.numel() == 1 ? 0 : j];
      const float b = bias ? bias->data<float>()[j] : 0.0f;
      int64_t sum = 0;
      double fsum = 0;
      for (int64_t k = 0; k < K; ++k) {
        int32_t qx = quantize(xs[i * K + k], q) - q.zp;
        sum += int64_t(qx) * ws[k * N + j];
        fsum += double(float(qx) * q.scale) * double(float(ws[k * N + j]) * sw);
      }
      float v = float(sum) * (q.scale * sw);
      v = v + b;
      r.exact[i * N + j] = relu && v < 0 ? 0.0f : v;
      double d = fsum + b;
      r.qdq[i * N + j] = float(relu && d < 0 ? 0.0 : d);
    }
  return r;
}

void expectMatches(const Tensor &y, const Reference &r, const char *what) {
  ASSERT_EQ(y.numel(), static_cast<int64_t>(r.exact.size())) << what;
  const float *v = y.data<float>();
  EXPECT_EQ(0, std::memcmp(v, r.exact.data(), r.exact.size() * sizeof(float))) << what;
  for (size_t i = 0; i < r.qdq.size(); ++i)
    ASSERT_NEAR(v[i], r.qdq[i], 1e-4 * (1.0 + std::fabs(r.qdq[i]))) << what << " at " << i;
}

struct Case {
  Shape xShape;
  int64_t N;
  bool dynamic, perColumn, withBias, relu;
};

TEST(QuantMatMul, MatchesQdqReference) {
  const Case cases[] = {
      {{7, 19}, 13, false, true, true, false},  {{7, 19}, 13, true, true, true, false},
      {{33, 64}, 40, false, false, false, true}, {{33, 64}, 40, true, false, true, true},
      {{2, 3, 5, 29}, 35, false, true, false, false},
      {{2, 3, 5, 29}, 35, true, true, true, true},
      {{1, 1}, 1, false, false, true, false},   {{100, 300}, 70, false, true, true, true},
      {{1, 2000}, 3, true, true, false, false}};
  uint32_t seed = 1;
  for (const Case &c : cases) {
    const int64_t K = c.xShape.back();
    Tensor x = randomFloats(c.xShape, seed++, -2.0f, 3.0f);
    Tensor w = randomWeights(K, c.N, seed++);
    Tensor wScale = c.perColumn ? randomFloats({c.N}, seed++, 0.001f, 0.02f)
                                : randomFloats({}, seed++, 0.001f, 0.02f);
    Tensor bias = randomFloats({c.N}, seed++, -1.0f, 1.0f);
    AttrMap attrs;
    Quant q{0.021f, 117};
    if (c.dynamic) {
      q = dynamicParams(x);
    } else {
      attrs.set("x_scale", q.scale);
      attrs.set("x_zero_point", int64_t{q.zp});
    }
    if (c.relu)
      attrs.set("activation", std::string("relu"));
    std::vector<Tensor> inputs{x, w, wScale};
    if (c.withBias)
      inputs.push_back(bias);
    Reference ref = reference(x, w, wScale, c.withBias ? &bias : nullptr, q, c.relu);
    std::vector<Tensor> y = run(attrs, inputs);
    Shape expected = c.xShape;
    expected.back() = c.N;
    ASSERT_EQ(y[0].shape(), expected);
    std::string what = shapeToString(c.xShape) + " N=" + std::to_string(c.N);
    expectMatches(y[0], ref, what.c_str());
    // One thread gives the same bits.
    std::vector<Tensor> y1 = run(attrs, inputs, 1);
    EXPECT_EQ(0, std::memcmp(y1[0].data<float>(), y[0].data<float>(), y[0].byteSize()));
  }
}

TEST(QuantMatMul, AbsentBiasTensorAndSaturation) {
  Tensor x = randomFloats({4, 9}, 3, -50.0f, 50.0f); // saturates at x_scale 0.1
  Tensor w = randomWeights(9, 5, 4);
  Tensor wScale = randomFloats({1}, 5, 0.01f, 0.02f);
  AttrMap attrs;
  attrs.set("x_scale", 0.1f);
  attrs.set("x_zero_point", int64_t{128});
  std::vector<Tensor> y = run(attrs, {x, w, wScale, Tensor()});
  expectMatches(y[0], reference(x, w, wScale, nullptr, {0.1f, 128}, false), "absent bias");
}

TEST(QuantMatMul, CachesPackedWeightsPerNode) {
  Tensor x = randomFloats({6, 20}, 7, -1.0f, 1.0f);
  Tensor w1 = randomWeights(20, 11, 8), w2 = randomWeights(20, 11, 9);
  Tensor wScale = randomFloats({11}, 10, 0.01f, 0.02f);
  AttrMap attrs;
  attrs.set("x_scale", 0.01f);
  Quant q{0.01f, 0};
  std::shared_ptr<void> state;
  std::vector<Tensor> a = run(attrs, {x, w1, wScale}, 2, &state);
  ASSERT_TRUE(state);
  void *cached = state.get();
  std::vector<Tensor> b = run(attrs, {x, w1, wScale}, 2, &state);
  EXPECT_EQ(state.get(), cached) << "same constant weight: the cache is reused";
  EXPECT_EQ(0, std::memcmp(a[0].data<float>(), b[0].data<float>(), a[0].byteSize()));
  // A different weight tensor (other storage) must not hit the stale cache.
  std::vector<Tensor> c = run(attrs, {x, w2, wScale}, 2, &state);
  expectMatches(c[0], reference(x, w2, wScale, nullptr, q, false), "second weight");
}

void expectError(const AttrMap &attrs, const std::vector<Tensor> &inputs, const char *needle) {
  try {
    run(attrs, inputs);
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

/// w [K, N] as ds-pack-int8-weights writes it: the GEMM's packed block, 1-D int8.
Tensor prepacked(const Tensor &w) {
  const int64_t K = w.dim(0), N = w.dim(1);
  Tensor block(DType::I8, {quantPackedBBytes(K, N)});
  packQuantBInto(false, K, N, w.data<int8_t>(), std::max<int64_t>(N, 1), block.mutableData<int8_t>());
  return block;
}

TEST(QuantMatMul, PrepackedWeightsGiveTheSameBits) {
  struct PackCase {
    Shape xShape;
    int64_t N;
    const char *granularity; // "" static, "tensor" dynamic, "row" dynamic per row
  };
  const PackCase cases[] = {{{7, 19}, 13, ""},     {{33, 64}, 40, "tensor"}, {{2, 5, 29}, 35, "row"},
                            {{100, 300}, 70, ""},  {{1, 128}, 96, "row"},    {{3, 4}, 0, ""}};
  uint32_t seed = 100;
  for (const PackCase &c : cases) {
    const int64_t K = c.xShape.back();
    Tensor x = randomFloats(c.xShape, seed++, -2.0f, 3.0f);
    Tensor w = randomWeights(K, c.N, seed++);
    Tensor wScale = randomFloats({c.N}, seed++, 0.001f, 0.02f);
    Tensor bias = randomFloats({c.N}, seed++, -1.0f, 1.0f);
    AttrMap attrs;
    if (std::string(c.granularity).empty()) {
      attrs.set("x_scale", 0.021f);
      attrs.set("x_zero_point", int64_t{117});
    } else {
      attrs.set("x_granularity", std::string(c.granularity));
    }
    std::vector<Tensor> plain = run(attrs, {x, w, wScale, bias});
    AttrMap packedAttrs = attrs;
    packedAttrs.set("w_packed", std::vector<int64_t>{K, c.N});
    std::shared_ptr<void> state;
    std::vector<Tensor> packed = run(packedAttrs, {x, prepacked(w), wScale, bias}, 2, &state);
    ASSERT_EQ(packed[0].shape(), plain[0].shape());
    EXPECT_EQ(0, std::memcmp(packed[0].rawData(), plain[0].rawData(), plain[0].byteSize()))
        << shapeToString(c.xShape) << " N=" << c.N << " " << c.granularity;
    EXPECT_FALSE(state) << "weights packed ahead of time are read in place, not cached";
  }
}

TEST(QuantMatMul, PrepackedWeightErrors) {
  Tensor x = randomFloats({3, 8}, 1, -1, 1), w = randomWeights(8, 4, 2);
  Tensor s = randomFloats({4}, 3, 0.01f, 0.02f);
  AttrMap attrs;
  attrs.set("w_packed", std::vector<int64_t>{8, 4});
  expectError(attrs, {x, Tensor(DType::I8, {100}), s}, "packed w for [8, 4] must be 384 bytes");
  expectError(attrs, {randomFloats({3, 7}, 1, -1, 1), prepacked(w), s}, "K = 7");
  AttrMap wrongRank;
  wrongRank.set("w_packed", std::vector<int64_t>{8});
  expectError(wrongRank, {x, prepacked(w), s}, "w_packed must be [K, N]");
  // A block that is not 64-byte aligned (the vector loads need it): an error, not a fault.
  Tensor big(DType::I8, {quantPackedBBytes(8, 4) + 1});
  Tensor shifted = Tensor::borrow(DType::I8, {quantPackedBBytes(8, 4)}, big.data<int8_t>() + 1, nullptr);
  expectError(attrs, {x, shifted, s}, "64-byte aligned");
}

TEST(QuantMatMul, Errors) {
  Tensor x = randomFloats({3, 8}, 1, -1, 1), w = randomWeights(8, 4, 2);
  Tensor s = randomFloats({4}, 3, 0.01f, 0.02f);
  AttrMap none;
  Tensor wU8(DType::U8, {8, 4}), xI8(DType::I8, {3, 8});
  expectError(none, {x, wU8, s}, "w must be int8");
  expectError(none, {xI8, w, s}, "x must be float");
  expectError(none, {randomFloats({3, 7}, 1, -1, 1), w, s}, "K = 7");
  expectError(none, {randomFloats({8}, 1, -1, 1), w, s}, "rank >= 2");
  expectError(none, {x, w, randomFloats({3}, 3, 0.01f, 0.02f)}, "w_scale must be [4]");
  expectError(none, {x, w, s, randomFloats({5}, 3, 0, 1)}, "bias must be [4]");
  AttrMap badZp;
  badZp.set("x_scale", 0.1f);
  badZp.set("x_zero_point", int64_t{256});
  expectError(badZp, {x, w, s}, "x_zero_point must be in [0, 255]");
  AttrMap badScale;
  badScale.set("x_scale", -1.0f);
  expectError(badScale, {x, w, s}, "x_scale must be finite");
  AttrMap badAct;
  badAct.set("activation", std::string("gelu"));
  expectError(badAct, {x, w, s}, "activation must be");
  Tensor inf = randomFloats({3, 8}, 1, -1, 1);
  inf.mutableData<float>()[5] = INFINITY;
  expectError(none, {inf, w, s}, "non-finite range");
}

} // namespace
