//===- Half.h - IEEE binary16 and bfloat16 <-> float, bit-exact ------------===//
//
// Plain integer code (no intrinsics, no <cmath>), so the CUDA side can include
// it as __host__ __device__ later (DESIGN §3 runtime/numerics). Widening is
// exact; narrowing rounds to nearest even, overflows to infinity, and keeps
// NaN a (quiet) NaN, as CUDA's __float2half_rn / __float2bfloat16_rn and
// numpy's astype(float16) do.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstring>

namespace ds::rt::numerics {

inline float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
  if (exponent == 0x1F) // infinity or NaN (payload kept)
    return bitsToFloat(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsToFloat(sign);
    // Subnormal: normalize into float's range.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3FFu;
    return bitsToFloat(sign | (static_cast<uint32_t>(113 - shift) << 23) | (mantissa << 13));
  }
  return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

inline uint16_t floatToHalf(float f) {
  uint32_t x = floatToBits(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) // NaN: quiet, top payload bits kept
    return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  if (abs >= 0x477FF000u) // rounds to >= 65520: infinity
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (abs < 0x38800000u) { // below half's smallest normal 2^-14: subnormal or 0
    if (abs < 0x33000000u) // below 2^-25: rounds to 0
      return sign;
    uint32_t exponent = abs >> 23, mantissa = (abs & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126 - exponent; // 14..24: value = mantissa >> shift in half ulps
    uint32_t kept = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1u)))
      ++kept;
    return static_cast<uint16_t>(sign | kept);
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to even.
  uint32_t rebased = abs - (112u << 23);
  uint32_t kept = rebased >> 13, rest = rebased & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (kept & 1u)))
    ++kept; // a carry into the exponent is the correct next binade
  return static_cast<uint16_t>(sign | kept);
}

inline float bf16ToFloat(uint16_t b) { return bitsToFloat(static_cast<uint32_t>(b) << 16); }

inline uint16_t floatToBf16(float f) {
  uint32_t x = floatToBits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) // NaN: quiet
    return static_cast<uint16_t>((x >> 16) | 0x0040u);
  uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

} // namespace ds::rt::numerics
