//===- ModelLoader.h - read and validate an ONNX ModelProto ----------------===//
//
// The first half of import: protobuf parsing, opset/IR checks, external data
// (mmap, with path containment), ONNX's checker and shape inference. Produces
// a LoadedModel that the graph importer turns into ds IR.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "importer/OnnxImporter.h"

#include <onnx/onnx_pb.h>

#include "llvm/ADT/ArrayRef.h"

#include <map>
#include <memory>

namespace ds::importer {

/// A read-only mmap of a whole file; unmapped when the last owner goes away.
class MappedFile {
public:
  static std::shared_ptr<MappedFile> open(const std::string &path, const std::string &modelPath);
  ~MappedFile();
  llvm::ArrayRef<char> bytes() const { return {data_, size_}; }

private:
  MappedFile() = default;
  const char *data_ = nullptr;
  size_t size_ = 0;
};

/// Bytes of one tensor plus whatever keeps them alive.
struct TensorBytes {
  llvm::ArrayRef<char> data;
  std::shared_ptr<const void> owner;
};

class LoadedModel {
public:
  /// Parses and validates the structure (opsets, names, order); throws ImportError.
  static std::shared_ptr<LoadedModel> load(const std::string &path, const ImportOptions &options);
  /// ONNX's checker and shape inference, where the library knows the model's
  /// opset and IR version (see README "ONNX versions"). Run after the caller
  /// has rejected unsupported operators, so that its messages win.
  void runLibraryChecks(const ImportOptions &options);
  /// Fixes the dims of the named graph inputs (ImportOptions::inputShapes) and
  /// forgets inferred intermediate shapes so inference recomputes them. Throws
  /// ImportError for an unknown input, a rank mismatch or a clash with a fixed dim.
  void specializeInputs(const std::map<std::string, std::vector<int64_t>> &shapes);

  const onnx::ModelProto &model() const { return *model_; }
  const onnx::GraphProto &graph() const { return model_->graph(); }
  const std::string &path() const { return path_; }
  int opset() const { return opset_; }
  /// The opset the file declared when the version converter upgraded it, else 0.
  int upgradedFromOpset() const { return upgradedFrom_; }
  /// True when ONNX's shape inference ran, so value_info holds inferred types.
  bool shapesInferred() const { return shapesInferred_; }

  /// The little-endian element bytes of an initializer or Constant tensor
  /// (raw_data, typed fields, or external data), size-checked against its dims.
  /// `owner` keeps the bytes alive: this LoadedModel or an mmap.
  TensorBytes tensorBytes(const onnx::TensorProto &tensor,
                          const std::shared_ptr<const LoadedModel> &self) const;

  /// "<model path>: <message>" as an ImportError.
  [[noreturn]] void fail(const std::string &message) const;

private:
  void validateOpsetAndIr();
  void upgradeOpset();
  void validateGraphStructure() const;
  void runOnnxChecker() const;
  void runShapeInference();
  std::shared_ptr<MappedFile> externalFile(const std::string &location) const;

  std::unique_ptr<onnx::ModelProto> model_;
  std::string path_, dir_;
  int opset_ = 0;
  int upgradedFrom_ = 0;
  bool shapesInferred_ = false;
  mutable std::map<std::string, std::shared_ptr<MappedFile>> externalFiles_;
  /// Typed-field tensors converted to packed bytes, kept for the model's lifetime.
  mutable std::vector<std::unique_ptr<std::vector<char>>> convertedTensors_;
};

/// Bytes per element of an ONNX TensorProto data type; 0 when unsupported.
size_t onnxElementSize(int32_t dataType);

} // namespace ds::importer
