// baton: the command-line tool. All logic lives in src/baton/cli (testable in-process).
#include <iostream>
#include <string>
#include <vector>

#include "baton/cli/main.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv, argv + argc);
  return baton::cli::Main(args, std::cout, std::cerr);
}
