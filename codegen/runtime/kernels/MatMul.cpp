//===- MatMul.cpp - the matmul kernel (numpy.matmul semantics) ------------===//
//
// float32 goes through gemmF32: batches that share one B and lie back to back
// in A fold into a single tall product (the common [batch, seq, hidden] x
// [hidden, out] case); other batches run one product each, in parallel across
// batches when each product is too small to split. A B shared by every batch
// is packed once per node (GemmPackCache.h). Other dtypes use a plain
// loop (integers wrap like numpy's).
//===----------------------------------------------------------------------===//
#include "Gemm.h"
#include "GemmBatch.h"
#include "GemmPackCache.h"

#include "ds/runtime/Dispatch.h"
#include "ds/runtime/Kernel.h"

#include <type_traits>

namespace ds::rt {
namespace {

// Products smaller than this run one per thread instead of being split.
constexpr double kSmallProductFlops = 4.0e6;

void matmulF32(const KernelContext &ctx, const MatMulPlan &plan, const float *a,
               const Tensor &bTensor, float *y) {
  ThreadPool &pool = ctx.pool;
  const float *b = bTensor.data<float>();
  const int64_t M = plan.M, K = plan.K, N = plan.N, batch = plan.batch();
  // Leading dimensions must be >= 1 even for empty operands.
  const int64_t lda = std::max<int64_t>(K, 1), ldb = std::max<int64_t>(N, 1);
  // One B for every batch (weights): packed once per node, not per call.
  bool sharedB = true;
  for (int64_t offset : plan.bOffsets)
    sharedB = sharedB && offset == 0;
  const GemmPackedB *packed =
      sharedB ? gemm_detail::cachedPackedB(ctx, bTensor, b, false, K, N, ldb) : nullptr;
  if (plan.foldsIntoOneProduct) {
    if (packed)
      gemmF32Prepacked(false, batch * M, 1.0f, a, lda, *packed, 0.0f, y, ldb, GemmBias{},
                       &pool);
    else
      gemmF32(false, false, batch * M, N, K, 1.0f, a, lda, b, ldb, 0.0f, y, ldb,
              GemmBias{}, pool);
    return;
  }
  auto one = [&](int64_t n, ThreadPool *p) {
    if (packed)
      gemmF32Prepacked(false, M, 1.0f, a + plan.aOffsets[n] * M * K, lda, *packed, 0.0f,
                       y + n * M * N, ldb, GemmBias{}, p);
    else
      gemmF32(false, false, M, N, K, 1.0f, a + plan.aOffsets[n] * M * K, lda,
              b + plan.bOffsets[n] * K * N, ldb, 0.0f, y + n * M * N, ldb, GemmBias{}, p);
  };
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (flops < kSmallProductFlops && batch > 1) {
    pool.parallelFor(batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n)
        one(n, nullptr);
    });
  } else {
    for (int64_t n = 0; n < batch; ++n)
      one(n, &pool);
  }
}

template <typename T> T multiplyAdd(T acc, T x, T w) {
  if constexpr (std::is_integral_v<T>) {
    // Wrap on overflow (as numpy does) without signed-overflow UB.
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(acc) + static_cast<U>(x) * static_cast<U>(w));
  } else {
    return acc + x * w;
  }
}

template <typename T>
void matmulGeneric(const MatMulPlan &plan, const T *a, const T *b, T *y, ThreadPool &pool) {
  const int64_t M = plan.M, K = plan.K, N = plan.N;
  int64_t rows = plan.batch() * M;
  int64_t rowCost = std::max<int64_t>(1, K * N);
  pool.parallelFor(rows, std::max<int64_t>(1, 32768 / rowCost), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t n = r / M, i = r % M;
      const T *aRow = a + plan.aOffsets[n] * M * K + i * K;
      const T *bMat = b + plan.bOffsets[n] * K * N;
      T *yRow = y + r * N;
      for (int64_t k = 0; k < K; ++k) {
        T x = aRow[k];
        const T *bRow = bMat + k * N;
        for (int64_t j = 0; j < N; ++j)
          yRow[j] = multiplyAdd(yRow[j], x, bRow[j]);
      }
    }
  });
}

void matmulKernel(const KernelContext &ctx, const std::vector<Tensor> &inputs,
                  std::vector<Tensor> &outputs) {
  checkInputCount(inputs, 2, 2, "MatMul");
  const Tensor &a = inputs[0], &b = inputs[1];
  DS_CHECK(a.dtype() == b.dtype(), std::string("operand types differ: ") +
                                       dtypeName(a.dtype()) + " and " + dtypeName(b.dtype()));
  MatMulPlan plan = planMatMul(a.shape(), b.shape());
  // gemmF32 with beta 0 writes every element; the generic loop accumulates.
  Tensor y = a.dtype() == DType::F32 ? Tensor::uninitialized(a.dtype(), plan.outShape)
                                     : Tensor(a.dtype(), plan.outShape);
  if (a.dtype() == DType::F32) {
    matmulF32(ctx, plan, a.data<float>(), b, y.mutableData<float>());
  } else {
    dispatchDType<double, int32_t, int64_t, uint32_t, uint64_t>(
        a.dtype(), "MatMul", [&](auto tag) {
          using T = typename decltype(tag)::type;
          matmulGeneric<T>(plan, a.data<T>(), b.data<T>(), y.mutableData<T>(), ctx.pool);
        });
  }
  outputs.push_back(std::move(y));
}

} // namespace

DS_REGISTER_KERNEL("matmul", matmulKernel);

} // namespace ds::rt
