//===- RegisterTiles.h - channel x vector register tiles of AVX-512 kernels -===//
//
// ConvShiftedDirect and ConvWinograd both accumulate a tile of MC output
// channels x NV vectors in zmm registers (MC * NV <= 24 of the 32, the rest hold
// the loaded vectors and a broadcast), with MC and NV compile-time constants so
// the accumulators stay in registers. A channel count is covered by the widest
// tile for NV while it fits, then by power-of-two tiles (16, 8, 4, 2, 1 below
// the widest). This header holds that decomposition and the table of kernel
// instantiations it picks from.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

// The tile loops must unroll completely for the accumulators to live in registers.
#define DS_UNROLL _Pragma("GCC unroll 32")

namespace ds::rt::conv::tiles {

constexpr int kMaxVectors = 4;
constexpr int kAccumulators = 24;
constexpr int maxChannels(int nv) { return kAccumulators / nv; }
/// Kind 0 is the widest tile for NV; kind b >= 1 has 2^(b-1) channels.
constexpr size_t kKinds = 6;
constexpr int channelsOf(int nv, size_t kind) {
  return kind == 0 ? maxChannels(nv) : 1 << (kind - 1);
}

/// fn(kind, first channel, channel count) over the tiles covering [0, channels).
template <typename Fn> void forEachChannelTile(int nv, int64_t channels, Fn &&fn) {
  const int64_t widest = maxChannels(nv);
  int64_t m = 0;
  for (; m + widest <= channels; m += widest)
    fn(size_t{0}, m, widest);
  for (size_t kind = kKinds - 1; kind >= 1; --kind) {
    const int64_t count = channelsOf(nv, kind);
    if (count < widest && channels - m >= count) {
      fn(kind, m, count);
      m += count;
    }
  }
}

/// table[nv - 1][kind] = &Tile<channelsOf(nv, kind), nv>::run, for nv 1..4.
template <typename FnPtr, template <int, int> class Tile, int NV, size_t... K>
constexpr std::array<FnPtr, kKinds> kindsFor(std::index_sequence<K...>) {
  return {&Tile<channelsOf(NV, K), NV>::run...};
}
template <typename FnPtr, template <int, int> class Tile>
constexpr std::array<std::array<FnPtr, kKinds>, kMaxVectors> makeTable() {
  constexpr auto kinds = std::make_index_sequence<kKinds>();
  return {kindsFor<FnPtr, Tile, 1>(kinds), kindsFor<FnPtr, Tile, 2>(kinds),
          kindsFor<FnPtr, Tile, 3>(kinds), kindsFor<FnPtr, Tile, 4>(kinds)};
}

} // namespace ds::rt::conv::tiles
