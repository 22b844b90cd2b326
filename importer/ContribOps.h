//===- ContribOps.h - com.microsoft operators of the LLM exporters ---------===//
//
// onnxruntime-genai's model builder (how DeepSeek-R1-Distill, Phi and Llama
// ONNX models ship) and ORT's transformer optimizer write fused operators in
// the com.microsoft domain. The importer lowers each onto ds ops with ORT's
// semantics (ContribOperators.md), so that one concept stays one op: an
// exporter's GroupQueryAttention lands on the same ds.attention (and
// ds.rotary) that ds-fuse-attention makes from a decomposed chain, and
// SimplifiedLayerNormalization on ds.rms_norm. A form the lowering does not
// implement (interleaved or partial rotary, a local window, softcap, g_idx)
// is one error line naming the node, never an approximation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "importer/ModelLoader.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace ds::importer {

inline constexpr const char *kMicrosoftDomain = "com.microsoft";

/// What a lowering needs from the importer: the node's operands, a way to
/// create ds ops and constants, and the one-line error that names the node.
class ContribBuilder {
public:
  virtual ~ContribBuilder() = default;
  /// Operand `i` of the node, or a null Value when absent (or empty).
  virtual mlir::Value operand(int i) = 0;
  /// Binds the node's output `i` (ignored when the model leaves it unnamed).
  virtual void setResult(int i, mlir::Value v) = 0;
  /// True when the model names the node's output `i`.
  virtual bool resultUsed(int i) = 0;
  /// A ds op with unranked results (shape inference types them after import).
  virtual mlir::Operation *emit(const std::string &dsOp, mlir::ArrayRef<mlir::Value> operands,
                                mlir::ArrayRef<mlir::NamedAttribute> attrs = {},
                                unsigned results = 1) = 0;
  virtual mlir::Value constantI64(llvm::ArrayRef<int64_t> values, bool scalar = false) = 0;
  /// The `ds.none` placeholder of an absent optional operand.
  virtual mlir::Value none() = 0;
  virtual mlir::Value constantF32(llvm::ArrayRef<float> values, llvm::ArrayRef<int64_t> shape) = 0;
  /// Fixes dim `dim` of `v` at `size` when `v` is a graph input whose dim is
  /// dynamic (what the operator's semantics require anyway): the head size of
  /// a KV cache the exporter left symbolic, so that its empty form has a shape.
  virtual void refineInputDim(mlir::Value v, int64_t dim, int64_t size) = 0;
  [[noreturn]] virtual void fail(const std::string &message) = 0;
  virtual mlir::OpBuilder &builder() = 0;
};

/// True for the com.microsoft operators the importer lowers.
bool isSupportedContribOp(const std::string &opType);

/// True for a node the contrib lowering takes: a com.microsoft node, or one of
/// the ORT operators registered in the default domain although ONNX has no
/// such operator (SimplifiedLayerNormalization, as the genai builder writes it).
bool isContribNode(const onnx::NodeProto &node);

/// Lowers one com.microsoft node; errors go through `b.fail`.
void lowerContribOp(const onnx::NodeProto &node, ContribBuilder &b);

} // namespace ds::importer
