//===- Progress.cpp -------------------------------------------------------===//
#include "calibrate/Progress.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace ds::calib {

std::string formatDuration(double seconds) {
  long s = std::isfinite(seconds) ? std::lround(std::max(seconds, 0.0)) : 0;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

ProgressReporter::ProgressReporter(std::ostream &os, std::string label, int64_t total, bool tty,
                                   Clock clock)
    : os_(&os), label_(std::move(label)), total_(total), tty_(tty), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  start_ = clock_();
  if (tty_ && total_ > 0)
    draw();
}

ProgressReporter ProgressReporter::onStderr(std::string label, int64_t total) {
  return ProgressReporter(std::cerr, std::move(label), total, ::isatty(STDERR_FILENO) == 1);
}

ProgressReporter::ProgressReporter(ProgressReporter &&o) noexcept
    : os_(o.os_), label_(std::move(o.label_)), total_(o.total_), done_(o.done_), tty_(o.tty_),
      nextMilestone_(o.nextMilestone_), clock_(std::move(o.clock_)), start_(o.start_),
      lastDraw_(o.lastDraw_), open_(o.open_) {
  o.os_ = nullptr; // the moved-from reporter prints nothing, not even the final newline
  o.open_ = false;
}

ProgressReporter::~ProgressReporter() {
  if (os_ && open_) {
    *os_ << "\n";
    os_->flush();
  }
}

void ProgressReporter::advance(int64_t n) {
  if (!os_)
    return;
  done_ = std::min(done_ + std::max<int64_t>(n, 0), std::max<int64_t>(total_, 0));
  if (total_ <= 0)
    return;
  if (tty_) {
    double now = clock_();
    if (done_ == total_ || now - lastDraw_ >= 0.1)
      draw();
    return;
  }
  int64_t percent = done_ * 100 / total_;
  if (percent >= nextMilestone_) {
    *os_ << label_ << ": " << done_ << "/" << total_ << " (" << percent << "%), "
         << formatDuration(clock_() - start_) << " elapsed\n";
    os_->flush();
    nextMilestone_ = static_cast<int>(percent / 25 * 25 + 25);
  }
}

void ProgressReporter::draw() {
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * done_ / total_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth)
    bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
  double now = clock_();
  double elapsed = now - start_;
  std::string eta = done_ ? formatDuration(elapsed / static_cast<double>(done_) *
                                           static_cast<double>(total_ - done_))
                          : "?:??";
  // Trailing blanks erase what a longer previous line left.
  *os_ << "\r" << label_ << " [" << bar << "] " << done_ << "/" << total_ << "  ETA " << eta
       << "  ";
  os_->flush();
  lastDraw_ = now;
  open_ = true;
}

} // namespace ds::calib
