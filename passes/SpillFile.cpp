//===- SpillFile.cpp ------------------------------------------------------===//
#include "passes/SpillFile.h"


#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace ds::passes {

namespace {

/// The process's spill file: appended to at page-aligned offsets, never shrunk
/// (the space goes back when the process exits and the last mapping closes).
class SpillFile {
public:
  static SpillFile &instance() {
    static SpillFile file;
    return file;
  }

  /// Writes `bytes` at a fresh page-aligned offset and maps them; nullptr on failure.
  const char *append(llvm::ArrayRef<char> bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fd_ < 0)
      return nullptr;
    off_t offset = end_;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = pwrite(fd_, bytes.data() + done, bytes.size() - done,
                         offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return nullptr; // ENOSPC and friends: the caller falls back to the heap
      done += static_cast<size_t>(n);
    }
    void *p = mmap(nullptr, bytes.size(), PROT_READ, MAP_SHARED, fd_, offset);
    if (p == MAP_FAILED)
      return nullptr;
    end_ = offset + static_cast<off_t>(roundToPage(bytes.size()));
    return static_cast<const char *>(p);
  }

  static size_t roundToPage(size_t n) {
    static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
  }

private:
  SpillFile() {
    const char *tmp = std::getenv("TMPDIR");
    fd_ = open(tmp && *tmp ? tmp : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ < 0 && tmp && *tmp)
      fd_ = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  }

  std::mutex mutex_;
  int fd_ = -1;
  off_t end_ = 0;
};

} // namespace

std::optional<mlir::AsmResourceBlob> spillBlob(llvm::ArrayRef<char> bytes, size_t align) {
  if (bytes.empty() || align > 4096)
    return std::nullopt;
  const char *mapped = SpillFile::instance().append(bytes);
  if (!mapped)
    return std::nullopt;
  size_t size = bytes.size();
  // Writing went through the page cache, not this process's pages; mapping
  // starts with none resident.
  return mlir::UnmanagedAsmResourceBlob::allocateWithAlign(
      llvm::ArrayRef<char>(mapped, size), align,
      [size](void *data, size_t, size_t) { munmap(data, size); });
}

} // namespace ds::passes
