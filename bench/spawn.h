// Spawn: starts a baton binary for the process-level benchmarks (e2e_bench,
// recovery_bench) with stdout and stderr in a log file; returns its pid (or -1).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace baton::bench {

// `append`: keep what earlier runs wrote to `log` (a restarted server), else truncate.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
                   bool append = false) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), append ? "a" : "w");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace baton::bench
