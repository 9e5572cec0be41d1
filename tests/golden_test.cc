// Golden simulator tests: every tests/sim/NNNN_name.args holds a `baton` command line
// (one argument per line, '#' lines ignored); tests/sim/NNNN_name.expected holds its
// exact exit status, stdout and stderr. The command runs in-process through the same
// cli::Main as the binary, from the project root. A behaviour change shows up as a diff
// to review; regenerate with BATON_UPDATE_GOLDEN=1 after checking the new output.
//
// A case whose .args mentions ../shared is skipped when ../shared is absent.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "baton/cli/main.h"

namespace baton {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(BATON_SOURCE_DIR) / "tests" / "sim";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> GoldenCases() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kGoldenDir)) {
    if (e.path().extension() == ".args") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string RunCase(const std::string& name, bool* skip) {
  std::vector<std::string> args = {"baton"};
  std::istringstream lines(ReadAll(kGoldenDir / (name + ".args")));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.find("../shared") != std::string::npos &&
        !fs::exists(fs::path(BATON_SHARED_DIR) / "data")) {
      *skip = true;
    }
    args.push_back(line);
  }
  if (*skip) return "";
  std::ostringstream out, err;
  const int code = cli::Main(args, out, err);
  return "exit: " + std::to_string(code) + "\n--- stdout\n" + out.str() + "--- stderr\n" +
         err.str();
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesExpectedOutput) {
  fs::current_path(BATON_SOURCE_DIR);
  bool skip = false;
  const std::string got = RunCase(GetParam(), &skip);
  if (skip) GTEST_SKIP() << "needs ../shared (not present)";
  const fs::path expected_path = kGoldenDir / (GetParam() + ".expected");
  if (std::getenv("BATON_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(expected_path, std::ios::binary) << got;
    GTEST_SKIP() << "updated " << expected_path;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << "missing " << expected_path
                                         << "; run with BATON_UPDATE_GOLDEN=1";
  EXPECT_EQ(got, ReadAll(expected_path)) << "golden case " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Sim, GoldenTest, ::testing::ValuesIn(GoldenCases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return "g" + n;
                         });

}  // namespace
}  // namespace baton
