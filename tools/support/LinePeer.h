//===- LinePeer.h - a child process spoken to one line at a time ----------===//
//
// ds-benchmark keeps ONNX Runtime's peer script running beside it and asks it
// for blocks of timed runs between blocks of its own, so that both sides see
// the same moments of a shared machine. The child's stdin and stdout are pipes;
// its stderr is inherited (its errors reach the user).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdio>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ds::tools {

class LinePeer {
public:
  /// Starts argv[0] (found on PATH when it has no '/') with argv. Throws
  /// ToolError when it cannot be started.
  explicit LinePeer(const std::vector<std::string> &argv);
  ~LinePeer();
  LinePeer(const LinePeer &) = delete;
  LinePeer &operator=(const LinePeer &) = delete;

  /// The child's next line (without the newline). Throws ToolError naming
  /// `what` when the child has exited or closed its stdout.
  std::string readLine(const std::string &what);
  /// Sends `line` and a newline.
  void writeLine(const std::string &line);

private:
  pid_t pid_ = -1;
  FILE *in_ = nullptr;  // the child's stdout
  FILE *out_ = nullptr; // the child's stdin
};

} // namespace ds::tools
