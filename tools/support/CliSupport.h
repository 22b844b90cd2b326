//===- CliSupport.h - CLI11 with the tools' error conventions -------------===//
//
// Every tool reports bad input as one line "<tool>: error: ..." and exit code 2.
// CLI11_PARSE would print its own text and exit with CLI11's codes (105 for an
// out-of-range value), and its numeric range checks print the whole range of a
// double; these helpers keep command-line mistakes to the tools' convention.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/support/ToolSupport.h"

#include <CLI/CLI.hpp>

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
    message = message.substr(0, message.find('\n'));
    std::cerr << toolName << ": error: " << message << " (see --help)\n";
    return int(kExitBadInput);
  }
}

/// A number >= `least` (and > it when `strict`), with a message that says so.
inline CLI::Validator numberAtLeast(double least, bool strict) {
  std::string want = std::string(strict ? "> " : ">= ") + CLI::detail::to_string(least);
  return CLI::Validator(
      [least, strict, want](std::string &text) -> std::string {
        double value = 0;
        bool parsed = CLI::detail::lexical_cast(text, value);
        if (!parsed || !(strict ? value > least : value >= least))
          return "must be a number " + want + ", got '" + text + "'";
        return std::string();
      },
      "NUMBER " + want);
}

} // namespace ds::tools
