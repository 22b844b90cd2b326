// attention against the MatMul/Div/Where/Softmax/MatMul chain evaluated naively
// in double, for causal, holed, fully masked and broadcast masks.
#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>

using namespace ds::rt;

namespace {
Tensor runAttention(const std::vector<Tensor> &inputs, float divisor, float maskedValue,
                    unsigned threads) {
  AttrMap attrs;
  attrs.set("scale_divisor", divisor);
  attrs.set("masked_value", maskedValue);
  return kernel_test::runKernel("attention", inputs, threads, attrs);
}

Tensor randomTensor(Shape shape, std::mt19937 &rng) {
  return kernel_test::randomTensor(std::move(shape), rng, 1.5f);
}

/// q [H, Lq, D], kT [Hk, D, Lk], v [Hk, Lk, Dv] (Hk 1 or H), mask [Lq or 1, Lk or 1].
void checkAgainstChain(int64_t H, int64_t Hk, int64_t Lq, int64_t Lk, int64_t D, int64_t Dv,
                       int64_t maskRows, int64_t maskCols, float maskedValue,
                       const std::function<bool(int64_t, int64_t)> &keep) {
  std::mt19937 rng(static_cast<unsigned>(H * 131 + Lk * 7 + Dv));
  Tensor q = randomTensor({H, Lq, D}, rng), kT = randomTensor({Hk, D, Lk}, rng),
         v = randomTensor({Hk, Lk, Dv}, rng), mask(DType::Bool, {maskRows, maskCols});
  auto *m = reinterpret_cast<uint8_t *>(mask.mutableRawData());
  for (int64_t i = 0; i < maskRows; ++i)
    for (int64_t j = 0; j < maskCols; ++j)
      m[i * maskCols + j] = keep(i, j) ? 1 : 0;
  const float divisor = 4.0f;
  Tensor y1 = runAttention({q, kT, v, mask}, divisor, maskedValue, 1);
  Tensor y2 = runAttention({q, kT, v, mask}, divisor, maskedValue, 2);
  ASSERT_EQ(y1.shape(), (Shape{H, Lq, Dv}));
  EXPECT_EQ(std::memcmp(y1.rawData(), y2.rawData(), y1.byteSize()), 0); // thread-count independent
  for (int64_t h = 0; h < H; ++h) {
    const int64_t hk = Hk == 1 ? 0 : h;
    for (int64_t i = 0; i < Lq; ++i) {
      std::vector<double> s(static_cast<size_t>(Lk));
      for (int64_t j = 0; j < Lk; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += double(q.data<float>()[(h * Lq + i) * D + d]) *
                 kT.data<float>()[(hk * D + d) * Lk + j];
        bool on = m[(maskRows == 1 ? 0 : i) * maskCols + (maskCols == 1 ? 0 : j)] != 0;
        s[static_cast<size_t>(j)] = on ? dot / divisor : double(maskedValue);
      }
      double mx = -INFINITY, sum = 0;
      for (double x : s)
        mx = std::max(mx, x);
      for (double &x : s)
        sum += (x = std::exp(x - mx));
      for (int64_t c = 0; c < Dv; ++c) {
        double want = 0;
        for (int64_t j = 0; j < Lk; ++j)
          want += s[static_cast<size_t>(j)] / sum * v.data<float>()[(hk * Lk + j) * Dv + c];
        float got = y1.data<float>()[(h * Lq + i) * Dv + c];
        ASSERT_NEAR(got, want, 2e-5 * (1 + std::fabs(want))) << "h " << h << " i " << i << " c " << c;
      }
    }
  }
}
} // namespace

TEST(Attention, CausalMaskSkipsTheMaskedTail) {
  auto causal = [](int64_t i, int64_t j) { return j <= i; };
  checkAgainstChain(8, 8, 128, 128, 16, 16, 128, 128, -FLT_MAX, causal);
  // Tails: Lk and Dv not multiples of 16, more queries than keys.
  checkAgainstChain(3, 3, 40, 37, 5, 20, 40, 37, -FLT_MAX, causal);
}

TEST(Attention, HolesAndFullyMaskedRowsWithAFiniteMaskedValue) {
  // Row 0 keeps nothing: every score is the masked value, a uniform softmax.
  auto holes = [](int64_t i, int64_t j) { return i > 0 && (i + 3 * j) % 5 != 0; };
  checkAgainstChain(2, 2, 9, 33, 8, 16, 9, 33, -1e9f, holes);
  // A mild masked value competes with the scores: every key counts.
  checkAgainstChain(2, 2, 9, 33, 8, 16, 9, 33, -1.0f, holes);
}

TEST(Attention, NanRowsToZeroIsTheIsNanGuard) {
  // Optimum's where(isnan(softmax), 0, softmax): a row whose keys are all
  // masked with -inf is NaN unfused, and zero with the guard; other rows are
  // the unguarded kernel's.
  std::mt19937 rng(7);
  Tensor q = randomTensor({2, 3, 4}, rng), kT = randomTensor({2, 4, 5}, rng),
         v = randomTensor({2, 5, 6}, rng), mask(DType::Bool, {3, 5});
  auto *m = reinterpret_cast<uint8_t *>(mask.mutableRawData());
  for (int64_t i = 0; i < 15; ++i)
    m[i] = i / 5 != 1; // query row 1 sees no key
  const float negInf = -std::numeric_limits<float>::infinity();
  Tensor plain = runAttention({q, kT, v, mask}, 2.0f, negInf, 1);
  AttrMap attrs;
  attrs.set("scale_divisor", 2.0f);
  attrs.set("masked_value", negInf);
  attrs.set("nan_rows_to_zero", int64_t{1});
  Tensor guarded = kernel_test::runKernel("attention", {q, kT, v, mask}, 2, attrs);
  const float *a = plain.data<float>(), *b = guarded.data<float>();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t c = 0; c < 6; ++c) {
        int64_t k = (h * 3 + i) * 6 + c;
        if (i == 1) {
          EXPECT_TRUE(std::isnan(a[k]));
          EXPECT_EQ(b[k], 0.0f);
        } else {
          EXPECT_EQ(a[k], b[k]);
        }
      }
}

TEST(Attention, BroadcastHeadsAndMasks) {
  auto even = [](int64_t, int64_t j) { return j % 2 == 0; };
  checkAgainstChain(4, 1, 6, 19, 4, 3, 1, 19, -FLT_MAX, even);   // one kv head, [1, Lk] mask
  auto rows = [](int64_t i, int64_t) { return i != 2; };
  checkAgainstChain(2, 2, 6, 19, 4, 3, 6, 1, -FLT_MAX, rows);    // [Lq, 1] mask (strided path)
}

TEST(Attention, RejectsShapesThatDoNotChain) {
  Tensor q(DType::F32, {2, 4}), kT(DType::F32, {3, 5}), v(DType::F32, {5, 2}),
      mask(DType::Bool, {2, 5});
  EXPECT_THROW(runAttention({q, kT, v, mask}, 1.0f, 0.0f, 1), Error);
}
