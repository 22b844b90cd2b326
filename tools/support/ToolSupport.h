//===- ToolSupport.h - what the ds-* command-line tools share --------------===//
//
// Loading a model (.onnx through the importer, or .mlir), binding input files
// to graph inputs, writing and comparing outputs, and the one-line error
// convention: "<tool>: error: <message>", exit code 2 for bad input.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "calibrate/TensorIO.h"
#include "executor/ReferenceExecutor.h"
#include "importer/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <string>
#include <vector>

namespace ds::tools {

/// Exit codes shared by every tool.
enum ExitCode : int { kExitOk = 0, kExitMismatch = 1, kExitBadInput = 2, kExitAccuracy = 3 };

/// A user-facing error from the tool layer (bad arguments, files).
class ToolError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Registers the dialects every tool's IR may contain.
void registerToolDialects(mlir::MLIRContext &context);

/// Loads `path`: an ONNX model through the importer, or ds IR from a .mlir file.
mlir::OwningOpRef<mlir::ModuleOp> loadModule(mlir::MLIRContext &context, const std::string &path,
                                             const importer::ImportOptions &options = {});

/// Runs the passes `build` adds on `module`; on failure throws ToolError
/// "<what>: <the first diagnostic>".
void runPasses(mlir::ModuleOp module, const std::function<void(mlir::OpPassManager &)> &build,
               const std::string &what);

/// Reads the tensors of `path` (.npz by name, .npy for a one-input model, a
/// test_data_set directory of .pb files by position) and orders them as the
/// graph's inputs. Checks names, dtypes and shapes; the message names the file.
std::vector<rt::Tensor> bindInputs(const std::string &path,
                                   const std::vector<exec::TensorSpec> &specs);

/// Writes one .npy per output into `dir` (created if missing), named after the
/// output ('/' and other unsafe characters become '_'). Two outputs that would
/// get the same file name (`a/b` and `a_b`) are an error before anything is written.
void writeOutputs(const std::string &dir, const std::vector<exec::TensorSpec> &specs,
                  const std::vector<rt::Tensor> &outputs);

/// Expected outputs from `dir`: output_N.pb files of a test_data_set, or
/// <name>.npy files. Ordered as `specs`.
std::vector<rt::Tensor> readExpectedOutputs(const std::string &dir,
                                            const std::vector<exec::TensorSpec> &specs);

struct Comparison {
  double maxAbsError = 0, maxRelError = 0;
  int64_t mismatches = 0;
  std::string problem; // non-empty when shapes/dtypes differ
  bool ok() const { return problem.empty() && mismatches == 0; }
};

/// numpy.allclose-style: |actual - expected| <= atol + rtol * |expected|;
/// NaN matches NaN, an infinity only the same infinity.
Comparison compareTensors(const rt::Tensor &actual, const rt::Tensor &expected, double rtol,
                          double atol);

/// An artifact directory's library must be a regular file (dlopen would block
/// on a FIFO); no-op for anything that is not an artifact directory.
void checkArtifactFiles(const std::string &path);

/// `text` with control characters escaped (\n, \t, \xNN): a file name holding a
/// newline must not split the one error line.
std::string oneLine(const std::string &text);

/// Runs `body`, turning every expected failure into "<tool>: error: <msg>" on
/// stderr (through oneLine) and the matching exit code.
int runTool(const char *toolName, const std::function<int()> &body);

} // namespace ds::tools
