//===- AtomicDir.cpp ------------------------------------------------------===//
#include "pipeline/AtomicDir.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
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

void checkReplaceable(const fs::path &target) {
  std::error_code ec;
  auto status = fs::symlink_status(target, ec);
  if (!fs::exists(status))
    return;
  auto refuse = [&](const std::string &what) {
    throw std::runtime_error(target.string() + ": " + what +
                             "; only an empty directory or an earlier artifact is replaced: move "
                             "it away or pick another -o");
  };
  if (fs::is_symlink(status))
    refuse("is a symlink");
  if (!fs::is_directory(status))
    refuse("exists and is not a directory");
  if (fs::is_empty(target, ec) && !ec)
    return;
  if (!fs::is_regular_file(fs::symlink_status(target / "manifest.json", ec)))
    refuse("is not empty and not an artifact (no manifest.json)");
}

StagingDir::StagingDir(fs::path target) : target_(std::move(target)) {
  checkReplaceable(target_);
  fs::path parent = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  fs::create_directories(parent);
  std::string prefix = stagingPrefix(target_);
  for (const auto &entry : fs::directory_iterator(parent))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      fs::remove_all(entry.path());
  // mkdtemp: a fresh name, created exclusively, so a planted link is never written through.
  std::string tmpl = (parent / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    fail(parent, "cannot create the staging directory");
  staging_ = tmpl;
  fs::permissions(staging_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
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
  checkReplaceable(target_); // again: the job ran for a while
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
