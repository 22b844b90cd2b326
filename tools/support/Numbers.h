//===- Numbers.h - the one parser for numbers from users and files --------===//
//
// Every number a user or a file gives the tools (command-line options, list
// options such as --batch-sizes, calibration-cache values) goes through these:
// all of the text must be the number, NaN and infinities are refused, and the
// value must lie in the caller's range. The failure is one ToolError line
// "<what>: must be ... , got '<text>'". CLI11's own conversions let NaN through
// range checks (every comparison with NaN is false) and wrap -1 into an
// unsigned 4294967295; std::stoll throws "stoll" with no context.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/support/ToolSupport.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ds::tools {

/// The most threads --threads may ask for: 4 per hardware thread, at least 64
/// (more only oversubscribes the CPUs; a value like 100000 or a wrapped -1 would
/// start threads until the system refuses).
inline unsigned maxThreads() {
  unsigned hw = std::thread::hardware_concurrency();
  return std::max(64u, 4 * hw);
}

namespace detail {
inline std::string formatNumber(double v) {
  std::ostringstream s;
  s.imbue(std::locale::classic());
  s.precision(17);
  s << v;
  return s.str();
}

inline std::string rangeText(double lo, double hi, bool integer) {
  std::string kind = integer ? "an integer" : "a finite number";
  if (lo == -HUGE_VAL && hi == HUGE_VAL)
    return kind;
  if (hi == HUGE_VAL)
    return kind + " >= " + formatNumber(lo);
  if (lo == -HUGE_VAL)
    return kind + " <= " + formatNumber(hi);
  return kind + " in [" + formatNumber(lo) + ", " + formatNumber(hi) + "]";
}
} // namespace detail

/// Checks a number already read (e.g. from JSON) against [lo, hi]; finite only.
inline double checkReal(double value, const std::string &what, double lo = -HUGE_VAL,
                        double hi = HUGE_VAL) {
  if (!std::isfinite(value) || value < lo || value > hi)
    throw ToolError(what + ": must be " + detail::rangeText(lo, hi, false) + ", got " +
                    detail::formatNumber(value));
  return value;
}

/// All of `text` as a finite double in [lo, hi] (C locale: '.' is the decimal point).
inline double parseReal(const std::string &text, const std::string &what, double lo = -HUGE_VAL,
                        double hi = HUGE_VAL) {
  auto fail = [&] {
    return ToolError(what + ": must be " + detail::rangeText(lo, hi, false) + ", got '" + text +
                     "'");
  };
  std::istringstream in(text);
  in.imbue(std::locale::classic());
  double value = 0;
  // istream refuses "nan"/"inf" and overflow (failbit), unlike strtod.
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])) || !(in >> value) ||
      in.peek() != std::char_traits<char>::eof())
    throw fail();
  if (!std::isfinite(value) || value < lo || value > hi)
    throw fail();
  return value;
}

/// All of `text` as a decimal integer in [lo, hi]: no sign wrap, no overflow.
inline int64_t parseInteger(const std::string &text, const std::string &what,
                            int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) {
  auto fail = [&] {
    return ToolError(what + ": must be an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + text + "'");
  };
  size_t digits = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (text.size() <= digits || text.find_first_not_of("0123456789", digits) != std::string::npos)
    throw fail();
  errno = 0;
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || value < lo || value > hi)
    throw fail();
  return value;
}

/// A comma-separated list of integers in [lo, hi], e.g. "1,4,16".
inline std::vector<int64_t> parseIntegerList(const std::string &text, const std::string &what,
                                             int64_t lo, int64_t hi) {
  std::vector<int64_t> values;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                      : comma - start);
    values.push_back(parseInteger(part, what + " '" + text + "'", lo, hi));
    if (comma == std::string::npos)
      return values;
    start = comma + 1;
  }
}

} // namespace ds::tools
