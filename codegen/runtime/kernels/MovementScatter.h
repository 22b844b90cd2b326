//===- MovementScatter.h - the reduction modes of ScatterND/ScatterElements ===//
//
// 'reduction' is none (opset 11+), add/mul (16+) or max/min (18+). 'none' only
// moves bytes; the others need arithmetic, so they dispatch on the real dtype.
// Updates are applied in index order on one thread: with repeated indices the
// result is deterministic (ONNX leaves 'none' with repeats undefined).
//===----------------------------------------------------------------------===//
#pragma once

#include "MovementCommon.h"

namespace ds::rt::movement {

enum class ScatterReduction { None, Add, Mul, Max, Min };

inline ScatterReduction parseScatterReduction(const AttrMap &attrs) {
  std::string r = attrs.getString("reduction", "none");
  if (r == "none") return ScatterReduction::None;
  if (r == "add") return ScatterReduction::Add;
  if (r == "mul") return ScatterReduction::Mul;
  if (r == "max") return ScatterReduction::Max;
  if (r == "min") return ScatterReduction::Min;
  throw Error("unknown reduction '" + r + "'");
}

/// Calls apply(combine) where combine(T &dst, T src) folds one update into place.
template <typename T, typename Fn> void withScatterCombine(ScatterReduction r, Fn &&apply) {
  switch (r) {
  case ScatterReduction::None: apply([](T &d, T s) { d = s; }); return;
  case ScatterReduction::Add:
    if constexpr (std::is_same_v<T, bool>)
      apply([](T &d, T s) { d = d || s; });
    else
      apply([](T &d, T s) { d = static_cast<T>(d + s); });
    return;
  case ScatterReduction::Mul:
    if constexpr (std::is_same_v<T, bool>)
      apply([](T &d, T s) { d = d && s; });
    else
      apply([](T &d, T s) { d = static_cast<T>(d * s); });
    return;
  case ScatterReduction::Max: apply([](T &d, T s) { d = std::max(d, s); }); return;
  case ScatterReduction::Min: apply([](T &d, T s) { d = std::min(d, s); }); return;
  }
}

/// Runs body(TypeTag<T>) with T the element type (for reductions) or an unsigned
/// integer of the element's width (for 'none', which only copies).
template <typename Fn>
void dispatchScatter(DType dtype, ScatterReduction r, const char *opName, Fn &&body) {
  if (r == ScatterReduction::None)
    dispatchBySize(dtype, opName, body);
  else
    dispatchDType<DS_ALL_TYPES>(dtype, opName, body);
}

} // namespace ds::rt::movement
