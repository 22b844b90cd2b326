// Tests of quantize_linear, dequantize_linear and dynamic_quantize_linear:
// ONNX spec examples, per-axis and blocked parameters against naive loops,
// round-half-to-even, saturation, and error cases.
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace ds::rt;

namespace {

std::vector<Tensor> run(const char *name, const AttrMap &attrs, const std::vector<Tensor> &inputs,
                        size_t numOutputs = 1, unsigned threads = 2) {
  KernelFn fn = findKernel(name);
  if (!fn)
    throw std::runtime_error(std::string("no kernel ") + name);
  ThreadPool pool(threads);
  KernelContext ctx{attrs, pool, numOutputs};
  std::vector<Tensor> outputs;
  fn(ctx, inputs, outputs);
  return outputs;
}

template <typename T> Tensor make(Shape shape, std::vector<T> values) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.mutableData<T>());
  return t;
}

template <typename T> std::vector<T> values(const Tensor &t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

template <typename Q> Q naiveQuantize(float x, float scale, Q zp) {
  double v = std::nearbyint(static_cast<double>(x / scale)) + zp;
  v = std::clamp<double>(v, std::numeric_limits<Q>::min(), std::numeric_limits<Q>::max());
  return static_cast<Q>(v);
}

TEST(Quantize, PerTensorSpecExampleAndRounding) {
  // ONNX QuantizeLinear example: scale 2, zp 128.
  Tensor x = make<float>({6}, {0, 2, 3, 1000, -254, -1000});
  Tensor y = run("quantize_linear", {}, {x, make<float>({}, {2}), make<uint8_t>({}, {128})})[0];
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{128, 129, 130, 255, 1, 0}));
  // Half-way cases round to even; no zero point means uint8 with zp 0; NaN -> zp.
  Tensor halves = make<float>({6}, {0.5f, 1.5f, 2.5f, -0.5f, 300.5f, NAN});
  Tensor u = run("quantize_linear", {}, {halves, make<float>({1}, {1})})[0];
  EXPECT_EQ(u.dtype(), DType::U8);
  EXPECT_EQ(values<uint8_t>(u), (std::vector<uint8_t>{0, 2, 2, 0, 255, 0}));
  Tensor s = run("quantize_linear", {}, {halves, make<float>({}, {1}), make<int8_t>({}, {-3})})[0];
  EXPECT_EQ(values<int8_t>(s), (std::vector<int8_t>{-3, -1, -1, -3, 127, -3}));
  AttrMap int16;
  int16.set("output_dtype", int64_t{5});
  Tensor w = run("quantize_linear", int16, {make<float>({2}, {40000.f, -2.5f}), make<float>({}, {1})})[0];
  EXPECT_EQ(values<int16_t>(w), (std::vector<int16_t>{32767, -2}));
}

