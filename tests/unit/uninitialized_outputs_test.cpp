// Kernels that allocate their results with Tensor::uninitialized must write
// every element: each case runs once on recycled buffers poisoned with 0x00
// and once with 0xFF bytes and must give the same bits both times (an
// unwritten element would show the poison).
#include "ds/runtime/Kernel.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace ds::rt;

namespace {

Tensor randomFloats(Shape shape, uint32_t seed) {
  Tensor t(DType::F32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutableData<float>()[i] = dist(rng);
  return t;
}

Tensor int64s(const std::vector<int64_t> &values) {
  Tensor t(DType::I64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.mutableData<int64_t>());
  return t;
}

/// Fills a few buffers of every size class near `bytes` with `byte` and frees
/// them, so the next allocations of that size get poisoned memory back.
void poison(size_t bytes, unsigned char byte) {
  std::vector<Tensor> held;
  for (size_t size : {bytes, bytes + 64, bytes * 5 / 4})
    for (int copy = 0; copy < 3; ++copy) {
      Tensor t = Tensor::uninitialized(DType::U8, {static_cast<int64_t>(size)});
      std::memset(t.mutableRawData(), byte, size);
      held.push_back(t);
    }
}

struct Case {
  const char *kernel;
  std::vector<Tensor> inputs;
  AttrMap attrs;
  size_t outputBytes;
};

std::vector<Tensor> run(const Case &c, unsigned char byte) {
  ThreadPool pool(2);
  poison(c.outputBytes, byte);
  KernelContext ctx{c.attrs, pool, 1};
  std::vector<Tensor> outputs;
  findKernel(c.kernel)(ctx, c.inputs, outputs);
  return outputs;
}

void expectEveryElementWritten(const Case &c) {
  std::vector<Tensor> zeros = run(c, 0x00), ones = run(c, 0xFF);
  ASSERT_EQ(zeros.size(), ones.size());
  for (size_t i = 0; i < zeros.size(); ++i) {
    ASSERT_EQ(zeros[i].shape(), ones[i].shape()) << c.kernel;
    EXPECT_EQ(0, std::memcmp(zeros[i].rawData(), ones[i].rawData(), zeros[i].byteSize()))
        << c.kernel << " left elements of its result unwritten";
  }
}

AttrMap attrs(std::initializer_list<std::pair<const char *, AttrValue>> values) {
  AttrMap m;
  for (const auto &[name, value] : values)
    m.set(name, value);
  return m;
}

} // namespace

TEST(UninitializedOutputs, EveryElementIsWritten) {
  // Small (malloc'd) and large (recycled, >= 64 KiB) results for each kernel.
  for (int64_t rows : {3, 300}) {
    const int64_t cols = 64;
    const size_t bytes = size_t(rows * cols) * 4;
    Tensor x = randomFloats({rows, cols}, 1), y = randomFloats({rows, cols}, 2);
    Tensor column = randomFloats({rows, 1}, 3), row = randomFloats({cols}, 4);
    Tensor cond(DType::Bool, {rows, cols});
    for (int64_t i = 0; i < cond.numel(); ++i)
      cond.mutableData<bool>()[i] = i % 3 == 0;
    Tensor w = randomFloats({cols, 48}, 5);
    Tensor w8(DType::I8, {cols, 48});
    for (int64_t i = 0; i < w8.numel(); ++i)
      w8.mutableData<int8_t>()[i] = static_cast<int8_t>(i * 7 % 255 - 127);
    Tensor wScale = randomFloats({48}, 6);
    Tensor two(DType::F32, {});
    two.mutableData<float>()[0] = 2.0f;
    const std::vector<Case> cases = {
        {"add", {x, y}, {}, bytes},
        {"mul", {x, column}, {}, bytes},
        {"div", {row, x}, {}, bytes},
        {"sub", {x, randomFloats({1}, 7)}, {}, bytes},
        {"neg", {x}, {}, bytes},
        {"sigmoid", {x}, {}, bytes},
        {"relu", {x}, {}, bytes},
        {"tanh", {x}, {}, bytes},
        {"pow", {x, randomFloats({1}, 8).reshaped({})}, {}, bytes},
        {"pow", {x, two}, {}, bytes},
        {"clip", {x}, attrs({{"min", -0.5f}, {"max", 0.5f}}), bytes},
        {"where", {cond, x, column}, {}, bytes},
        {"transpose", {x}, attrs({{"perm", std::vector<int64_t>{1, 0}}}), bytes},
        {"softmax", {x}, attrs({{"axis", int64_t{-1}}}), bytes},
        {"softmax", {x}, attrs({{"axis", int64_t{0}}}), bytes},
        {"log_softmax", {x}, attrs({{"axis", int64_t{0}}}), bytes},
        {"hardmax", {x}, attrs({{"axis", int64_t{-1}}}), bytes},
        {"rms_norm", {x, row}, attrs({{"epsilon", 1e-5f}}), bytes},
        {"concat", {x, y, column}, attrs({{"axis", int64_t{1}}}), bytes * 2 + bytes / 64},
        {"slice", {x, int64s({1}), int64s({cols}), int64s({1}), int64s({2})}, {}, bytes / 2},
        {"expand", {column, int64s({rows, cols})}, {}, bytes},
        {"matmul", {x, w}, {}, size_t(rows * 48) * 4},
        {"matmul", {x, randomFloats({cols, 1}, 9)}, {}, size_t(rows) * 4},
        {"gemm", {x, w}, {}, size_t(rows * 48) * 4},
        {"gemm", {x, w, randomFloats({48}, 10)}, attrs({{"beta", 0.5f}}), size_t(rows * 48) * 4},
        {"quant_matmul", {x, w8, wScale}, attrs({{"x_scale", 0.02f}, {"x_zero_point", int64_t{128}}}),
         size_t(rows * 48) * 4},
        {"quant_matmul", {x, w8, wScale}, attrs({{"x_granularity", std::string("row")}}),
         size_t(rows * 48) * 4},
    };
    for (const Case &c : cases) {
      SCOPED_TRACE(std::string(c.kernel) + " rows=" + std::to_string(rows));
      expectEveryElementWritten(c);
    }
  }
}

TEST(UninitializedOutputs, FactoryAllocatesAlignedStorageOfTheShape) {
  Tensor t = Tensor::uninitialized(DType::F32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.byteSize(), 60u);
  EXPECT_TRUE(t.holdsStorage());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.rawData()) % 64, 0u);
  EXPECT_THROW(Tensor::uninitialized(DType::String, {1}), Error);
  EXPECT_THROW(Tensor::uninitialized(DType::F32, {-1}), Error);
  // Large buffers are recycled as they were left (what the poisoning relies on)...
  poison(size_t(1) << 17, 0xFF);
  {
    Tensor u = Tensor::uninitialized(DType::U8, {1 << 17});
    EXPECT_EQ(u.data<uint8_t>()[12345], 0xFF);
  }
  // ...but a plain Tensor is still zeroed, even on a poisoned recycled buffer.
  poison(size_t(1) << 17, 0xFF);
  Tensor z(DType::F32, {1 << 15});
  for (int64_t i = 0; i < z.numel(); ++i)
    ASSERT_EQ(z.data<float>()[i], 0.0f);
}
