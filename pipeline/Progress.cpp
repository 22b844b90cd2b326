//===- Progress.cpp -------------------------------------------------------===//
#include "pipeline/Progress.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>

namespace ds::pipeline {

std::string formatDuration(double seconds) {
  long s = std::lround(std::max(seconds, 0.0));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

Progress::Progress(llvm::raw_ostream &os, std::string label, int64_t total, bool tty, Clock clock)
    : os_(os), label_(std::move(label)), total_(total), tty_(tty), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  start_ = clock_();
  if (tty_ && total_ > 0)
    draw();
}

Progress Progress::on(llvm::raw_ostream &os, std::string label, int64_t total) {
  return Progress(os, std::move(label), total, os.is_displayed());
}

Progress::~Progress() {
  if (tty_ && total_ > 0)
    os_ << "\n";
}

void Progress::step() {
  ++done_;
  if (total_ <= 0)
    return;
  if (tty_) {
    draw();
    return;
  }
  int64_t percent = done_ * 100 / total_;
  if (percent >= nextMilestone_) {
    double elapsed = clock_() - start_;
    os_ << "      " << label_ << " " << done_ << "/" << total_ << " (" << percent << "%, "
        << formatDuration(elapsed) << " elapsed)\n";
    nextMilestone_ = static_cast<int>(percent / 25 * 25 + 25);
  }
  os_.flush();
}

void Progress::draw() {
  constexpr int kWidth = 30;
  int filled = static_cast<int>(kWidth * done_ / total_);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth)
    bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
  double elapsed = clock_() - start_;
  std::string eta = done_ ? formatDuration(elapsed / done_ * (total_ - done_)) : "?";
  os_ << "\r      " << label_ << " [" << bar << "] " << done_ << "/" << total_ << "  ETA " << eta
      << "   ";
  os_.flush();
}

} // namespace ds::pipeline
