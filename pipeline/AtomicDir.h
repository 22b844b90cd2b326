//===- AtomicDir.h - publish a directory all at once ----------------------===//
//
// Artifacts are built in a staging directory beside the target and published
// with rename(2), so the output path holds the previous complete artifact or
// the new complete one, never a partial one (DESIGN §2 phase 8). A run killed
// mid-way leaves only a ".<name>.staging-*" directory, which the next run
// removes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <filesystem>
#include <string>

namespace ds::pipeline {

/// Throws std::runtime_error naming `target` unless it is absent, an empty
/// directory or an artifact (a directory with manifest.json): a user's own
/// directory or a symlink given as OUT/<profile> is never deleted or replaced.
void checkReplaceable(const std::filesystem::path &target);

class StagingDir {
public:
  /// Creates `<parent of target>/.<target name>.staging-XXXXXX` (mkdtemp; parents
  /// too), after checkReplaceable(target) and removing stale staging directories
  /// of the same target.
  explicit StagingDir(std::filesystem::path target);
  /// Removes the staging directory if it was not published.
  ~StagingDir();
  StagingDir(const StagingDir &) = delete;
  StagingDir &operator=(const StagingDir &) = delete;

  const std::filesystem::path &path() const { return staging_; }

  /// fsyncs every file and directory under the staging directory, then renames
  /// it onto the target; an existing target is exchanged with it in one
  /// renameat2(RENAME_EXCHANGE) and then removed. Throws std::runtime_error.
  void publish();

private:
  std::filesystem::path target_, staging_;
  bool published_ = false;
};

/// Writes `bytes` to `path` and fsyncs it. Throws std::runtime_error.
void writeFileDurably(const std::filesystem::path &path, const std::string &bytes);

} // namespace ds::pipeline
