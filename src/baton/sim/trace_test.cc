// Tests for the trace readers (trace.h): exact values from small in-memory traces, every
// error naming its line and field, sorting and filtering, robustness against junk bytes,
// the shipped example traces, and the real Philly trace from ../shared when present.
#include "baton/sim/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>

namespace baton::sim {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::string_view kHeader = "timestamp,duration,num_gpus,gpu_time,cluster\n";

// 2017-10-09 07:01:55 UTC, built without the code under test.
constexpr Time At(std::chrono::year_month_day ymd, std::chrono::seconds time_of_day = 0s) {
  return Time(std::chrono::sys_days(ymd)) + time_of_day;
}

Result<std::vector<TraceJob>> Csv(std::string_view text, const TraceFilter& filter = {}) {
  std::istringstream in{std::string(text)};
  return ReadPhillyCsv(in, "philly.csv", filter);
}

Result<std::vector<TraceJob>> Jsonl(std::string_view text, const TraceFilter& filter = {}) {
  std::istringstream in{std::string(text)};
  return ReadJsonlTrace(in, "trace.jsonl", filter);
}

// The error message of a read that must fail ("" and a test failure if it succeeded).
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::vector<std::string> Ids(const std::vector<TraceJob>& jobs) {
  std::vector<std::string> ids;
  for (const TraceJob& j : jobs) ids.push_back(j.id);
  return ids;
}

// ---------------------------------------------------------------------------------------
// Philly CSV

TEST(PhillyCsv, ParsesRowsWithExactValuesSortedBySubmit) {
  auto r = Csv(std::string(kHeader) +
               "2017-10-09 07:01:55,66.0,1,66.0,11cb48\n"
               "2017-10-09 06:13:03,2951.5,8,23612.0,6214e9\n"
               "2017-09-29 07:58:32,860662.0,2.0,1721324.0,6c71a0\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  const TraceJob& a = (*r)[0];
  EXPECT_EQ(a.id, "4");
  EXPECT_EQ(a.line, 4);
  EXPECT_EQ(a.submit, At(2017y / 9 / 29, 7h + 58min + 32s));
  EXPECT_EQ(a.duration, Duration(860662s));
  EXPECT_EQ(a.gpus, 2);
  EXPECT_EQ(a.queue, "6c71a0");
  EXPECT_FALSE(a.tasks.has_value());
  EXPECT_EQ(a.gpu_type, "");
  EXPECT_EQ(a.priority, 0);
  const TraceJob& b = (*r)[1];
  EXPECT_EQ(b.id, "3");
  EXPECT_EQ(b.submit, At(2017y / 10 / 9, 6h + 13min + 3s));
  EXPECT_EQ(b.duration, Duration(2951500ms));
  EXPECT_EQ(b.gpus, 8);
  EXPECT_EQ(b.queue, "6214e9");
  const TraceJob& c = (*r)[2];
  EXPECT_EQ(c.id, "2");
  EXPECT_EQ(c.submit, At(2017y / 10 / 9, 7h + 1min + 55s));
  EXPECT_EQ(c.duration, Duration(66s));
  EXPECT_EQ(c.gpus, 1);
}

TEST(PhillyCsv, EqualSubmitTimesKeepFileOrder) {
  auto r = Csv(std::string(kHeader) +
               "2017-10-09 00:00:05,1,1,1,a\n"
               "2017-10-09 00:00:01,1,1,1,a\n"
               "2017-10-09 00:00:05,1,1,1,a\n"
               "2017-10-09 00:00:01,1,1,1,a\n"
               "2017-10-09 00:00:05,1,1,1,a\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"3", "5", "2", "4", "6"}));
}

TEST(PhillyCsv, FindsColumnsByNameAndIgnoresExtras) {
  auto r =
      Csv("cluster,extra,num_gpus,timestamp,duration\n"
          "vc1,zzz,4,2017-10-09 07:01:55,10\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].queue, "vc1");
  EXPECT_EQ((*r)[0].gpus, 4);
  EXPECT_EQ((*r)[0].duration, Duration(10s));
}

TEST(PhillyCsv, ClusterColumnIsOptional) {
  auto r = Csv("timestamp,duration,num_gpus\n2017-10-09 07:01:55,10,1\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].queue, "");
}

TEST(PhillyCsv, HandlesCrlfBlankLinesBomAndQuotes) {
  auto r =
      Csv("\xEF\xBB\xBF"
          "timestamp,duration,num_gpus,gpu_time,cluster\r\n"
          "\"2017-10-09 07:01:55\",\"66.0\",1,66.0,\"vc,\"\"odd\"\"\"\r\n"
          "\r\n"
          " 2017-10-09 07:01:56 , 5 , 2 ,10, spaced \r\n"
          "\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].queue, "vc,\"odd\"");
  EXPECT_EQ((*r)[0].line, 2);
  EXPECT_EQ((*r)[1].queue, "spaced");
  EXPECT_EQ((*r)[1].gpus, 2);
  EXPECT_EQ((*r)[1].line, 4);
  EXPECT_EQ((*r)[1].id, "4");
}

TEST(PhillyCsv, LastLineWithoutNewline) {
  auto r = Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0,1,66.0,x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].queue, "x");
}

TEST(PhillyCsv, HeaderOnlyGivesNoJobs) {
  auto r = Csv(kHeader);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST(PhillyCsv, EmptyInputIsAnError) {
  EXPECT_THAT(ErrorOf(Csv("")), HasSubstr("philly.csv: empty input"));
  EXPECT_THAT(ErrorOf(Csv("\n\r\n  \n")), HasSubstr("empty input"));
}

TEST(PhillyCsv, MissingRequiredColumnIsNamed) {
  for (const char* col : {"timestamp", "duration", "num_gpus"}) {
    std::string header = "timestamp,duration,num_gpus,cluster";
    header.replace(header.find(col), std::string_view(col).size(), "other");
    std::string msg = ErrorOf(Csv(header + "\n"));
    EXPECT_THAT(msg, HasSubstr("philly.csv:1: " + std::string(col) + ": missing required column"));
  }
  EXPECT_THAT(ErrorOf(Csv("timestamp,duration,num_gpus,duration\n")),
              HasSubstr("philly.csv:1: duration: duplicate column"));
}

TEST(PhillyCsv, BadNumGpusNamesLineColumnAndValue) {
  struct Case {
    const char* value;
    const char* expected;
  };
  for (const Case& c :
       {Case{"0", "philly.csv:3: num_gpus: must be a positive integer, got '0'"},
        Case{"-1", "philly.csv:3: num_gpus: must be a positive integer, got '-1'"},
        Case{"8.5", "philly.csv:3: num_gpus: must be a positive integer, got '8.5'"},
        Case{"abc", "philly.csv:3: num_gpus: must be a positive integer, got 'abc'"},
        Case{"", "philly.csv:3: num_gpus: must be a positive integer, got ''"},
        Case{"nan", "num_gpus: must be a positive integer, got 'nan'"},
        Case{"3000000000", "num_gpus: must be at most 2147483647"},
        Case{"1e30", "num_gpus: must be at most 2147483647"}}) {
    std::string text = std::string(kHeader) + "2017-10-09 07:01:55,66.0,1,66.0,a\n" +
                       "2017-10-09 07:01:55,66.0," + c.value + ",66.0,a\n";
    EXPECT_THAT(ErrorOf(Csv(text)), HasSubstr(c.expected)) << c.value;
  }
}

TEST(PhillyCsv, BadDurationNamesLineColumnAndValue) {
  struct Case {
    const char* value;
    const char* expected;
  };
  for (const Case& c : {Case{"0", "philly.csv:2: duration: must be > 0, got '0'"},
                        Case{"-5", "philly.csv:2: duration: must be > 0, got '-5'"},
                        Case{"abc", "philly.csv:2: duration: must be a finite number"},
                        Case{"nan", "philly.csv:2: duration: must be a finite number"},
                        Case{"inf", "philly.csv:2: duration: must be a finite number"},
                        Case{"1e400", "philly.csv:2: duration: must be a finite number"},
                        Case{"1e300", "philly.csv:2: duration: must be at most"},
                        Case{"1e-9", "philly.csv:2: duration: must be at least 1 microsecond"},
                        Case{"+5", "philly.csv:2: duration: must be a finite number"}}) {
    std::string text = std::string(kHeader) + "2017-10-09 07:01:55," + c.value + ",1,66.0,a\n";
    EXPECT_THAT(ErrorOf(Csv(text)), HasSubstr(c.expected)) << c.value;
  }
}

TEST(PhillyCsv, BadTimestampNamesLineColumnAndValue) {
  struct Case {
    const char* value;
    const char* expected;
  };
  for (const Case& c : {Case{"2017-13-09 07:01:55", "month must be 01..12"},
                        Case{"2017-02-29 07:01:55", "day out of range"},
                        Case{"2017-10-09 24:00:00", "hour must be 00..23"},
                        Case{"2017/10/09 07:01:55", "expected YYYY-MM-DD"},
                        Case{"yesterday", "expected YYYY-MM-DD"}}) {
    std::string text = std::string(kHeader) + c.value + ",66.0,1,66.0,a\n";
    std::string msg = ErrorOf(Csv(text));
    EXPECT_THAT(msg, HasSubstr("philly.csv:2: timestamp: ")) << c.value;
    EXPECT_THAT(msg, HasSubstr(c.expected)) << c.value;
    EXPECT_THAT(msg, HasSubstr(std::string("got '") + c.value + "'")) << c.value;
  }
}

TEST(PhillyCsv, WrongFieldCountIsAnError) {
  EXPECT_THAT(ErrorOf(Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0,1\n")),
              HasSubstr("philly.csv:2: expected 5 fields as in the header, got 3"));
  EXPECT_THAT(ErrorOf(Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0,1,66,a,b\n")),
              HasSubstr("philly.csv:2: expected 5 fields as in the header, got 6"));
}

TEST(PhillyCsv, BadQuotingIsAnError) {
  EXPECT_THAT(ErrorOf(Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0,1,66,\"abc\n")),
              HasSubstr("philly.csv:2: unterminated quoted field"));
  EXPECT_THAT(ErrorOf(Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0,\"1\"x,66,a\n")),
              HasSubstr("philly.csv:2: unexpected character after a closing quote"));
}

TEST(PhillyCsv, JunkBytesAreEscapedAndLongValuesCut) {
  std::string nul =
      std::string(kHeader) + "2017-10-09 07:01:55,66.0,1" + std::string(1, '\0') + "\xff,66,a\n";
  EXPECT_THAT(ErrorOf(Csv(nul)),
              HasSubstr("num_gpus: must be a positive integer, got '1\\x00\\xff'"));

  std::string long_value(60000, '9');  // within the 64 KiB line limit
  std::string msg =
      ErrorOf(Csv(std::string(kHeader) + "2017-10-09 07:01:55,66.0," + long_value + ",66,a\n"));
  EXPECT_THAT(msg, HasSubstr("philly.csv:2: num_gpus: must be at most 2147483647"));
  EXPECT_THAT(msg, HasSubstr("... (60000 bytes)"));
  EXPECT_LT(msg.size(), 300u);
}

TEST(PhillyCsv, FilterByQueueAndTimeWindow) {
  std::string text = std::string(kHeader) +
                     "2017-10-01 00:00:00,1,1,1,a\n"   // line 2
                     "2017-10-02 00:00:00,1,1,1,b\n"   // line 3
                     "2017-10-03 00:00:00,1,1,1,a\n"   // line 4
                     "2017-10-04 00:00:00,1,1,1,c\n";  // line 5
  TraceFilter by_queue{.queues = {"a", "c"}};
  EXPECT_EQ(Ids(*Csv(text, by_queue)), (std::vector<std::string>{"2", "4", "5"}));
  TraceFilter window{.from = At(2017y / 10 / 2), .to = At(2017y / 10 / 4)};
  EXPECT_EQ(Ids(*Csv(text, window)), (std::vector<std::string>{"3", "4"}));
  TraceFilter both{.queues = {"a"}, .from = At(2017y / 10 / 2)};
  EXPECT_EQ(Ids(*Csv(text, both)), (std::vector<std::string>{"4"}));
  // Rows the filter drops are still checked.
  EXPECT_THAT(ErrorOf(Csv(text + "2017-10-05 00:00:00,1,0,1,b\n", by_queue)),
              HasSubstr("philly.csv:6: num_gpus"));
}

// ---------------------------------------------------------------------------------------
// JSON lines

TEST(Jsonl, ParsesAllKeysWithExactValues) {
  auto r = Jsonl(
      "# a comment\n"
      "\n"
      "{\"id\": \"train-1\", \"submit_s\": 10.5, \"duration_s\": 3600, \"gpus\": 16, "
      "\"tasks\": 2, \"queue\": \"research\", \"gpu_type\": \"H100\", \"priority\": -7}\r\n"
      "   # indented comment\n"
      "{\"id\": 42, \"submit_s\": 0, \"duration_s\": 0.25, \"gpus\": 1, \"queue\": null}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const TraceJob& a = (*r)[0];
  EXPECT_EQ(a.id, "42");
  EXPECT_EQ(a.line, 5);
  EXPECT_EQ(a.submit, Time{});
  EXPECT_EQ(a.duration, Duration(250ms));
  EXPECT_EQ(a.gpus, 1);
  EXPECT_FALSE(a.tasks.has_value());
  EXPECT_EQ(a.queue, "");
  EXPECT_EQ(a.gpu_type, "");
  EXPECT_EQ(a.priority, 0);
  const TraceJob& b = (*r)[1];
  EXPECT_EQ(b.id, "train-1");
  EXPECT_EQ(b.line, 3);
  EXPECT_EQ(b.submit, Time(10500ms));
  EXPECT_EQ(b.duration, Duration(1h));
  EXPECT_EQ(b.gpus, 16);
  EXPECT_EQ(b.tasks, 2);
  EXPECT_EQ(b.queue, "research");
  EXPECT_EQ(b.gpu_type, "H100");
  EXPECT_EQ(b.priority, -7);
}

TEST(Jsonl, EpochSecondsAndSortingWithTies) {
  auto r = Jsonl(
      "{\"id\": \"a\", \"submit_s\": 1507532515, \"duration_s\": 1, \"gpus\": 1}\n"
      "{\"id\": \"b\", \"submit_s\": 1507532000, \"duration_s\": 1, \"gpus\": 1}\n"
      "{\"id\": \"c\", \"submit_s\": 1507532515, \"duration_s\": 1, \"gpus\": 1}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(*r), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ((*r)[1].submit, At(2017y / 10 / 9, 7h + 1min + 55s));
}

TEST(Jsonl, EmptyInputGivesNoJobs) {
  auto r = Jsonl("# nothing here\n\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST(Jsonl, ErrorsNameLineAndKey) {
  const std::string ok1 = "{\"id\": \"x\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1}\n";
  struct Case {
    const char* line;
    const char* expected;  // after "trace.jsonl:3: "
  };
  const Case cases[] = {
      {R"({"id": "a", "submit_s": 0, "duration_s": -5, "gpus": 1})",
       "duration_s: must be > 0, got -5"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 0, "gpus": 1})", "duration_s: must be > 0"},
      {R"({"id": "a", "submit_s": 0, "duration_s": "5", "gpus": 1})",
       "duration_s: must be a number of seconds, got \"5\""},
      {R"({"id": "a", "submit_s": -1, "duration_s": 5, "gpus": 1})",
       "submit_s: must be >= 0, got -1"},
      {R"({"id": "a", "submit_s": 1e200, "duration_s": 5, "gpus": 1})",
       "submit_s: must be at most 1e11 seconds"},
      {R"({"id": "a", "submit_s": true, "duration_s": 5, "gpus": 1})",
       "submit_s: must be a number of seconds, got true"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 0})",
       "gpus: must be a positive integer, got 0"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1.5})",
       "gpus: must be a positive integer, got 1.5"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": "8"})",
       "gpus: must be a positive integer, got \"8\""},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 99999999999})",
       "gpus: must be at most 2147483647"},
      {R"({"id": 1.5, "submit_s": 0, "duration_s": 5, "gpus": 1})",
       "id: must be a string or an integer, got 1.5"},
      {R"({"id": "", "submit_s": 0, "duration_s": 5, "gpus": 1})", "id: must not be empty"},
      {R"({"submit_s": 0, "duration_s": 5, "gpus": 1})", "id: required key is missing"},
      {R"({"id": "a", "duration_s": 5, "gpus": 1})", "submit_s: required key is missing"},
      {R"({"id": "a", "submit_s": 0, "gpus": 1})", "duration_s: required key is missing"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5})", "gpus: required key is missing"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "gpu": 2})", "unknown key 'gpu'"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "queue": 3})",
       "queue: must be a string, got 3"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "gpu_type": ["H100"]})",
       "gpu_type: must be a string"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "priority": 5000})",
       "priority: must be an integer in -1000..1000, got 5000"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 1, "priority": 0.5})",
       "priority: must be an integer in -1000..1000"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 8, "tasks": 3})",
       "tasks: must divide gpus (8), got 3"},
      {R"({"id": "a", "submit_s": 0, "duration_s": 5, "gpus": 8, "tasks": 0})",
       "tasks: must be a positive integer, got 0"},
      {R"([1, 2])", "expected a JSON object, got [1,2]"},
      {R"({"id": "a", )", "invalid JSON: "},
      {R"({"id": "a"} {"id": "b"})", "invalid JSON: "},
      {"{\"id\": \"\xff\", \"submit_s\": 0, \"duration_s\": 5, \"gpus\": 1}", "invalid JSON: "},
  };
  for (const Case& c : cases) {
    std::string msg = ErrorOf(Jsonl(ok1 + "\n" + c.line + "\n"));
    EXPECT_THAT(msg, HasSubstr(std::string("trace.jsonl:3: ") + c.expected)) << c.line;
  }
}