TEST(Quantize, PerAxisAndBlockedAgainstNaive) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-20.f, 20.f);
  Tensor x(DType::F32, {3, 4, 6});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.mutableData<float>()[i] = dist(rng);
  // Per axis 1: 4 scales.
  Tensor scale = make<float>({4}, {0.1f, 0.25f, 0.5f, 1.0f});
  Tensor zp = make<int8_t>({4}, {0, -10, 5, 100});
  Tensor y = run("quantize_linear", {}, {x, scale, zp})[0];
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t c = (i / 6) % 4;
    ASSERT_EQ(y.data<int8_t>()[i],
              naiveQuantize<int8_t>(x.data<float>()[i], scale.data<float>()[c], zp.data<int8_t>()[c]));
  }
  Tensor back = run("dequantize_linear", {}, {y, scale, zp})[0];
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t c = (i / 6) % 4;
    ASSERT_EQ(back.data<float>()[i], (static_cast<float>(y.data<int8_t>()[i]) -
                                      static_cast<float>(zp.data<int8_t>()[c])) *
                                         scale.data<float>()[c]);
  }
  // Blocked along axis 2 with block 4: ceil(6 / 4) = 2 blocks, the last one short.
  AttrMap blocked;
  blocked.set("axis", int64_t{2});
  blocked.set("block_size", int64_t{4});
  Tensor bs(DType::F32, {3, 4, 2});
  Tensor bz(DType::U8, {3, 4, 2});
  for (int64_t i = 0; i < bs.numel(); ++i) {
    bs.mutableData<float>()[i] = 0.05f * static_cast<float>(1 + i % 7);
    bz.mutableData<uint8_t>()[i] = static_cast<uint8_t>(100 + i);
  }
  Tensor yb = run("quantize_linear", blocked, {x, bs, bz})[0];
  Tensor db = run("dequantize_linear", blocked, {yb, bs, bz})[0];
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t row = i / 6, k = i % 6, p = row * 2 + k / 4;
    uint8_t q = naiveQuantize<uint8_t>(x.data<float>()[i], bs.data<float>()[p], bz.data<uint8_t>()[p]);
    ASSERT_EQ(yb.data<uint8_t>()[i], q) << i;
    ASSERT_EQ(db.data<float>()[i], (static_cast<float>(q) - static_cast<float>(bz.data<uint8_t>()[p])) *
                                        bs.data<float>()[p]);
  }
  blocked.set("block_size", int64_t{2}); // needs 3 blocks, scale has 2
  EXPECT_THROW(run("quantize_linear", blocked, {x, bs, bz}), Error);
  EXPECT_THROW(run("quantize_linear", {}, {x, make<float>({3}, {1, 1, 1})}), Error);
  EXPECT_THROW(run("dequantize_linear", {}, {y, scale, make<uint8_t>({4}, {0, 0, 0, 0})}), Error);
}

TEST(Quantize, DequantizeSpecExampleAndInt32) {
  Tensor x = make<uint8_t>({4}, {0, 3, 128, 255});
  Tensor y = run("dequantize_linear", {}, {x, make<float>({}, {2}), make<uint8_t>({}, {128})})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{-256, -250, 0, 254}));
  Tensor i32 = make<int32_t>({2}, {-7, 1000});
  EXPECT_EQ(values<float>(run("dequantize_linear", {}, {i32, make<float>({}, {0.5f})})[0]),
            (std::vector<float>{-3.5f, 500}));
  EXPECT_THROW(run("dequantize_linear", {}, {make<float>({1}, {0}), make<float>({}, {1})}), Error);
}

TEST(Quantize, DynamicQuantizeFollowsReference) {
  // ONNX example: x = [0, 2, -3, -2.5, 1.34, 0.5] -> scale (2 + 3) / 255, zp 153.
  Tensor x = make<float>({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f});
  std::vector<Tensor> out = run("dynamic_quantize_linear", {}, {x}, 3);
  float scale = 5.0f / 255.0f;
  EXPECT_EQ(out[1].data<float>()[0], scale);
  EXPECT_EQ(out[2].data<uint8_t>()[0], 153);
  EXPECT_EQ(values<uint8_t>(out[0]), (std::vector<uint8_t>{153, 255, 0, 26, 221, 179}));
  // All zeros: scale is 1/255, not 0.
  std::vector<Tensor> zeros = run("dynamic_quantize_linear", {}, {Tensor(DType::F32, {3})}, 3);
  EXPECT_EQ(zeros[1].data<float>()[0], 1.0f / 255.0f);
  // Large input: same bits for 1 and 4 threads.
  Tensor big(DType::F32, {200000});
  for (int64_t i = 0; i < big.numel(); ++i)
    big.mutableData<float>()[i] = std::sin(static_cast<float>(i)) * 7.0f - 1.0f;
  std::vector<Tensor> a = run("dynamic_quantize_linear", {}, {big}, 3, 1);
  std::vector<Tensor> b = run("dynamic_quantize_linear", {}, {big}, 3, 4);
  EXPECT_EQ(values<uint8_t>(a[0]), values<uint8_t>(b[0]));
  EXPECT_EQ(a[1].data<float>()[0], b[1].data<float>()[0]);
  EXPECT_THROW(run("dynamic_quantize_linear", {}, {make<double>({1}, {1.0})}, 3), Error);
}

} // namespace
