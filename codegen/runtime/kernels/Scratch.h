//===- Scratch.h - grow-only, 64-byte aligned per-thread scratch ----------===//
//
// Packing buffers, im2col columns and Winograd planes are on every call's hot
// path: fresh (zero-filled) vectors would memset and page-fault each time. A
// kernel keeps one `static thread_local Scratch<T>` per buffer it needs; the
// buffer grows to the largest request and is kept. Contents are unspecified
// between calls.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ds::rt {

template <typename T> class Scratch {
public:
  /// At least `count` elements, 64-byte aligned.
  T *get(size_t count) {
    if (count > capacity_) {
      storage_.assign(count + 64 / sizeof(T), T{});
      capacity_ = count;
    }
    auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    return reinterpret_cast<T *>((addr + 63) & ~uintptr_t(63));
  }

private:
  std::vector<T> storage_;
  size_t capacity_ = 0;
};

} // namespace ds::rt
