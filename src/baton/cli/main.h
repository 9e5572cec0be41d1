// The `baton` command line as a library, so commands are testable without a shell.
//
// Main() parses the arguments, runs one command and returns the process exit status:
// 0 on success, 1 when the command failed (bad input, unreadable file), 2 on a usage
// error. Everything is written to `out` and `err`, never to std::cout directly.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace baton::cli {

// args[0] is the program name, as in argv.
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace baton::cli
