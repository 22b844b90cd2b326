//===- FileHelpers.cpp ----------------------------------------------------===//
#include "ds/runtime/FileHelpers.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <limits>

namespace ds::rt::files {
namespace {
[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw Error(where + ": " + what);
}
} // namespace

int openRegularFile(const std::string &path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  // fstat on the descriptor, not stat on the name, so what is checked is what is read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      fail(path, "no such file");
    fail(path, std::string("cannot open: ") + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    if (dir)
      fail(path, "is a directory, expected a file");
    fail(path, "not a regular file"); // a FIFO or device would block or never end
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

void requireRegularFile(const std::string &path) { ::close(openRegularFile(path)); }

std::ifstream openForRead(const std::string &path, uint64_t &size) {
  requireRegularFile(path);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto end = in.tellg();
  in.seekg(0, std::ios::beg);
  if (end < 0 || !in)
    fail(path, "cannot determine file size");
  size = static_cast<uint64_t>(end);
  return in;
}

void writeFileAtomically(const std::string &path, const std::string &bytes) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // mkstemp: O_CREAT | O_EXCL under a random name, so nothing planted is followed.
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    fail(path, std::string("cannot create a temporary file beside it: ") + std::strerror(errno));
  auto cleanup = [&](const std::string &what) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    fail(path, what + ": " + std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      cleanup("write failed");
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0)
    cleanup("cannot flush");
  if (::close(fd) != 0) {
    ::unlink(tmpl.c_str());
    fail(path, "cannot flush");
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    fail(path, std::string("cannot rename into place: ") + std::strerror(err));
  }
}

PrivateTempDir::PrivateTempDir(const std::string &prefix) {
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  if (ec)
    base = "/tmp";
  std::string tmpl = (base / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) // mode 0700, created with O_EXCL semantics
    fail(tmpl, std::string("cannot create a temporary directory: ") + std::strerror(errno));
  path_ = tmpl;
}

PrivateTempDir::~PrivateTempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string readWholeFile(const std::string &path) {
  uint64_t size = 0;
  std::ifstream in = openForRead(path, size);
  if (size > std::numeric_limits<size_t>::max() / 2)
    fail(path, "file too large");
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size && !in.read(bytes.data(), static_cast<std::streamsize>(size)))
    fail(path, "read error");
  return bytes;
}

std::ofstream openForWrite(const std::string &path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  return out;
}

void finishWrite(std::ofstream &out, const std::string &path) {
  out.flush();
  if (!out)
    fail(path, "write failed");
  out.close();
  if (out.fail())
    fail(path, "write failed (close)");
}

void checkedSizes(const std::string &where, const Shape &shape, DType dtype,
                  int64_t &numel, uint64_t &bytes) {
  try {
    numel = rt::shapeNumel(shape);
  } catch (const rt::Error &) {
    fail(where, "element count overflow for shape " + rt::shapeToString(shape));
  }
  uint64_t elem = rt::dtypeSize(dtype);
  if (elem && static_cast<uint64_t>(numel) >
                  static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elem)
    fail(where, "byte size overflow for shape " + rt::shapeToString(shape));
  bytes = static_cast<uint64_t>(numel) * elem;
}

Tensor allocate(const std::string &where, DType dtype, const Shape &shape) {
  try {
    return Tensor(dtype, shape);
  } catch (const rt::Error &e) {
    fail(where, e.what());
  }
}

void normalizeBools(Tensor &t) {
  if (t.dtype() != DType::Bool)
    return;
  auto *p = static_cast<uint8_t *>(t.mutableRawData());
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = p[i] != 0;
}

} // namespace ds::rt::files
