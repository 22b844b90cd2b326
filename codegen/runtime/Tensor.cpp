//===- Tensor.cpp ---------------------------------------------------------===//
#include "ds/runtime/Tensor.h"

#include <cstdlib>
#include <new>
#include <map>
#include <mutex>
#include <vector>
#include <limits>

namespace ds::rt {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32: case DType::I32: case DType::U32: return 4;
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  case DType::I8: case DType::U8: case DType::Bool: return 1;
  case DType::Undefined: case DType::String: return 0;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::Undefined: return "undefined";
  case DType::F32: return "float";
  case DType::U8: return "uint8";
  case DType::I8: return "int8";
  case DType::U16: return "uint16";
  case DType::I16: return "int16";
  case DType::I32: return "int32";
  case DType::I64: return "int64";
  case DType::String: return "string";
  case DType::Bool: return "bool";
  case DType::F16: return "float16";
  case DType::F64: return "double";
  case DType::U32: return "uint32";
  case DType::U64: return "uint64";
  case DType::BF16: return "bfloat16";
  }
  return "unknown";
}

int64_t shapeNumel(const Shape &shape) {
  // Every tensor made runs this; a checked multiply instead of a division per
  // dim (it was ~3% of a decode step).
  int64_t n = 1;
  for (int64_t d : shape) {
    DS_CHECK(d >= 0, "negative dimension in shape " + shapeToString(shape));
    if (__builtin_mul_overflow(n, d, &n))
      throw Error("element count of shape " + shapeToString(shape) + " overflows");
  }
  return n;
}

std::string shapeToString(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
constexpr size_t kAlignment = 64;

/// Per-thread free lists of small 64-byte aligned blocks: 64 B to 4 KB in
/// 64-byte classes. Every tensor a kernel makes needs a shape control block, a
/// buffer control block and, for most of a decode step's tensors, a buffer
/// under 4 KB. glibc's tcache keeps 7 blocks per size, so most of these went
/// through _int_malloc/_int_free and memalign: ~1000 allocations and ~15% of a
/// sample-LM decode step. A block freed on another thread joins that
/// thread's lists; each thread keeps at most kMaxBytesPerThread, the rest go
/// back to free(). Sanitizer builds bypass the lists, so ASan still sees
/// every use after free.
class SmallBlocks {
public:
  static constexpr size_t kMaxBytes = 4096;
  static constexpr size_t kMaxBytesPerThread = size_t(1) << 20;

  static void *take(size_t bytes) {
    size_t size = roundUp(bytes);
#if !defined(__SANITIZE_ADDRESS__)
    if (Lists *lists = local(); lists && size <= kMaxBytes) {
      std::vector<void *> &free = lists->free[size / kAlignment - 1];
      if (!free.empty()) {
        void *p = free.back();
        free.pop_back();
        lists->bytes -= size;
        return p;
      }
    }
#endif
    return std::aligned_alloc(kAlignment, size);
  }

  static void give(void *p, size_t bytes) {
#if !defined(__SANITIZE_ADDRESS__)
    size_t size = roundUp(bytes);
    if (Lists *lists = local(); lists && size <= kMaxBytes && lists->bytes + size <= kMaxBytesPerThread) {
      lists->free[size / kAlignment - 1].push_back(p);
      lists->bytes += size;
      return;
    }
#endif
    std::free(p);
  }

private:
  static size_t roundUp(size_t bytes) {
    return bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  struct Lists {
    std::vector<void *> free[kMaxBytes / kAlignment];
    size_t bytes = 0;
    bool alive = true;
    ~Lists() {
      for (auto &list : free)
        for (void *p : list)
          std::free(p);
      alive = false; // blocks freed later in this thread's exit go to free()
    }
  };
  static Lists *local() {
    thread_local Lists lists;
    return lists.alive ? &lists : nullptr;
  }
};

/// std allocator over SmallBlocks, for the tensors' control blocks.
template <typename T> struct SmallBlockAllocator {
  using value_type = T;
  SmallBlockAllocator() = default;
  template <typename U> SmallBlockAllocator(const SmallBlockAllocator<U> &) {}
  T *allocate(size_t n) {
    void *p = SmallBlocks::take(n * sizeof(T));
    if (!p)
      throw std::bad_alloc();
    return static_cast<T *>(p);
  }
  void deallocate(T *p, size_t n) { SmallBlocks::give(p, n * sizeof(T)); }
  template <typename U> bool operator==(const SmallBlockAllocator<U> &) const { return true; }
};

/// Recycles large tensor buffers. A model run allocates the same activation
/// sizes every time; without reuse each large one comes fresh from the OS
/// (glibc mmaps big blocks) and costs page faults, zeroing and munmap on every
/// run, ~30% of a small CNN's latency. Buffers of at least kMinCached bytes
/// are kept in size classes of four steps per power of two (<= 25% slack), up
/// to kMaxCachedBytes in all; smaller ones go to SmallBlocks.
/// The floor was 64 KB: the sample LM artifact's 32 KB tensors (its KV heads)
/// then went back to malloc, whose heap trimming returned them to the OS, and
/// every run took ~75 page faults (~10% of its latency) to map them again.
/// Contents are zeroed on every allocation (except Tensor::uninitialized, whose
/// callers write every element), so reuse is invisible.
class BufferCache {
public:
  static constexpr size_t kMinCached = size_t(4) << 10;
  static constexpr size_t kMaxCachedBytes = size_t(256) << 20;

  /// The allocation size for `bytes` (its class), or `bytes` rounded to the
  /// alignment when it is too small to cache.
  static size_t classSize(size_t bytes) {
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (bytes < kMinCached)
      return bytes == 0 ? kAlignment : bytes;
    size_t top = size_t(1) << (63 - __builtin_clzll(bytes)); // highest power of two <= bytes
    size_t step = top / 4;
    return (bytes + step - 1) / step * step;
  }

  void *take(size_t size) {
    if (size >= kMinCached) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void *p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return p;
      }
    }
    return size < kMinCached ? SmallBlocks::take(size) : std::aligned_alloc(kAlignment, size);
  }

  void give(void *p, size_t size) {
    if (size < kMinCached)
      return SmallBlocks::give(p, size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + size <= kMaxCachedBytes) {
        free_[size].push_back(p);
        cached_ += size;
        return;
      }
    }
    std::free(p);
  }

  /// Never destroyed: tensors released during static destruction still find it.
  static BufferCache &instance() {
    static BufferCache *cache = new BufferCache;
    return *cache;
  }

