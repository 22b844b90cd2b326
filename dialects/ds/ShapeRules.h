//===- ShapeRules.h - per-op shape rules of ds-infer-shapes ----------------===//
//
// The contract between the driver (ShapeInference.cpp: walks the function,
// merges what a rule says into the IR's types) and the rules (ShapeRules*.cpp:
// one function per ONNX operator family, written from the ONNX operator spec).
// A rule reads its operands through ShapeContext and returns one ValueInfo per
// result, or nullopt for a result it cannot say anything about; it never
// fails: a malformed op keeps its type and the verifier or the kernel reports it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/ds/SymbolicShape.h"

#include "mlir/IR/Operation.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>

namespace ds::shapes {

/// What the rules know of the values computed so far.
class ShapeContext {
public:
  /// The value's info: from an earlier rule, else from its type (named input
  /// dims share symbols; a constant's small integer elements are read).
  const ValueInfo &info(mlir::Value v);
  /// A size no rule can express: a new symbol.
  Dim fresh() { return Dim::symbol(nextSymbol_++); }
  /// The symbol of an input dim named `name` (one symbol per name).
  Dim named(llvm::StringRef name);
  /// Records a result's final info (after the driver merged it with the IR type).
  void set(mlir::Value v, ValueInfo info) {
    infos_[v] = std::make_unique<ValueInfo>(std::move(info));
  }

  /// The elements of a small integer tensor when all are constants.
  std::optional<llvm::SmallVector<int64_t, 4>> constInts(mlir::Value v);
  /// The elements of a small float constant (Resize scales).
  std::optional<llvm::SmallVector<double, 4>> constFloats(mlir::Value v);

private:
  ValueInfo fromType(mlir::Value v);
  // Boxed: rules hold references to several infos while asking for more.
  llvm::DenseMap<mlir::Value, std::unique_ptr<ValueInfo>> infos_;
  llvm::StringMap<unsigned> namedSymbols_;
  unsigned nextSymbol_ = 1;
};

using Results = llvm::SmallVector<std::optional<ValueInfo>, 2>;
using Rule = std::function<Results(mlir::Operation *, ShapeContext &)>;

/// The rule of `op`'s operator, or null when no rule knows it.
const Rule *findShapeRule(mlir::Operation *op);

/// Rule tables of the families (each ShapeRules*.cpp adds its operators).
void addElementwiseShapeRules(llvm::StringMap<Rule> &rules);
void addMovementShapeRules(llvm::StringMap<Rule> &rules);
void addComputeShapeRules(llvm::StringMap<Rule> &rules);

//===- helpers shared by the rule files -----------------------------------===//

/// True when operand `i` is missing or `ds.none`.
bool isAbsent(mlir::Operation *op, unsigned i);
int64_t intAttr(mlir::Operation *op, llvm::StringRef name, int64_t dflt);
std::optional<llvm::SmallVector<int64_t, 4>> intsAttr(mlir::Operation *op, llvm::StringRef name);
std::string stringAttr(mlir::Operation *op, llvm::StringRef name, llvm::StringRef dflt);
/// `axis` in [0, rank) (negative counts from the end), or nullopt.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);
/// The op's `axis` attribute (default `dflt`) normalized against `x`'s rank, or
/// nullopt when `x` is unranked or the axis is out of range.
std::optional<int64_t> axisAttr(mlir::Operation *op, const ValueInfo &x, int64_t dflt);
/// The dim of two broadcast against each other (numpy rules).
Dim broadcastDim(const Dim &a, const Dim &b, ShapeContext &ctx);
/// The broadcast dims of ranked infos, or nullopt when one is unranked.
std::optional<llvm::SmallVector<Dim, 4>> broadcastDims(llvm::ArrayRef<const ValueInfo *> ins,
                                                      ShapeContext &ctx);
/// a + b as a dim: exact for constants and adding 0, else a fresh symbol.
Dim addDims(const Dim &a, const Dim &b, ShapeContext &ctx);
/// A usable dim from an element value (unknown or negative: a fresh symbol).
Dim asDim(const Dim &value, ShapeContext &ctx);
/// The same info for every result: `n` copies of `v`.
Results same(const ValueInfo &v, unsigned n = 1);

} // namespace ds::shapes
