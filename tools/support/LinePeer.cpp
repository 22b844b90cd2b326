//===- LinePeer.cpp -------------------------------------------------------===//
#include "tools/support/LinePeer.h"

#include "tools/support/ToolSupport.h"

#include <csignal>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace ds::tools {

LinePeer::LinePeer(const std::vector<std::string> &argv) {
  int toChild[2], fromChild[2];
  if (::pipe(toChild) != 0)
    throw ToolError("cannot create a pipe for " + argv.at(0));
  if (::pipe(fromChild) != 0) {
    ::close(toChild[0]);
    ::close(toChild[1]);
    throw ToolError("cannot create a pipe for " + argv.at(0));
  }
  // posix_spawn, not fork: this process already runs a thread pool.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO);
  for (int fd : {toChild[0], toChild[1], fromChild[0], fromChild[1]})
    posix_spawn_file_actions_addclose(&actions, fd);
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(toChild[0]);
  ::close(fromChild[1]);
  if (rc != 0) {
    ::close(toChild[1]);
    ::close(fromChild[0]);
    pid_ = -1;
    throw ToolError("cannot start " + argv[0]);
  }
  out_ = ::fdopen(toChild[1], "w");
  in_ = ::fdopen(fromChild[0], "r");
}

LinePeer::~LinePeer() {
  if (out_)
    std::fclose(out_); // EOF on its stdin: the peer exits
  if (in_)
    std::fclose(in_);
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::string LinePeer::readLine(const std::string &what) {
  char *line = nullptr;
  size_t capacity = 0;
  ssize_t n = in_ ? ::getline(&line, &capacity, in_) : -1;
  std::string result = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
  std::free(line);
  if (n <= 0)
    throw ToolError(what + " stopped without answering");
  if (!result.empty() && result.back() == '\n')
    result.pop_back();
  return result;
}

void LinePeer::writeLine(const std::string &line) {
  // A peer that died makes the write fail (EPIPE, SIGPIPE ignored while writing);
  // the following readLine reports it.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  if (out_) {
    std::fputs((line + "\n").c_str(), out_);
    std::fflush(out_);
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
}

} // namespace ds::tools
