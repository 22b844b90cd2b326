//===- BlockQuantized.h - ORT's block-quantized weight layout ------------===//
//
// The layout of MatMulNBits / GatherBlockQuantized weights as onnxruntime-genai
// writes them: per row (an output column of a MatMul, a token of an
// embedding), ceil(K / block) blocks of `block` codes of `bits` bits, low bits
// first in each byte; one float scale per block; a zero point per block
// (packed like the codes, or float), 2^(bits-1) when absent. Dequantized value:
// (q - zp) * scale. Shared by both kernels so they read the same bits.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <cstdint>

namespace ds::rt::blockq {

struct Layout {
  int64_t rows = 0, cols = 0, bits = 4, block = 32;
  bool padded = true; // MatMulNBits pads each row to whole blocks; GatherBlockQuantized does not
  int64_t blocks() const { return (cols + block - 1) / block; }
  int64_t rowBytes() const { return (padded ? blocks() * block : cols) * bits / 8; }
  int64_t zeroRowBytes() const { return (blocks() * bits + 7) / 8; }
};

/// Checks the codes, scales and zero points against `l` (one error naming the operand).
inline void checkOperands(const Layout &l, const Tensor &codes, const Tensor &scales,
                          const Tensor *zeroPoints, const char *op) {
  DS_CHECK(l.bits == 4 || l.bits == 8, std::string(op) + ": bits must be 4 or 8");
  DS_CHECK(l.block >= 16 && (l.block & (l.block - 1)) == 0,
           std::string(op) + ": block_size must be a power of 2 of at least 16");
  DS_CHECK(codes.dtype() == DType::U8 && codes.numel() == l.rows * l.rowBytes(),
           std::string(op) + ": the packed weights must be " + std::to_string(l.rows * l.rowBytes()) +
               " uint8, got " + std::to_string(codes.numel()) + " " + dtypeName(codes.dtype()));
  DS_CHECK(scales.dtype() == DType::F32 && scales.numel() == l.rows * l.blocks(),
           std::string(op) + ": scales must be " + std::to_string(l.rows * l.blocks()) + " floats");
  if (zeroPoints && !zeroPoints->isAbsent()) {
    bool packed = zeroPoints->dtype() == DType::U8;
    DS_CHECK((packed && zeroPoints->numel() == l.rows * l.zeroRowBytes()) ||
                 (zeroPoints->dtype() == DType::F32 && zeroPoints->numel() == l.rows * l.blocks()),
             std::string(op) + ": zero_points must be " + std::to_string(l.rows * l.zeroRowBytes()) +
                 " packed uint8 or " + std::to_string(l.rows * l.blocks()) + " floats");
  }
}

/// Row `r` dequantized into out[0..cols).
inline void dequantizeRow(const Layout &l, const uint8_t *codes, const float *scales,
                          const Tensor *zeroPoints, int64_t r, float *out) {
  const uint8_t *row = codes + r * l.rowBytes();
  const int64_t mask = (int64_t{1} << l.bits) - 1, blocks = l.blocks();
  const bool hasZp = zeroPoints && !zeroPoints->isAbsent();
  const bool floatZp = hasZp && zeroPoints->dtype() == DType::F32;
  for (int64_t b = 0; b < blocks; ++b) {
    float zero = static_cast<float>(int64_t{1} << (l.bits - 1));
    if (floatZp) {
      zero = zeroPoints->data<float>()[r * blocks + b];
    } else if (hasZp) {
      int64_t bit = b * l.bits;
      zero = static_cast<float>(
          (zeroPoints->data<uint8_t>()[r * l.zeroRowBytes() + bit / 8] >> (bit % 8)) & mask);
    }
    const float scale = scales[r * blocks + b];
    const int64_t end = std::min(l.block, l.cols - b * l.block);
    const uint8_t *blob = row + b * l.block * l.bits / 8;
    float *o = out + b * l.block;
    if (l.bits == 4)
      for (int64_t i = 0; i < end; ++i)
        o[i] = (static_cast<float>((blob[i / 2] >> ((i % 2) * 4)) & 0xF) - zero) * scale;
    else
      for (int64_t i = 0; i < end; ++i)
        o[i] = (static_cast<float>(blob[i]) - zero) * scale;
  }
}

} // namespace ds::rt::blockq
