//===- CliSupport.h - CLI11 with the tools' error conventions -------------===//
//
// Every tool reports bad input as one line "<tool>: error: ..." and exit code 2.
// CLI11_PARSE would print its own text and exit with CLI11's codes (105 for an
// out-of-range value), and its numeric range checks print the whole range of a
// double; these helpers keep command-line mistakes to the tools' convention.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/support/Numbers.h"
#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <iostream>
#include <optional>
#include <string>

namespace ds::tools {

/// Parses the command line. Returns the exit code when the tool should stop now:
/// 0 after --help (printed), kExitBadInput after one error line on stderr.
inline std::optional<int> parseCommandLine(CLI::App &app, int argc, char **argv,
                                           const char *toolName) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::Success &e) { // --help and the like
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    std::string message = e.what();
    std::cerr << toolName << ": error: " << oneLine(message) << " (see --help)\n";
    return int(kExitBadInput);
  }
}

/// A finite number in [lo, hi] (tools/support/Numbers.h: NaN, infinities and
/// trailing text are refused, which CLI::Range lets through).
inline CLI::Validator realIn(double lo, double hi = HUGE_VAL) {
  return CLI::Validator(
      [lo, hi](std::string &text) -> std::string {
        try {
          parseReal(text, "value", lo, hi);
          return std::string();
        } catch (const ToolError &e) {
          return std::string(e.what()).substr(sizeof("value: ") - 1);
        }
      },
      "NUMBER " + detail::rangeText(lo, hi, false));
}

/// A finite number >= `least` (and > it when `strict`).
inline CLI::Validator numberAtLeast(double least, bool strict) {
  if (!strict)
    return realIn(least);
  std::string want = "a finite number > " + detail::formatNumber(least);
  return CLI::Validator(
      [least, want](std::string &text) -> std::string {
        try {
          if (parseReal(text, "value", least) > least)
            return std::string();
        } catch (const ToolError &) {
        }
        return "must be " + want + ", got '" + text + "'";
      },
      "NUMBER > " + detail::formatNumber(least));
}

/// A decimal integer in [lo, hi], checked before CLI11 converts it (so -1 never
/// wraps into an unsigned option).
inline CLI::Validator integerIn(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string &text) -> std::string {
        try {
          parseInteger(text, "value", lo, hi);
          return std::string();
        } catch (const ToolError &e) {
          return std::string(e.what()).substr(sizeof("value: ") - 1);
        }
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

/// --threads: 0 (all cores) or 1..maxThreads().
inline CLI::Validator threadCount() { return integerIn(0, maxThreads()); }

} // namespace ds::tools
