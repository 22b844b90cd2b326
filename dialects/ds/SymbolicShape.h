//===- SymbolicShape.h - dims as products of symbols, for shape inference -===//
//
// ds-infer-shapes reasons about dims that MLIR's types can only call `?`. A
// dim is `coeff * s1 * s2 * ...` over opaque symbols: a named input dim
// (`batch_size`, `sequence_length`: the same name is the same symbol), or a
// size the rules could not express (a fresh symbol). Products stay exact, so
// `Reshape(x : [b, s, 64], [b, s, -1, 16])` resolves the -1 to 4, and
// `Reshape(y : [b, s, 4, 16], [b, s, -1])` back to 64, as onnx-mlir and ONNX's
// own symbolic inference do. A value that is not known to be a size (the
// result of arithmetic the rules do not model) is `unknown`: it never cancels
// and becomes a fresh symbol when used as a dim.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ds::shapes {

struct Dim {
  int64_t coeff = 1;
  llvm::SmallVector<unsigned, 2> syms; // sorted; empty: the constant coeff
  bool unknown = false;                // a value of no known form

  static Dim constant(int64_t v) { return Dim{v, {}, false}; }
  static Dim symbol(unsigned s) { return Dim{1, {s}, false}; }
  static Dim unknownValue() { return Dim{0, {}, true}; }

  bool isConst() const { return !unknown && syms.empty(); }
  bool isConst(int64_t v) const { return isConst() && coeff == v; }
  bool operator==(const Dim &o) const {
    return !unknown && !o.unknown && coeff == o.coeff && syms == o.syms;
  }
  bool operator!=(const Dim &o) const { return !(*this == o); }
};

/// a * b, or nullopt when either is unknown or the coefficient overflows.
inline std::optional<Dim> mulDims(const Dim &a, const Dim &b) {
  if (a.unknown || b.unknown)
    return std::nullopt;
  Dim r;
  if (__builtin_mul_overflow(a.coeff, b.coeff, &r.coeff))
    return std::nullopt;
  if (r.coeff == 0)
    return Dim::constant(0);
  r.syms.append(a.syms.begin(), a.syms.end());
  r.syms.append(b.syms.begin(), b.syms.end());
  llvm::sort(r.syms);
  return r;
}

/// a / b when b divides a exactly as a monomial (its symbols are among a's and
/// its coefficient divides a's), else nullopt.
inline std::optional<Dim> divDims(const Dim &a, const Dim &b) {
  if (a.unknown || b.unknown || b.coeff == 0 || a.coeff % b.coeff != 0)
    return std::nullopt;
  Dim r{a.coeff / b.coeff, a.syms, false};
  for (unsigned s : b.syms) {
    auto it = llvm::find(r.syms, s);
    if (it == r.syms.end())
      return std::nullopt;
    r.syms.erase(it);
  }
  return r;
}

/// What inference knows of one value: its dims when ranked, and for a small
/// integer tensor of rank 0 or 1 (a shape, an axis, a position) its elements.
struct ValueInfo {
  bool ranked = false;
  llvm::SmallVector<Dim, 4> dims;
  std::optional<llvm::SmallVector<Dim, 4>> elems;

  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  static ValueInfo withDims(llvm::SmallVector<Dim, 4> dims) {
    ValueInfo v;
    v.ranked = true;
    v.dims = std::move(dims);
    return v;
  }
};

} // namespace ds::shapes
