//===- ResidentPages.h - give back the pages of large read-once data -------===//
//
// Models larger than memory (issue 4): weights are mmapped (the model's
// external data, the compiler's spill file) and read once per phase. Pages
// touched stay in the resident set until the mapping goes away, so a pass
// over every weight would pull the whole model into RSS. Callers that have
// finished with a large tensor hand its pages back; a later read faults them
// in again from the file. Contents never change: for memory that is not
// file-backed (heap tensors) the call does nothing, because without swap the
// kernel keeps anonymous pages.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>

namespace ds::rt {

class Tensor;

/// Ranges smaller than this are left alone: small models keep their weights
/// hot in the page cache, and the call is not worth a syscall.
constexpr size_t kReleasePagesMinBytes = size_t(4) << 20;

/// Asks the kernel to drop the whole pages inside [data, data + bytes) from
/// this process's resident set (MADV_PAGEOUT). Best effort; never fails.
void releaseResidentPages(const void *data, size_t bytes);
/// The same for a tensor's bytes.
void releaseResidentPages(const Tensor &t);

} // namespace ds::rt
