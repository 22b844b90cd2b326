// Unit tests of the runtime basics: tensors, shapes, attributes, thread pool,
// input specs.
#include "ds/runtime/Kernel.h"
#include "ds/runtime/Program.h"
#include "ds/runtime/ShapeHelpers.h"

#include <gtest/gtest.h>

#include <atomic>

using namespace ds::rt;

TEST(Shape, BroadcastFollowsNumpy) {
  EXPECT_EQ(broadcastShapes({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcastShapes({}, {5}), (Shape{5}));
  EXPECT_THROW(broadcastShapes({2}, {3}), Error);
}

TEST(Shape, NumelRejectsNegativeDimsAndOverflow) {
  EXPECT_EQ(shapeNumel({}), 1);
  EXPECT_EQ(shapeNumel({3, 0, 5}), 0);
  EXPECT_EQ(shapeNumel({int64_t(1) << 31, int64_t(1) << 31}), int64_t(1) << 62);
  EXPECT_THROW(shapeNumel({int64_t(1) << 32, int64_t(1) << 32}), Error);
  EXPECT_THROW(shapeNumel({int64_t(1) << 40, int64_t(1) << 40, 0}), Error); // before the 0
  EXPECT_THROW(shapeNumel({2, -1}), Error);
}

TEST(Shape, NormalizeAxisRejectsOutOfRange) {
  EXPECT_EQ(normalizeAxis(-1, 3), 2);
  EXPECT_THROW(normalizeAxis(3, 3), Error);
}

TEST(Tensor, AllocatesZeroedAndChecksDtype) {
  Tensor t(DType::F32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.data<float>()[5], 0.0f);
  EXPECT_THROW(t.data<int64_t>(), Error);
  EXPECT_THROW(Tensor(DType::F32, {-1}), Error);
}

// Small buffers and the tensors' control blocks come from per-thread free
// lists (Tensor.cpp's SmallBlocks): a recycled block must still be 64-byte
// aligned and zeroed when asked, and blocks may be freed on another thread.
TEST(Tensor, RecycledSmallBuffersAreAlignedAndZeroed) {
  for (int round = 0; round < 3; ++round)
    for (int64_t n = 0; n <= 1100; n += 7) {
      Tensor dirty = Tensor::uninitialized(DType::F32, {n});
      for (int64_t i = 0; i < n; ++i)
        dirty.mutableData<float>()[i] = 1.5f;
      dirty = Tensor();
      Tensor t(DType::F32, {n, 1});
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.rawData()) % 64, 0u) << n;
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(t.data<float>()[i], 0.0f) << "element " << i << " of " << n;
    }
  ThreadPool pool(2);
  std::vector<Tensor> made(64);
  pool.parallelFor(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      made[static_cast<size_t>(i)] = Tensor(DType::I32, {i % 9, 3});
  });
  made.clear(); // freed on this thread, made (partly) on the workers
  pool.parallelFor(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      Tensor t(DType::I32, {i % 9, 3});
      for (int64_t j = 0; j < t.numel(); ++j)
        ASSERT_EQ(t.data<int32_t>()[j], 0);
    }
  });
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallelFor(1000, 7, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      hits[i]++;
  });
  for (auto &h : hits)
    EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, PropagatesExceptions) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallelFor(100, 1, [](int64_t b, int64_t) {
    if (b == 0)
      throw Error("boom");
  }),
               Error);
}

TEST(AttrMap, DefaultsAndKindErrors) {
  AttrMap attrs;
  attrs.set("axis", int64_t{2});
  EXPECT_EQ(attrs.getInt("axis", 0), 2);
  EXPECT_EQ(attrs.getInt("missing", 7), 7);
  EXPECT_THROW(attrs.getString("axis", ""), Error);
}

TEST(ValueSpec, MaxDimsBoundDynamicDims) {
  ValueSpec spec{"x", DType::F32, true, {-1, 3}, {8, 3}};
  EXPECT_EQ(spec.mismatch(Tensor(DType::F32, {8, 3})), "");
  EXPECT_EQ(spec.mismatch(Tensor(DType::F32, {1, 3})), "");
  const std::string tooBig = spec.mismatch(Tensor(DType::F32, {9, 3}));
  EXPECT_NE(tooBig.find("dim 0 is 9, above the maximum 8"), std::string::npos) << tooBig;
  EXPECT_NE(tooBig.find("--max-shape x="), std::string::npos) << tooBig;
  // The fixed dim is still checked first, and no bounds means none.
  EXPECT_NE(spec.mismatch(Tensor(DType::F32, {2, 4})).find("expected [?, 3]"), std::string::npos);
  ValueSpec unbounded{"x", DType::F32, true, {-1, 3}, {}};
  EXPECT_EQ(unbounded.mismatch(Tensor(DType::F32, {1000, 3})), "");
}

TEST(ValueSpec, ProgramRefusesInputsAboveTheirMaximum) {
  Program program;
  int x = program.addInput({"x", DType::F32, true, {-1, 2}, {4, 2}});
  program.addOutput(x, {"y", DType::F32, true, {-1, 2}, {}});
  program.finalize();
  ThreadPool pool(1);
  EXPECT_EQ(program.run({Tensor(DType::F32, {4, 2})}, pool).at(0).dim(0), 4);
  try {
    program.run({Tensor(DType::F32, {5, 2})}, pool);
    FAIL() << "an input above its maximum ran";
  } catch (const ProgramError &e) {
    EXPECT_NE(std::string(e.what()).find("input 'x'"), std::string::npos) << e.what();
  }
}
