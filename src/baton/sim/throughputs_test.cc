// ThroughputTable: both file layouts, case-insensitive GPU names, and bad input named by
// line / key and field. The real Gavel files are checked when ../shared is present.
#include "baton/sim/throughputs.h"

#include <filesystem>

#include <gtest/gtest.h>

namespace baton::sim {
namespace {

constexpr char kCsv[] =
    "job_type,scale_factor,v100_steps_per_s,p100_steps_per_s,k80_steps_per_s\n"
    "Net (batch size 8),1,10.5,5.25,1.0\n"
    "Net (batch size 8),2,20,9,0.0\n"
    "\"Odd, name\",1,3,2,1\n";

TEST(ThroughputTableTest, ParsesCsvAndLooksUpCaseInsensitively) {
  auto t = ThroughputTable::Parse(kCsv, "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->gpu_types(), (std::vector<std::string>{"v100", "p100", "k80"}));
  EXPECT_EQ(t->Get("Net (batch size 8)", 1, "V100"), 10.5);
  EXPECT_EQ(t->Get("Net (batch size 8)", 2, "k80"), 0.0);
  EXPECT_EQ(t->Get("Odd, name", 1, "P100"), 2.0);
  EXPECT_FALSE(t->Get("Net (batch size 8)", 4, "V100").has_value());
  EXPECT_FALSE(t->Get("Net (batch size 8)", 1, "H100").has_value());
  EXPECT_EQ(t->job_types(), (std::vector<std::string>{"Net (batch size 8)", "Odd, name"}));
  EXPECT_EQ(t->scale_factors("Net (batch size 8)"), (std::vector<int>{1, 2}));
  EXPECT_TRUE(t->Has("Odd, name", 1));
  EXPECT_FALSE(t->Has("Odd, name", 2));
}

TEST(ThroughputTableTest, ParsesGavelJsonSkippingUnconsolidatedAndPairs) {
  constexpr char kJson[] = R"json({
    "v100": {"('Net', 1)": {"null": 4.0, "('Net', 1)": [2.0, 2.0]},
             "('Net', 2)": {"null": 7.5}},
    "k80":  {"('Net', 1)": {"null": 1.0}},
    "k80_unconsolidated": {"('Net', 1)": {"null": 99.0}}
  })json";
  auto t = ThroughputTable::Parse(kJson, "t.json");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->gpu_types(), (std::vector<std::string>{"k80", "v100"}));
  EXPECT_EQ(t->Get("Net", 1, "K80"), 1.0);
  EXPECT_EQ(t->Get("Net", 2, "V100"), 7.5);
  EXPECT_FALSE(t->Get("Net", 2, "K80").has_value());  // no number for that type
}

struct BadCase {
  const char* text;
  const char* message;  // a substring of the error
};

TEST(ThroughputTableTest, BadInputNamesLineAndField) {
  const BadCase cases[] = {
      {"", "empty"},
      {"job_type,scale_factor\n", "at least one <gpu type>_steps_per_s"},
      {"job_type,scale_factor,v100_speed\n", "unknown column 'v100_speed'"},
      {"job_type,scale_factor,v100_steps_per_s,V100_steps_per_s\n", "appears twice"},
      {"job_type,scale_factor,v100_steps_per_s\n", "no throughput rows"},
      {"job_type,scale_factor,v100_steps_per_s\nA,1,fast\n",
       "t:2: v100_steps_per_s: expected steps per second (a number >= 0), got 'fast'"},
      {"job_type,scale_factor,v100_steps_per_s\nA,1,-1\n", "t:2: v100_steps_per_s"},
      {"job_type,scale_factor,v100_steps_per_s\nA,0,1\n", "t:2: scale_factor"},
      {"job_type,scale_factor,v100_steps_per_s\nA,1\n", "t:2: expected 3 fields, got 2"},
      {"job_type,scale_factor,v100_steps_per_s\n,1,2\n", "t:2: job_type: is empty"},
      {"job_type,scale_factor,v100_steps_per_s\nA,1,2\n\nA,1,3\n",
       "t:4: job type 'A' at scale factor 1 appears twice"},
      {"job_type,scale_factor,v100_steps_per_s\n\"A,1,2\n", "t:2: unterminated"},
      {"{\"v100\": [1]}", "v100: expected an object"},
      {"{\"v100\": {\"Net\": {\"null\": 1}}}", "v100.\"Net\": expected a key like"},
      {"{\"v100\": {\"('Net', 1)\": {\"x\": 1}}}", "under \"null\""},
      {"{\"v100\": {\"('Net', 1)\": {\"null\": \"fast\"}}}", ".null: expected steps per second"},
      {"{\"v100\": ", "not valid JSON"},
      {"{}", "no GPU types"},
  };
  for (const auto& c : cases) {
    auto t = ThroughputTable::Parse(c.text, "t");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_NE(t.status().message().find(c.message), std::string::npos)
        << "input: " << c.text << "\nerror: " << t.status().message();
  }
}

TEST(ThroughputTableTest, MissingFileIsAnError) {
  auto t = ThroughputTable::Load("/nonexistent/throughputs.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("/nonexistent/throughputs.csv"), std::string::npos);
}

TEST(ThroughputTableTest, RealGavelFilesAgree) {
  const std::filesystem::path dir = std::filesystem::path(BATON_SHARED_DIR) / "data" / "gavel";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "needs ../shared/data/gavel (not present)";
  auto csv = ThroughputTable::Load((dir / "isolated_throughputs.csv").string());
  auto json = ThroughputTable::Load((dir / "simulation_throughputs.json").string());
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(csv->job_types().size(), 26u);
  EXPECT_EQ(json->job_types(), csv->job_types());
  for (const auto& type : csv->job_types()) {
    for (int sf : csv->scale_factors(type)) {
      for (const char* gpu : {"v100", "p100", "k80"}) {
        ASSERT_TRUE(csv->Get(type, sf, gpu).has_value()) << type << " " << sf << " " << gpu;
        auto j = json->Get(type, sf, gpu);
        if (j) {
          EXPECT_NEAR(*j, *csv->Get(type, sf, gpu), 1e-9) << type << " " << sf << " " << gpu;
        }
      }
    }
  }
}

TEST(ThroughputTableTest, LongLinesAreRefused) {
  auto t = ThroughputTable::Parse(
      "job_type,scale_factor,v100_steps_per_s\n" + std::string(70000, 'x') + "\n", "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "t.csv:2: the line is 70000 bytes; at most 65536");
}

}  // namespace
}  // namespace baton::sim
