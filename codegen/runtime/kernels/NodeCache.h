//===- NodeCache.h - values derived from a constant operand, kept per node --===//
//
// Kernels that prepare a constant operand (the GEMM's packed B, a conv's
// Winograd-transformed weights, the INT8 kernels' packed weights) keep the result in their node's
// KernelContext::state. A node cannot tell a constant from an activation, so
// the cache keys on storage identity: it holds a reference to the operand's
// storage (so the buffer cannot be freed and recycled for a different value
// while the key is kept), builds only on the second call that sees the same
// storage (an activation gets fresh storage every run and is never prepared
// twice), and ignores caller memory borrowed without a holder (it can change
// behind the tensor's back). Each kernel keeps one kind of value in its state.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ds/runtime/Kernel.h"

#include <memory>

namespace ds::rt {

/// The value build() derives from `source` for this node, or nullptr when the
/// caller should compute it itself this time (no state, unheld storage, or the
/// first call that sees this storage). `key` holds whatever else the value
/// depends on (shapes, strides, flags); Key needs operator==.
template <typename Value, typename Key, typename Build>
const Value *cachedFromConstant(const KernelContext &ctx, const Tensor &source, const Key &key,
                                Build &&build) {
  struct State {
    Tensor source; // keeps the keyed storage alive
    Key key;
    bool built = false;
    Value value;
  };
  if (!ctx.state || !source.holdsStorage())
    return nullptr;
  if (*ctx.state) {
    auto *state = static_cast<State *>(ctx.state->get());
    if (state->source.rawData() == source.rawData() &&
        state->source.byteSize() == source.byteSize() && state->key == key) {
      if (!state->built) {
        state->value = build();
        state->built = true;
      }
      return &state->value;
    }
  }
  auto state = std::make_shared<State>();
  state->source = source;
  state->key = key;
  *ctx.state = std::move(state);
  return nullptr;
}

} // namespace ds::rt
