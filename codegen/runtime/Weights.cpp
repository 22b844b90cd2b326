//===- Weights.cpp - mmap of weights.bin ----------------------------------===//
#include "ds/runtime/Weights.h"

#include <cerrno>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ds::rt {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw Error(path + ": " + what);
}

/// Owns one mapping; munmap on destruction.
struct Mapping {
  void *addr = nullptr;
  size_t length = 0;
  ~Mapping() {
    if (addr && length)
      ::munmap(addr, length);
  }
};

} // namespace

WeightsView WeightsView::open(const std::string &path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    fail(path, errno == ENOENT ? "no such file" : std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  auto mapping = std::make_shared<Mapping>();
  WeightsView view;
  view.path_ = path;
  view.size_ = static_cast<uint64_t>(st.st_size);
  if (view.size_ > 0) {
    void *addr = ::mmap(nullptr, static_cast<size_t>(view.size_), PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd); // the mapping keeps the file referenced
    if (addr == MAP_FAILED)
      fail(path, std::string("cannot map: ") + std::strerror(err));
    mapping->addr = addr;
    mapping->length = static_cast<size_t>(view.size_);
    view.data_ = static_cast<const uint8_t *>(addr);
  } else {
    ::close(fd);
  }
  view.holder_ = std::move(mapping);
  return view;
}

Tensor WeightsView::tensor(uint64_t offset, DType dtype, Shape shape) const {
  const std::string &where = path_.empty() ? std::string("weights") : path_;
  uint64_t elem = dtypeSize(dtype);
  if (elem == 0)
    fail(where, std::string("constant at offset ") + std::to_string(offset) + " has dtype " +
                    dtypeName(dtype) + ", which has no fixed element size");
  if (offset % kAlignment != 0)
    fail(where, "constant offset " + std::to_string(offset) + " is not a multiple of " +
                    std::to_string(kAlignment));
  int64_t numel = 0;
  try {
    numel = shapeNumel(shape);
  } catch (const Error &e) {
    fail(where, "constant at offset " + std::to_string(offset) + ": " + e.what());
  }
  uint64_t n = static_cast<uint64_t>(numel);
  if (n > std::numeric_limits<uint64_t>::max() / elem)
    fail(where, "constant at offset " + std::to_string(offset) + ": byte size overflows");
  uint64_t bytes = n * elem;
  if (offset > size_ || bytes > size_ - offset)
    fail(where, "constant [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                    ") of shape " + shapeToString(shape) + " lies outside the file (" +
                    std::to_string(size_) + " bytes)");
  static const uint8_t kEmpty[kAlignment] = {};
  const void *p = bytes ? static_cast<const void *>(data_ + offset) : kEmpty;
  return Tensor::borrow(dtype, std::move(shape), p, holder_);
}

} // namespace ds::rt
