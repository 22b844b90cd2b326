//===- SpillFile.h - large constants made by passes live in a file ---------===//
//
// A pass that rewrites a weight (INT8 quantization, BatchNorm folding) makes a
// new blob. Kept on the heap, the blobs of a model larger than memory would
// add up to a quarter of the model (INT8) on top of the FP32 weights. Blobs of
// kSpillMinBytes or more are written instead to one unnamed temporary file
// (O_TMPFILE: it has no path, so nothing is left behind when the process
// ends or is killed) and mapped back read-only; their pages are resident only
// while something reads them (see ds/runtime/ResidentPages.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/AsmState.h"

#include <optional>

namespace ds::passes {

constexpr size_t kSpillMinBytes = size_t(16) << 20;

/// A blob holding a copy of `bytes` in the spill file (in $TMPDIR, else /tmp),
/// aligned to `align` (at most a page). nullopt when the file cannot be made
/// or written (no space): the caller keeps the copy on the heap instead.
std::optional<mlir::AsmResourceBlob> spillBlob(llvm::ArrayRef<char> bytes, size_t align);

} // namespace ds::passes
