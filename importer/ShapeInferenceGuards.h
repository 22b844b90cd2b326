//===- ShapeInferenceGuards.h - preconditions for ONNX's shape inference --===//
//
// Debian's libonnx 1.12 has shape-inference functions that index shapes and
// attributes without checking their sizes (fixed upstream later). A hostile
// model reaches them before our own verification runs, so the importer wraps
// those functions with the checks the newer ONNX releases make: a violated
// precondition becomes an onnx::InferenceError (one line naming the node),
// never an out-of-bounds read.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace ds::importer {

/// Wraps the affected schemas' inference functions, once per process. Safe to
/// call from several threads; later calls do nothing.
void installShapeInferenceGuards();

} // namespace ds::importer
