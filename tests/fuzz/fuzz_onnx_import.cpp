//===- fuzz_onnx_import.cpp - ONNX bytes through load + import ------------===//
//
// The input is a whole .onnx file. It goes through importOnnxModel exactly as
// ds-optimize and ds-run call it (protobuf parse, opset/IR checks, external
// data containment, ONNX's checker and shape inference, ds IR construction and
// the importer's own verification), in a fresh context each time. ImportError
// (or any std::exception) is the expected outcome for bad bytes; a crash,
// sanitizer report, hang, or a module that fails the MLIR verifier after a
// successful import is a finding.
//
//===----------------------------------------------------------------------===//
#include "FuzzSupport.h"

#include "importer/OnnxImporter.h"

#include "mlir/IR/Verifier.h"


#include <cstdio>
#include <cstdlib>
#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ds::fuzz::TempDir dir("onnx");
  // model.onnx alone in its directory: external-data locations resolve inside it.
  std::string path = dir.write("model.onnx", data, size);
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  ds::importer::registerImportDialects(context);
  try {
    mlir::OwningOpRef<mlir::ModuleOp> module = ds::importer::importOnnxModel(context, path);
    if (module && mlir::failed(mlir::verify(*module))) {
      std::fprintf(stderr, "importOnnxModel returned a module that fails verification\n");
      std::abort();
    }
  } catch (const std::exception &e) { // ImportError, or protobuf/ONNX's own
    ds::fuzz::note(e.what());
  }
  return 0;
}
