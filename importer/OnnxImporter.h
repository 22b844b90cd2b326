//===- OnnxImporter.h - ONNX model -> ds dialect ---------------------------===//
//
// Phase 1 of the pipeline (DESIGN §2): load an ONNX model with ONNX's own C++
// library (external data too), validate it, run ONNX's checker and shape
// inference where they apply, and build a `func.func @main` of `ds` ops.
// Called by ds-optimize, ds-run and the tests.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <stdexcept>
#include <vector>
#include <string>

namespace ds::importer {

/// The lowest and highest default-domain opset the importer accepts.
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 22;
/// Models from this opset up to kMinOpset - 1 are upgraded to kMinOpset by
/// ONNX's own version converter (its adapters start at opset 7).
constexpr int kMinUpgradableOpset = 7;
/// The newest opset Debian's ONNX library (1.12) has schemas for: its checker
/// and shape inference run only up to here (see README "ONNX versions").
constexpr int kOnnxLibraryMaxOpset = 17;
constexpr int kOnnxLibraryMaxIrVersion = 8;

/// A user-facing import failure. what() is one line: "<file>: <what, where, what to do>".
class ImportError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct ImportOptions {
  /// Run ONNX's checker / shape inference when the model is within what the
  /// library knows (opset <= 17, IR version <= 8).
  bool runChecker = true;
  bool runShapeInference = true;
  /// Shape specialization: fixed dims for graph inputs by name (every dim of
  /// the input, e.g. {"input_ids", {1, 128}}). Applied before shape
  /// inference, which then makes the whole graph static where it can.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Upper bounds for graph inputs by name (every dim of the input; the model's
  /// fixed dims must be repeated as they are). Dynamic dims stay dynamic; the
  /// bounds go on @main's argument as `ds.max_shape`, and the executor and every
  /// artifact refuse larger inputs with an error naming the input and the dim.
  std::map<std::string, std::vector<int64_t>> maxInputShapes;
};

/// Imports the model at `path` into `context` (which must have the ds and func
/// dialects loaded). Weight blobs reference memory owned by the returned module's
/// resources (the parsed model or an mmap), never copies into attribute storage.
/// Throws ImportError.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(mlir::MLIRContext &context,
                                                  const std::string &path,
                                                  const ImportOptions &options = {});

/// The `ds` op name (without "ds.") for an ONNX op type: snake_case, with the
/// few names where mechanical conversion reads badly spelled out.
std::string dsOpNameForOnnxType(const std::string &onnxType);

/// Registers every dialect the importer's output uses.
void registerImportDialects(mlir::MLIRContext &context);

} // namespace ds::importer
