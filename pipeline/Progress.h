//===- Progress.h - progress of a long loop, with an ETA ------------------===//
//
// Calibration and verification run the model once per sample. On a terminal
// this draws one updating line, `calibrate [=======>      ] 37/100  ETA 0:12`;
// otherwise (CI logs) it prints a plain line at 25/50/75/100%, so logs stay
// short and readable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace llvm {
class raw_ostream;
}

namespace ds::pipeline {

class Progress {
public:
  using Clock = std::function<double()>; // seconds, monotonic

  /// `tty`: draw the updating bar (true) or milestone lines (false).
  Progress(llvm::raw_ostream &os, std::string label, int64_t total, bool tty, Clock clock = {});
  /// The bar when `os` is a terminal, milestone lines otherwise.
  static Progress on(llvm::raw_ostream &os, std::string label, int64_t total);
  ~Progress();

  /// One more item done.
  void step();

private:
  void draw();
  llvm::raw_ostream &os_;
  std::string label_;
  int64_t total_, done_ = 0;
  bool tty_;
  int nextMilestone_ = 25;
  Clock clock_;
  double start_;
};

/// "1:05" / "12:00:03".
std::string formatDuration(double seconds);

} // namespace ds::pipeline
