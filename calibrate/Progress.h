//===- Progress.h - progress of a long loop, with an ETA ------------------===//
//
// Calibration runs the model once per sample, which can take minutes. On a
// terminal this draws one updating line
//   calibrate [=========>                    ] 37/100  ETA 0:12
// (redrawn with '\r' at most every 0.1 s and on the last step); otherwise (CI
// logs) it prints one plain line at 25, 50, 75 and 100%:
//   calibrate: 25/100 (25%), 0:03 elapsed
// so logs stay short. Plain C++ over std::ostream; the clock and the stream
// are injectable so tests pin the output exactly.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace ds::calib {

class ProgressReporter {
public:
  using Clock = std::function<double()>; // seconds, monotonic

  /// `tty`: the updating bar (true) or milestone lines (false). Without a
  /// clock, std::chrono::steady_clock is used.
  ProgressReporter(std::ostream &os, std::string label, int64_t total, bool tty, Clock clock = {});
  /// To std::cerr, as a bar when stderr is a terminal (isatty).
  static ProgressReporter onStderr(std::string label, int64_t total);
  /// Ends the bar's line.
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter &) = delete;
  ProgressReporter &operator=(const ProgressReporter &) = delete;
  ProgressReporter(ProgressReporter &&other) noexcept;

  /// `n` more items done.
  void advance(int64_t n = 1);
  int64_t done() const { return done_; }

private:
  void draw();
  std::ostream *os_;
  std::string label_;
  int64_t total_, done_ = 0;
  bool tty_;
  int nextMilestone_ = 25;
  Clock clock_;
  double start_, lastDraw_ = -1;
  bool open_ = false; // a bar line is on screen
};

/// "0:07", "1:05", "12:00:03".
std::string formatDuration(double seconds);

} // namespace ds::calib
