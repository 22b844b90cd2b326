//===- ResidentPages.cpp --------------------------------------------------===//
#include "ds/runtime/ResidentPages.h"

#include "ds/runtime/Tensor.h"

#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21 // Linux 5.4+; older kernels answer EINVAL, which is fine
#endif

namespace ds::rt {

void releaseResidentPages(const void *data, size_t bytes) {
  if (!data || bytes < kReleasePagesMinBytes)
    return;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_PAGEOUT);
}

void releaseResidentPages(const Tensor &t) { releaseResidentPages(t.rawData(), t.byteSize()); }

} // namespace ds::rt
