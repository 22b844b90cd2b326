//===- QuantGemm.h - the library's u8 x s8 -> s32 matrix multiply ----------===//
//
// quantGemm is the integer GEMM behind the quant_matmul and quant_conv kernels
// (the x86 INT8 path: u8 asymmetric activations, s8 symmetric weights, DESIGN
// §5), and the entry point generated code calls for them. It computes
//   acc[m, n] = sum_k A[m, k] * B[k, n]       (exact, in int32)
// and either stores acc or applies the fused per-element epilogue
//   out[m, n] = act(float(acc - zpA * colSumB[n]) * (scaleA * scaleB[n]) + bias[n]).
//
// B is packed once (packQuantB) into the one layout every micro-kernel family
// reads, so a packed B can be cached by the caller and reused with any ISA.
// Families: AVX512-VNNI (vpdpbusd zmm), AVX-VNNI (vpdpbusd ymm), AVX2 (exact:
// u8/s8 widened to s16 and multiplied with vpmaddwd, since vpmaddubsw saturates
// at 255 * 127 * 2) and portable C++; picked at run time, the library itself is
// baseline x86-64. All families give the same int32 bits, and the float
// epilogue is one shared per-element function, so results never depend on the
// ISA or the thread count.
//
// Accumulator bound: |A| <= 255 and |B| <= 128 make every product at most
// 32640 in magnitude, so K <= kQuantGemmMaxK = floor((2^31 - 1) / 32640) = 65793
// can never overflow int32. Larger K is rejected with rt::Error.
//===----------------------------------------------------------------------===//
#pragma once

#include "QuantPackedLayout.h"

#include "ds/runtime/ThreadPool.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace ds::rt {

/// The deepest reduction whose int32 sum of u8 * s8 products cannot overflow.
constexpr int64_t kQuantGemmMaxK = 2147483647 / (255 * 128);

/// B (K x N int8) in micro-kernel layout plus its per-column sums, in one
/// block of quantPackedBBytes(K, N) bytes. Panel p holds columns
/// [32p, 32p + 32) with K in groups of 4 (the dpbusd operand):
///   panel(p)[(k / 4) * 128 + j * 4 + k % 4] = B[k, 32p + j],
/// zero for k >= K or 32p + j >= N; the int32 sums of the columns follow the
/// last panel (0 for padding columns). The layout is the same for every
/// micro-kernel family, so it can be packed ahead of time: ds-pack-int8-weights
/// writes it into the compiled model, and view() reads it in place.
/// Immutable once built; safe to share.
class QuantPackedB {
public:
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }
  /// K rounded up to a multiple of 4.
  int64_t paddedK() const { return (K_ + 3) / 4 * 4; }
  int64_t numPanels() const { return (N_ + kQuantGemmNR - 1) / kQuantGemmNR; }
  const int8_t *panel(int64_t p) const { return data_.get() + p * paddedK() * kQuantGemmNR; }
  /// colSums()[n] = sum_k B[k, n], for the activation zero-point correction.
  const int32_t *colSums() const {
    return reinterpret_cast<const int32_t *>(data_.get() + numPanels() * paddedK() * kQuantGemmNR);
  }

  /// B packed ahead of time (packQuantBInto): `bytes` holds quantPackedBBytes(K, N)
  /// bytes, 64-byte aligned, and stays alive as long as the view. Throws
  /// rt::Error on a misaligned block or K > kQuantGemmMaxK.
  static QuantPackedB view(int64_t K, int64_t N, std::shared_ptr<const int8_t> bytes);

private:
  friend QuantPackedB packQuantB(bool, int64_t, int64_t, const int8_t *, int64_t);
  int64_t K_ = 0, N_ = 0;
  std::shared_ptr<const int8_t> data_;
};

/// Writes B in the packed layout to dst (quantPackedBBytes(K, N) bytes; every
/// byte is written): element (k, n) is src[k * ld + n], or src[n * ld + k] when
/// `transposed` (B stored N x K, e.g. conv weights [M, C*kh*kw]). Throws
/// rt::Error when K > kQuantGemmMaxK.
void packQuantBInto(bool transposed, int64_t K, int64_t N, const int8_t *src, int64_t ld,
                    int8_t *dst);

/// A new 64-byte aligned block of max(bytes, 1) bytes for packed weights.
std::shared_ptr<int8_t> newPackedBlock(int64_t bytes);

