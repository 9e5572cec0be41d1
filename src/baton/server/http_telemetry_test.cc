// The telemetry answers of the dashboard (http_telemetry.h) over a real ControlPlane with
// a ManualClock: which GPUs, which samples (an attempt's window only), nulls for values
// the agent could not read, and the errors for unknown nodes, GPUs and attempts.
#include "baton/server/http_telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing_fixture::ControlPlaneTest;
using testing_fixture::RecordingSink;
using testing_fixture::Spec;
using testing_fixture::Starts;

class HttpTelemetryTest : public ControlPlaneTest {
 protected:
  // A heartbeat of node n1's 4 GPUs, GPU i at `util + i` percent.
  void Beat(int64_t session, double util, double temp = 50) {
    v1::AgentMessage m;
    m.mutable_heartbeat()->set_sequence(++seq_);
    for (int i = 0; i < 4; ++i) {
      v1::GpuTelemetry* t = m.mutable_heartbeat()->add_gpus();
      t->set_index(i);
      t->set_uuid("GPU-n1-" + std::to_string(i));
      t->set_utilization_percent(util + i);
      t->set_memory_used_mib(1000 * (i + 1));
      t->set_temperature_c(temp);
      t->set_power_w(300);
    }
    Msg(session, m);
  }
  static int64_t Ms(Time t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  int64_t seq_ = 0;
};

TEST_F(HttpTelemetryTest, JobAnswerHoldsTheAttemptsGpusAndOnlyItsOwnSamples) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t s = Connect("n1", 4, sink);
  const Time before = clock_.Now();
  Beat(s, 10);  // before the job: not part of its charts
  clock_.Advance(1s);
  auto job = SubmitSync(Spec(1, 2));
  ASSERT_TRUE(job.ok());
  Tick();
  auto starts = Starts(sink->Take());
  ASSERT_EQ(starts.size(), 1u);
  const Time started = clock_.Now();
  Msg(s, testing_fixture::Status(starts[0], v1::TASK_STATE_RUNNING));
  clock_.Advance(1s);
  Beat(s, 70, /*temp=*/-1);  // the agent could not read the temperature
  const Time during = clock_.Now();
  clock_.Advance(1s);
  Msg(s, testing_fixture::Status(starts[0], v1::TASK_STATE_EXITED, 3));  // the job fails
  Tick();
  const Time ended = clock_.Now();
  clock_.Advance(1s);
  Beat(s, 5);  // after it ended

  const JobId id(std::stoull(job->id()));
  auto body = JobTelemetryJson(*cp_, id, 1);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  const json j = json::parse(*body);
  EXPECT_EQ(j["attempt"], 1);
  EXPECT_EQ(j["from_ms"], Ms(started));
  EXPECT_EQ(j["to_ms"], Ms(ended));
  EXPECT_EQ(j["gpus_total"], 2);
  EXPECT_EQ(j["history"], 60);
  ASSERT_EQ(j["gpus"].size(), 2u);
  std::vector<int> indices;
  for (const json& g : j["gpus"]) {
    const int i = g["index"];
    indices.push_back(i);
    EXPECT_EQ(g["node"], "n1");
    EXPECT_EQ(g["uuid"], "GPU-n1-" + std::to_string(i));
    EXPECT_EQ(g["task"], 0);
    EXPECT_EQ(g["memory_mib"], 81920);
    EXPECT_EQ(g["t_ms"], json::array({Ms(during)}));
    EXPECT_EQ(g["util"], json::array({70.0 + i}));
    EXPECT_EQ(g["mem_used_mib"], json::array({1000.0 * (i + 1)}));
    EXPECT_EQ(g["temp_c"], json::array({nullptr}));  // -1 = unknown: a gap, not a dip
    EXPECT_EQ(g["power_w"], json::array({300.0}));
  }
  EXPECT_EQ(indices, (std::vector<int>{0, 1}));

  // attempt 0 = the latest, the only one.
  auto latest = JobTelemetryJson(*cp_, id, 0);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(json::parse(*latest)["attempt"], 1);
  auto bad = JobTelemetryJson(*cp_, id, 3);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("attempt: job 1 has no attempt 3 (it has"));
  EXPECT_EQ(JobTelemetryJson(*cp_, JobId(99), 0).status().code(), StatusCode::kNotFound);

  // The node answer: every GPU, every kept sample, oldest first.
  auto node = NodeTelemetryJson(*cp_, "n1", "");
  ASSERT_TRUE(node.ok());
  const json n = json::parse(*node);
  ASSERT_EQ(n["gpus"].size(), 4u);
  EXPECT_EQ(n["gpus"][3]["t_ms"],
            json::array({Ms(before), Ms(during), Ms(during) + 2000}));
  EXPECT_EQ(n["gpus"][3]["util"], json::array({13.0, 73.0, 8.0}));
  EXPECT_EQ(n["gpus"][2]["job"], "");
}

TEST_F(HttpTelemetryTest, OneGpuByIndexOrUuidAndClearErrors) {
  auto sink = std::make_shared<RecordingSink>();
  const int64_t s = Connect("n1", 4, sink);
  Beat(s, 20);
  for (const std::string& name : {std::string("2"), std::string("GPU-n1-2")}) {
    auto one = NodeTelemetryJson(*cp_, "n1", name);
    ASSERT_TRUE(one.ok()) << name;
    const json j = json::parse(*one);
    ASSERT_EQ(j["gpus"].size(), 1u);
    EXPECT_EQ(j["gpus"][0]["index"], 2);
    EXPECT_EQ(j["gpus"][0]["util"], json::array({22.0}));
  }
  auto missing = NodeTelemetryJson(*cp_, "n1", "4");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "node 'n1' has no GPU '4' (its GPUs are 0..3)");
  EXPECT_EQ(NodeTelemetryJson(*cp_, "n1", "02").status().code(), StatusCode::kNotFound);
  auto unknown = NodeTelemetryJson(*cp_, "nope", "");
  EXPECT_EQ(unknown.status().message(), "node 'nope' not found");
  // A job that waits has no GPUs yet: a note, not an error.
  auto job = SubmitSync(Spec(1, 8));  // more than n1 has: refused at submit
  EXPECT_FALSE(job.ok());
  auto fits = SubmitSync(Spec(1, 4));
  ASSERT_TRUE(fits.ok());
  auto waits = SubmitSync(Spec(1, 4));
  ASSERT_TRUE(waits.ok());
  Tick();
  auto pending = JobTelemetryJson(*cp_, JobId(std::stoull(waits->id())), 0);
  ASSERT_TRUE(pending.ok());
  const json p = json::parse(*pending);
  EXPECT_EQ(p["gpus"], json::array());
  EXPECT_THAT(p["note"].get<std::string>(), HasSubstr("has not been placed yet"));
  EXPECT_EQ(JobTelemetryJson(*cp_, JobId(std::stoull(waits->id())), 1).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace baton::server