TEST(Jsonl, ExactDurationMessage) {
  auto r = Jsonl("\n\n{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": -5, \"gpus\": 1}\n");
  EXPECT_EQ(ErrorOf(r), "trace.jsonl:3: duration_s: must be > 0, got -5");
}

TEST(Jsonl, NulAndNonUtf8AreRejectedPrintably) {
  std::string nul =
      std::string("{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 5, \"gpus\": 1}") +
      std::string(1, '\0') + "junk\n";
  EXPECT_THAT(ErrorOf(Jsonl(nul)), HasSubstr("trace.jsonl:1: invalid JSON: line contains a NUL"));
  std::string msg = ErrorOf(Jsonl("{\"id\": \"\xfe\xff\"}\n"));
  EXPECT_THAT(msg, HasSubstr("trace.jsonl:1: invalid JSON"));
  for (char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << msg;
}

TEST(Jsonl, DuplicateIdsNameBothLines) {
  std::string msg =
      ErrorOf(Jsonl("{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1}\n"
                    "{\"id\": 7, \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1}\n"
                    "{\"id\": \"7\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1}\n"));
  EXPECT_THAT(msg, HasSubstr("trace.jsonl:3: id: duplicate id '7' (first on line 2"));
}

TEST(Jsonl, FilterAppliesAfterChecks) {
  std::string text =
      "{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1, \"queue\": \"q1\"}\n"
      "{\"id\": \"b\", \"submit_s\": 5, \"duration_s\": 1, \"gpus\": 1, \"queue\": \"q2\"}\n"
      "{\"id\": \"c\", \"submit_s\": 9, \"duration_s\": 1, \"gpus\": 1, \"queue\": \"q1\"}\n";
  EXPECT_EQ(Ids(*Jsonl(text, {.queues = {"q1"}})), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(Ids(*Jsonl(text, {.from = TimeFromSeconds(5)})), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Ids(*Jsonl(text, {.to = TimeFromSeconds(5)})), (std::vector<std::string>{"a"}));
  EXPECT_THAT(ErrorOf(Jsonl(text + "{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 1, "
                                   "\"gpus\": 1, \"queue\": \"q2\"}\n",
                            {.queues = {"q1"}})),
              HasSubstr("trace.jsonl:4: id: duplicate id 'a'"));
}

// ---------------------------------------------------------------------------------------
// Timestamps, formats, files

TEST(ParseTimestamp, AcceptsThreeForms) {
  EXPECT_EQ(*ParseTimestamp("2017-10-09"), At(2017y / 10 / 9));
  EXPECT_EQ(*ParseTimestamp("2017-10-09 07:01:55"), At(2017y / 10 / 9, 7h + 1min + 55s));
  EXPECT_EQ(*ParseTimestamp("2017-10-09T07:01:55"), At(2017y / 10 / 9, 7h + 1min + 55s));
  EXPECT_EQ(*ParseTimestamp("1970-01-01"), Time{});
  EXPECT_EQ(*ParseTimestamp("2016-02-29 23:59:59"), At(2016y / 2 / 29, 23h + 59min + 59s));
  EXPECT_EQ(*ParseTimestamp("2000-02-29"), At(2000y / 2 / 29));
}

TEST(ParseTimestamp, RejectsEverythingElse) {
  struct Case {
    const char* text;
    const char* expected;
  };
  for (const Case& c :
       {Case{"", "expected YYYY-MM-DD"}, Case{"2017-10-9", "expected"},
        Case{"2017-10-09 07:01", "expected"}, Case{" 2017-10-09", "expected"},
        Case{"2017-10-09Z", "expected"}, Case{"2017-10-09 07:01:55Z", "expected"},
        Case{"2017-10-09x07:01:55", "expected"}, Case{"2017/10/09", "expected"},
        Case{"-017-10-09", "expected"}, Case{"2017-00-09", "month must be 01..12"},
        Case{"2017-13-09", "month must be 01..12"}, Case{"2017-02-29", "day out of range"},
        Case{"1900-02-29", "day out of range"}, Case{"2017-04-31", "day out of range"},
        Case{"2017-04-00", "day out of range"}, Case{"2017-10-09 24:00:00", "hour must be 00..23"},
        Case{"2017-10-09 07:60:00", "minute must be 00..59"},
        Case{"2017-10-09 07:01:60", "second must be 00..59"}}) {
    std::string msg = ErrorOf(ParseTimestamp(c.text));
    EXPECT_THAT(msg, HasSubstr(std::string("invalid timestamp '") + c.text + "'")) << c.text;
    EXPECT_THAT(msg, HasSubstr(c.expected)) << c.text;
  }
}

TEST(TraceFormat, ParsesNamesAndListsValidOnes) {
  EXPECT_EQ(*ParseTraceFormat("philly-csv"), TraceFormat::kPhillyCsv);
  EXPECT_EQ(*ParseTraceFormat("jsonl"), TraceFormat::kJsonl);
  EXPECT_EQ(TraceFormatName(TraceFormat::kPhillyCsv), "philly-csv");
  EXPECT_EQ(TraceFormatName(TraceFormat::kJsonl), "jsonl");
  std::string msg = ErrorOf(ParseTraceFormat("csv"));
  EXPECT_THAT(msg, HasSubstr("'csv'"));
  EXPECT_THAT(msg, HasSubstr("philly-csv, jsonl"));
}

TEST(ReadTraceFile, MissingFileIsNotFoundWithPath) {
  auto r = ReadTraceFile("/nonexistent/dir/trace.csv", TraceFormat::kPhillyCsv, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/dir/trace.csv"));
  auto dir = ReadTraceFile(testing::TempDir(), TraceFormat::kJsonl, {});
  EXPECT_THAT(ErrorOf(dir), HasSubstr("is a directory"));
}

TEST(ReadTraceFile, ReadsAFileAndNamesItInErrors) {
  const std::string path = testing::TempDir() + "/baton_trace_test.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 1}\n"
           "{\"id\": \"b\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": -1}\n";
  }
  std::string msg = ErrorOf(ReadTraceFile(path, TraceFormat::kJsonl, {}));
  EXPECT_THAT(msg, HasSubstr(path + ":2: gpus: must be a positive integer, got -1"));
  std::filesystem::remove(path);
}

// Random bytes and mangled valid rows: readers must return, never crash or hang.
TEST(TraceReaders, SurviveJunkInput) {
  std::mt19937 rng(12345);
  const std::string csv_seed = std::string(kHeader) + "2017-10-09 07:01:55,66.0,1,66.0,\"a\"\n";
  const std::string jsonl_seed =
      "{\"id\": \"a\", \"submit_s\": 0, \"duration_s\": 1, \"gpus\": 8, \"tasks\": 2}\n";
  const std::string alphabet = std::string("\",\r\n\0{}[]:.-e0123456789 #\xff", 27);
  for (int round = 0; round < 2000; ++round) {
    for (const std::string* seed : {&csv_seed, &jsonl_seed}) {
      std::string text = *seed;
      const int edits = 1 + static_cast<int>(rng() % 6);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = rng() % (text.size() + 1);
        const char c =
            round % 3 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0:
            text.insert(pos, 1, c);
            break;
          case 1:
            if (pos < text.size()) text.erase(pos, 1);
            break;
          default:
            if (pos < text.size()) text[pos] = c;
            break;
        }
      }
      auto csv = Csv(text);
      auto jsonl = Jsonl(text);
      if (!csv.ok()) {
        EXPECT_THAT(csv.status().message(), HasSubstr("philly.csv"));
      }
      if (!jsonl.ok()) {
        EXPECT_THAT(jsonl.status().message(), HasSubstr("trace.jsonl"));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Shipped examples and the real Philly trace

TEST(ExampleTraces, SmallTracesReadAndFitTheSmallCluster) {
  const std::string dir = std::string(BATON_SOURCE_DIR) + "/examples/traces/";
  auto jsonl = ReadTraceFile(dir + "small.jsonl", TraceFormat::kJsonl, {});
  ASSERT_TRUE(jsonl.ok()) << jsonl.status().ToString();
  EXPECT_GE(jsonl->size(), 15u);
  // examples/clusters/small.yaml: H100 nodes of 8 GPUs, A100 nodes of 4; leaf queues
  // team-a, team-b and default.
  const std::map<std::string, int> node_gpus = {{"H100", 8}, {"A100", 4}};
  const std::set<std::string> leaf_queues = {"team-a", "team-b", "default"};
  for (const TraceJob& job : *jsonl) {
    EXPECT_TRUE(leaf_queues.count(job.queue)) << job.id << " " << job.queue;
    ASSERT_TRUE(node_gpus.count(job.gpu_type)) << job.id << " " << job.gpu_type;
    const int per_task = job.gpus / job.tasks.value_or(1);
    EXPECT_LE(per_task, node_gpus.at(job.gpu_type)) << job.id;
    EXPECT_LE(job.gpus, 16) << job.id;
  }
  auto csv = ReadTraceFile(dir + "small.csv", TraceFormat::kPhillyCsv, {});
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_GE(csv->size(), 15u);
}

TEST(PhillyTrace, FullTraceMatchesPublishedCounts) {
  const std::string path = std::string(BATON_SHARED_DIR) + "/data/philly/philly.csv";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "real Philly trace not found at " << path
                 << " (it lives in ../shared/data, outside the project)";
  }
  auto r = ReadTraceFile(path, TraceFormat::kPhillyCsv, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<TraceJob>& jobs = *r;
  ASSERT_EQ(jobs.size(), 82247u);
  std::map<int, int> histogram;
  std::set<std::string> queues;
  for (const TraceJob& j : jobs) {
    ++histogram[j.gpus];
    queues.insert(j.queue);
  }
  EXPECT_EQ(histogram, (std::map<int, int>{{1, 76627},
                                           {2, 1818},
                                           {4, 1870},
                                           {8, 1643},
                                           {12, 7},
                                           {16, 199},
                                           {24, 7},
                                           {32, 67},
                                           {64, 6},
                                           {128, 3}}));
  EXPECT_EQ(queues.size(), 15u);
  EXPECT_EQ(jobs.front().submit, At(2017y / 9 / 4, 10h + 30min + 41s));
  for (size_t i = 1; i < jobs.size(); ++i) {
    ASSERT_LE(jobs[i - 1].submit, jobs[i].submit) << i;
    if (jobs[i - 1].submit == jobs[i].submit) {
      ASSERT_LT(jobs[i - 1].line, jobs[i].line) << i;
    }
  }

  auto vc = ReadTraceFile(path, TraceFormat::kPhillyCsv, {.queues = {"6214e9"}});
  ASSERT_TRUE(vc.ok()) << vc.status().ToString();
  EXPECT_EQ(vc->size(), 41226u);
}

}  // namespace
}  // namespace baton::sim

// ---------------------------------------------------------------------------------------
// Size limits (common/limits.h): a line longer than 64 KiB is refused, naming its line.

namespace baton::sim {
namespace {

TEST(TraceLimits, LongLinesAreRefusedByBothReaders) {
  const std::string long_line(70000, 'x');
  EXPECT_EQ(ErrorOf(Csv("timestamp,duration,num_gpus\n" + long_line + "\n")),
            "philly.csv:2: the line is 70000 bytes; at most 65536");
  EXPECT_EQ(ErrorOf(Jsonl("\n" + long_line)), "trace.jsonl:2: the line is 70000 bytes; at most 65536");
}

}  // namespace
}  // namespace baton::sim
