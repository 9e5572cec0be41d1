// Tests for the shared YAML helpers: typo suggestions, durations, typed readers, files.
#include "baton/spec/yaml_util.h"

#include <gtest/gtest.h>

#include <string>

namespace baton::spec {
namespace {

TEST(EditDistanceTest, CountsInsertDeleteSubstitute) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("gpu_per_node", "gpus_per_node"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("count", "count"), 0u);
}

TEST(SuggestNameTest, SuggestsCloseNamesOnly) {
  std::vector<std::string_view> fields = {"name", "count", "gpus_per_node", "nodes_per_rack"};
  EXPECT_EQ(SuggestName("gpu_per_node", fields), "gpus_per_node");
  EXPECT_EQ(SuggestName("GPUS_PER_NODE", fields), "gpus_per_node");  // case is forgiven
  EXPECT_EQ(SuggestName("nme", fields), "name");
  EXPECT_EQ(SuggestName("colour", fields), "");
  EXPECT_EQ(SuggestName("x", fields), "");
  EXPECT_EQ(SuggestName("node_per_racks", fields), "nodes_per_rack");
  EXPECT_EQ(SuggestName("gpus", fields), "gpus_per_node");  // a prefix, far in edits
  EXPECT_EQ(SuggestName("no", fields), "");                 // too short to guess from
}

TEST(JoinPathTest, SkipsEmptyParent) {
  EXPECT_EQ(JoinPath("", "count"), "count");
  EXPECT_EQ(JoinPath("pools[1]", "count"), "pools[1].count");
}

TEST(ParseDurationTextTest, AcceptsSecondsAndUnits) {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  for (const Case& c :
       {Case{"3600", 3600}, Case{"90s", 90}, Case{"15m", 900}, Case{"2h", 7200}, Case{"1d", 86400},
        Case{"1h30m", 5400}, Case{"1d2h3m4s", 93784}, Case{"0", 0}}) {
    Result<Duration> d = ParseDurationText(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, Seconds(c.seconds)) << c.text;
  }
}

TEST(ParseDurationTextTest, RejectsMalformed) {
  for (const char* text : {"", "h", "2x", "1.5h", "2 h", "h2", "1h30", "-5m", "2H", "1h-5m"}) {
    EXPECT_FALSE(ParseDurationText(text).ok()) << text;
  }
  EXPECT_EQ(ParseDurationText("-5").status().message(), "must be positive, got -5");
  EXPECT_EQ(ParseDurationText("99999999999d").status().message(), "'99999999999d' is too long");
  EXPECT_EQ(ParseDurationText("2x").status().message(),
            "'2x' is not a duration; use seconds (3600) or units s, m, h, d (90s, 1h30m, 2d)");
}

TEST(ReadFileTextTest, MissingFileIsNotFound) {
  Result<std::string> r = ReadFileText("/nonexistent/baton/file.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "/nonexistent/baton/file.yaml: no such file");
}

TEST(ReadFileTextTest, DirectoryIsRefused) {
  Result<std::string> r = ReadFileText(BATON_SOURCE_DIR "/examples");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST(ReadFileTextTest, ReadsWholeFile) {
  Result<std::string> r = ReadFileText(BATON_SOURCE_DIR "/examples/jobs/train.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->find("name: train-llm\n"), std::string::npos);
}

// Builds a Field for the value of `key` in a one-line YAML mapping, as the parsers do.
class ReaderTest : public ::testing::Test {
 protected:
  Field Value(const std::string& yaml) {
    Result<Field> root = reader_.ParseDocument(yaml, "a mapping");
    EXPECT_TRUE(root.ok()) << root.status().ToString();
    Result<std::vector<Field>> entries = reader_.Entries(*root, {"v"});
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    return entries->front();
  }
  SpecReader reader_{"t.yaml"};
};

TEST_F(ReaderTest, IntIsStrict) {
  EXPECT_EQ(*reader_.Int(Value("v: 42"), 0, 100), 42);
  EXPECT_EQ(*reader_.Int(Value("v: -7"), -10, 10), -7);
  EXPECT_EQ(reader_.Int(Value("v: \"42\""), 0, 100).status().message(),
            "t.yaml:1: v: expected an integer, got the string \"42\"");
  EXPECT_EQ(reader_.Int(Value("v: 4.5"), 0, 100).status().message(),
            "t.yaml:1: v: expected an integer, got '4.5'");
  EXPECT_EQ(reader_.Int(Value("v: [1]"), 0, 100).status().message(),
            "t.yaml:1: v: expected an integer, got a list");
  EXPECT_EQ(reader_.Int(Value("v: 101"), 0, 100).status().message(),
            "t.yaml:1: v: must be between 0 and 100, got 101");
  EXPECT_EQ(reader_.Int(Value("v: 123456789012345678901234"), 0, 100).status().message(),
            "t.yaml:1: v: must be between 0 and 100, got 123456789012345678901234");
}

TEST_F(ReaderTest, BoolAcceptsCoreSchemaOnly) {
  EXPECT_TRUE(*reader_.Bool(Value("v: true")));
  EXPECT_FALSE(*reader_.Bool(Value("v: FALSE")));
  EXPECT_EQ(reader_.Bool(Value("v: yes")).status().message(),
            "t.yaml:1: v: expected true or false, got 'yes'");
  EXPECT_FALSE(reader_.Bool(Value("v: 'true'")).ok());
}

TEST_F(ReaderTest, QuantityAndDuration) {
  EXPECT_EQ(*reader_.QuantityValue(Value("v: 0.5")), Quantity::FromMilli(500));
  EXPECT_EQ(reader_.QuantityValue(Value("v: 0.0001")).status().message(),
            "t.yaml:1: v: expected a number with at most 3 decimals, got '0.0001'");
  EXPECT_EQ(*reader_.DurationValue(Value("v: 1h30m")), Seconds(5400));
  EXPECT_EQ(*reader_.DurationValue(Value("v: '120'")), Seconds(120));
  EXPECT_EQ(reader_.DurationValue(Value("v: {a: 1}")).status().message(),
            "t.yaml:1: v: expected a duration (3600, 90s, 1h30m), got a mapping");
}

TEST_F(ReaderTest, StringListForms) {
  using Form = SpecReader::ScalarForm;
  EXPECT_EQ(*reader_.StringList(Value("v: [a, b]"), Form::kReject),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*reader_.StringList(Value("v: a  b\tc"), Form::kSplitOnWhitespace),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(*reader_.StringList(Value("v: a b"), Form::kOneItem),
            (std::vector<std::string>{"a b"}));
  EXPECT_EQ(reader_.StringList(Value("v: a"), Form::kReject).status().message(),
            "t.yaml:1: v: expected a list of strings, got 'a'");
  EXPECT_EQ(reader_.StringList(Value("v: [a, '']"), Form::kReject).status().message(),
            "t.yaml:1: v[1]: must not be empty");
}

TEST(SpecReaderTest, ErrorFormatLeavesOutUnknownParts) {
  SpecReader r("x.yaml");
  EXPECT_EQ(r.Error(3, "a.b", "bad").message(), "x.yaml:3: a.b: bad");
  EXPECT_EQ(r.Error(0, "a.b", "bad").message(), "x.yaml: a.b: bad");
  EXPECT_EQ(r.Error(3, "", "bad").message(), "x.yaml:3: bad");
  EXPECT_EQ(r.Error(3, "", "bad").code(), StatusCode::kInvalidArgument);
}

TEST(SpecReaderTest, EntriesRejectDuplicatesAndComplexKeys) {
  SpecReader r("x.yaml");
  Result<Field> root = r.ParseDocument("a: 1\nb: 2\na: 3\n", "a mapping");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(r.Entries(*root, {"a", "b"}).status().message(),
            "x.yaml:3: a: duplicate field (first given at line 1)");
  root = r.ParseDocument("? [a, b]\n: 1\n", "a mapping");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(r.Entries(*root, {"a"}).status().message(),
            "x.yaml:1: field names must be plain strings, got a list");
}

TEST(GuardYamlTest, TurnsExceptionsIntoStatus) {
  Status s = GuardYaml("x.yaml", []() -> Status {
    YAML::Node n = YAML::Load("a: [1, 2]");
    (void)n["a"].as<int>();  // throws YAML::TypedBadConversion
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("x.yaml:1: invalid YAML: "), std::string::npos) << s.message();
  Status internal = GuardYaml("x.yaml", []() -> Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(internal.code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace baton::spec