/// packQuantBInto a new 64-byte aligned block.
QuantPackedB packQuantB(bool transposed, int64_t K, int64_t N, const int8_t *src,
                        int64_t ld);

/// The u8 operand, row-major M x K with row stride ld >= K: already uint8, or
/// float quantized while it is packed, exactly as ONNX QuantizeLinear to uint8:
///   q = saturate(round_half_to_even(x / scale) + zeroPoint)   (NaN -> zeroPoint).
struct QuantGemmA {
  const uint8_t *u8 = nullptr;
  const float *f32 = nullptr;
  int64_t ld = 0;
  float scale = 1.0f;    // f32 only
  int32_t zeroPoint = 0; // f32 only
  /// Or A already in the micro-kernels' panel layout (see quantGemmPackedAIndex),
  /// for packedRows-row panels, which must be the chosen family's: callers
  /// that build A themselves (quant_conv's im2col) skip a copy. ld is unused.
  const uint8_t *packed = nullptr;
  int64_t packedRows = 0;
};

/// Rows per A panel of the family quantGemm uses on this CPU.
int64_t quantGemmPanelRows();

/// Where A(m, k) lives in a packed A of panels with `rows` rows and K padded
/// to `paddedK` (QuantPackedB::paddedK()): panel m / rows holds paddedK / 4
/// groups of rows x 4 bytes. A packed A holds ceil(M / rows) whole panels;
/// bytes for m >= M or k >= K may hold anything (B is zero there).
inline int64_t quantGemmPackedAIndex(int64_t m, int64_t k, int64_t rows, int64_t paddedK) {
  return (m / rows) * rows * paddedK + (k / 4) * rows * 4 + (m % rows) * 4 + k % 4;
}

/// The fused float epilogue. scaleB has N entries, or 1 when scaleBPerColumn is
/// false; bias has N entries or is null.
struct QuantEpilogue {
  float scaleA = 1.0f;
  int32_t zeroPointA = 0;
  const float *scaleB = nullptr;
  bool scaleBPerColumn = true;
  const float *bias = nullptr;
  bool relu = false;
};

/// Where element (m, n) of the result goes: data[m * rowStride + n * colStride].
/// Row-major output is {p, N, 1}; conv's [channels, positions] is {p, 1, P}.
template <typename T> struct QuantGemmOut {
  T *data = nullptr;
  int64_t rowStride = 0;
  int64_t colStride = 1;
};

/// One output element from its zero-point-corrected accumulator
/// (acc - zpA * colSumB[n]) and combined scale (scaleA * scaleB[n]): every
/// path (and the direct depthwise conv) calls this, so all agree bit for bit.
/// The product and the sum round separately (no FMA) in every build.
/// relu keeps NaN (NaN < 0 is false).
__attribute__((optimize("fp-contract=off", "no-trapping-math"), always_inline)) inline float
quantOutputValue(int32_t centered, float scale, float bias, bool relu) {
  float v = static_cast<float>(centered) * scale;
  v = v + bias;
  return relu && v < 0.0f ? 0.0f : v;
}

/// The micro-kernel families. quantGemm uses quantGemmBestIsa(); tests and
/// benchmarks force each one the CPU supports with the *WithIsa variants.
enum class QuantGemmIsa { Portable, Avx2, AvxVnni, Avx512Vnni };

QuantGemmIsa quantGemmBestIsa();
bool quantGemmIsaSupported(QuantGemmIsa isa);
const char *quantGemmIsaName(QuantGemmIsa isa);

/// out = epilogue(A x B) as float. pool == nullptr runs on the calling thread
/// (use that from inside a parallelFor body: the pool is not reentrant).
void quantGemm(int64_t M, const QuantGemmA &a, const QuantPackedB &b,
               const QuantEpilogue &epilogue, QuantGemmOut<float> out, ThreadPool *pool);
void quantGemmWithIsa(QuantGemmIsa isa, int64_t M, const QuantGemmA &a,
                      const QuantPackedB &b, const QuantEpilogue &epilogue,
                      QuantGemmOut<float> out, ThreadPool *pool);

/// The raw int32 accumulators acc = A x B (no zero-point correction).
void quantGemmS32WithIsa(QuantGemmIsa isa, int64_t M, const QuantGemmA &a,
                         const QuantPackedB &b, QuantGemmOut<int32_t> out,
                         ThreadPool *pool);

} // namespace ds::rt