private:
  std::mutex mutex_;
  std::map<size_t, std::vector<void *>> free_;
  size_t cached_ = 0;
};

struct CachedFree {
  size_t size;
  void operator()(const void *p) const { BufferCache::instance().give(const_cast<void *>(p), size); }
};
} // namespace

const Shape &Tensor::noDims() {
  static const Shape empty;
  return empty;
}

void Tensor::setShape(Shape shape) {
  numel_ = shapeNumel(shape);
  shape_ = shape.empty() ? nullptr
                        : std::allocate_shared<Shape>(SmallBlockAllocator<Shape>(), std::move(shape));
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype) {
  setShape(std::move(shape));
  allocate(true);
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.setShape(std::move(shape));
  t.allocate(false);
  return t;
}

void Tensor::allocate(bool zeroed) {
  DS_CHECK(dtype_ != DType::Undefined && dtype_ != DType::String,
           std::string("cannot allocate a tensor of type ") + dtypeName(dtype_));
  size_t bytes = byteSize();
  size_t size = BufferCache::classSize(bytes);
  void *p = BufferCache::instance().take(size);
  if (!p)
    throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  if (zeroed)
    std::memset(p, 0, bytes);
#if defined(__SANITIZE_ADDRESS__)
  else // sanitizer builds: an element a kernel forgot to write reads as NaN / -1
    std::memset(p, 0xFF, bytes);
#endif
  holder_ = std::shared_ptr<const void>(p, CachedFree{size}, SmallBlockAllocator<char>());
  data_ = p;
}

Tensor Tensor::borrow(DType dtype, Shape shape, const void *data,
                      std::shared_ptr<const void> holder) {
  Tensor t;
  t.dtype_ = dtype;
  t.setShape(std::move(shape));
  t.holder_ = std::move(holder);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  DS_CHECK(shapeNumel(shape) == numel_, "cannot reshape " + shapeToString(this->shape()) +
                                            " to " + shapeToString(shape));
  Tensor t = *this;
  t.setShape(std::move(shape));
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = uninitialized(dtype_, shape());
  if (byteSize())
    std::memcpy(t.mutableRawData(), data_, byteSize());
  return t;
}

template <typename Fn> static auto visitNumeric(DType dtype, const void *data, int64_t i, Fn fn) {
  switch (dtype) {
  case DType::F32: return fn(static_cast<const float *>(data)[i]);
  case DType::F64: return fn(static_cast<const double *>(data)[i]);
  case DType::I8: return fn(static_cast<const int8_t *>(data)[i]);
  case DType::U8: return fn(static_cast<const uint8_t *>(data)[i]);
  case DType::I16: return fn(static_cast<const int16_t *>(data)[i]);
  case DType::U16: return fn(static_cast<const uint16_t *>(data)[i]);
  case DType::I32: return fn(static_cast<const int32_t *>(data)[i]);
  case DType::U32: return fn(static_cast<const uint32_t *>(data)[i]);
  case DType::I64: return fn(static_cast<const int64_t *>(data)[i]);
  case DType::U64: return fn(static_cast<const uint64_t *>(data)[i]);
  case DType::Bool: return fn(static_cast<const bool *>(data)[i]);
  default:
    throw Error(std::string("cannot read elements of type ") + dtypeName(dtype));
  }
}

double Tensor::getAsDouble(int64_t i) const {
  DS_CHECK(i >= 0 && i < numel_, "element index out of range");
  return visitNumeric(dtype_, data_, i, [](auto v) { return static_cast<double>(v); });
}

int64_t Tensor::getAsInt64(int64_t i) const {
  DS_CHECK(i >= 0 && i < numel_, "element index out of range");
  return visitNumeric(dtype_, data_, i, [](auto v) { return static_cast<int64_t>(v); });
}

std::vector<int64_t> Tensor::toInt64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i)
    out[static_cast<size_t>(i)] = getAsInt64(i);
  return out;
}

} // namespace ds::rt
