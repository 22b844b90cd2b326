//===- AtomicDir.cpp ------------------------------------------------------===//
#include "pipeline/AtomicDir.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace ds::pipeline {

namespace {
[[noreturn]] void fail(const fs::path &path, const std::string &what) {
  throw std::runtime_error(path.string() + ": " + what + ": " + std::strerror(errno));
}

void fsyncPath(const fs::path &path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0)
    fail(path, "cannot open to sync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    fail(path, "fsync failed");
}

std::string stagingPrefix(const fs::path &target) {
  return "." + target.filename().string() + ".staging-";
}
} // namespace

void writeFileDurably(const fs::path &path, const std::string &bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(path, "cannot create");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ::close(fd);
      fail(path, "write failed");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    fail(path, "cannot flush");
}

StagingDir::StagingDir(fs::path target) : target_(std::move(target)) {
  fs::path parent = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  fs::create_directories(parent);
  std::string prefix = stagingPrefix(target_);
  for (const auto &entry : fs::directory_iterator(parent))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      fs::remove_all(entry.path());
  staging_ = parent / (prefix + std::to_string(::getpid()));
  fs::create_directories(staging_);
}

StagingDir::~StagingDir() {
  if (!published_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void StagingDir::publish() {
  std::vector<fs::path> dirs{staging_};
  for (const auto &entry : fs::recursive_directory_iterator(staging_)) {
    if (entry.is_directory())
      dirs.push_back(entry.path());
    else if (entry.is_regular_file())
      fsyncPath(entry.path(), false);
  }
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
    fsyncPath(*it, true);
  fs::path parent = staging_.parent_path();
  if (fs::exists(fs::symlink_status(target_))) {
    // Swap in one step: at every instant the target is the old or the new artifact.
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0)
      fail(target_, "cannot swap in the new artifact");
    published_ = true;
    fsyncPath(parent, true);
    fs::remove_all(staging_); // now holds the previous artifact
    return;
  }
  if (::rename(staging_.c_str(), target_.c_str()) != 0)
    fail(target_, "cannot publish the artifact");
  published_ = true;
  fsyncPath(parent, true);
}

} // namespace ds::pipeline
