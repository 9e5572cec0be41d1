#include "baton/server/server_metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <future>

#include "baton/store/memory/memory_store.h"

namespace baton::server {
namespace {

using namespace std::chrono_literals;

class NullSink : public AgentSink {
 public:
  void Send(const v1::Directive& d) override {
    if (d.has_start_task()) starts.push_back(d.start_task());
  }
  std::vector<v1::StartTask> starts;
};

// A ControlPlane on a manual clock reporting to ServerMetrics, as batond wires them.
class ServerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControlPlaneOptions opts;
    opts.observer = &metrics_;
    cp_ = std::make_unique<ControlPlane>(opts, &store_, &clock_);
    ASSERT_TRUE(cp_->Recover().ok());
    metrics_.Attach(cp_.get(), &loops_);
  }

  int64_t Connect(const std::string& name, int gpus) {
    v1::Register reg;
    reg.set_node_name(name);
    for (int i = 0; i < gpus; ++i) {
      v1::AgentGpu* g = reg.mutable_inventory()->add_gpus();
      g->set_index(i);
      g->set_uuid("GPU-" + name + "-" + std::to_string(i));
      g->set_model("H100");
      g->set_memory_mib(81920);
    }
    auto session = cp_->RegisterAgent(reg, sink_);
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    cp_->Flush();
    return *session;
  }

  v1::Job Submit(int gpus, const std::string& queue) {
    model::JobSpec s;
    s.gpus_per_task = Quantity::Whole(gpus);
    s.command = {"/bin/true"};
    s.queue = queue;
    std::promise<Result<v1::Job>> p;
    cp_->Submit(s, [&](Result<v1::Job> r) { p.set_value(std::move(r)); });
    Result<v1::Job> r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  void Msg(int64_t session, const v1::AgentMessage& m) {
    ASSERT_TRUE(cp_->OnAgentMessage(session, m).ok());
  }

  // The value of the sample line starting with `series` (name and labels), or "" if absent.
  static std::string Sample(const std::string& text, const std::string& series) {
    size_t pos = text.find("\n" + series + " ");
    if (pos == std::string::npos) return "";
    pos += series.size() + 2;
    return text.substr(pos, text.find('\n', pos) - pos);
  }

  metrics::Registry registry_;
  ServerMetrics metrics_{&registry_};
  std::atomic<int64_t> loops_{7};
  ManualClock clock_{Time(std::chrono::seconds(1'000'000))};
  store::MemoryStore store_;
  std::shared_ptr<NullSink> sink_ = std::make_shared<NullSink>();
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ServerMetricsTest, JobsSchedulerGpusAndTelemetry) {
  const int64_t s = Connect("n1", 2);
  v1::AgentMessage hb;
  v1::GpuTelemetry* t = hb.mutable_heartbeat()->add_gpus();
  t->set_uuid("GPU-n1-0");
  t->set_utilization_percent(50);
  t->set_memory_used_mib(1024);
  t->set_temperature_c(61.5);
  t->set_power_w(300);
  Msg(s, hb);

  v1::Job a = Submit(1, "research");
  cp_->Tick();
  cp_->Flush();
  ASSERT_EQ(sink_->starts.size(), 1u);
  clock_.Advance(3s);
  v1::AgentMessage running;
  running.mutable_task_status()->set_job_id(a.id());
  running.mutable_task_status()->set_attempt(1);
  running.mutable_task_status()->set_task_index(0);
  running.mutable_task_status()->set_state(v1::TASK_STATE_RUNNING);
  Msg(s, running);
  cp_->Flush();

  const std::string text = registry_.Render();
  const std::string gpu0 = "{node=\"n1\",gpu=\"0\"}";
  const std::string gpu1 = "{node=\"n1\",gpu=\"1\"}";
  EXPECT_EQ(Sample(text, "baton_gpu_info{node=\"n1\",gpu=\"1\",uuid=\"GPU-n1-1\","
                         "model=\"H100\"}"),
            "1");
  EXPECT_EQ(Sample(text, "baton_jobs{state=\"running\",queue=\"research\"}"), "1") << text;
  EXPECT_EQ(Sample(text, "baton_jobs_submitted_total"), "1");
  EXPECT_EQ(Sample(text, "baton_sched_decisions_total{decision=\"place\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_sched_decisions_total{decision=\"preempt\"}"), "0");
  EXPECT_EQ(Sample(text, "baton_sched_round_duration_seconds_count"), "1");
  EXPECT_EQ(Sample(text, "baton_jobs_start_latency_seconds_count{queue=\"research\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_jobs_start_latency_seconds_sum{queue=\"research\"}"), "3");
  EXPECT_EQ(Sample(text, "baton_gpus{state=\"allocated\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_gpus{state=\"idle\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_gpu_allocated" + gpu0), "1");
  EXPECT_EQ(Sample(text, "baton_gpu_allocated" + gpu1), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_utilization_ratio" + gpu0), "0.5");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_used_bytes" + gpu0), "1073741824");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_total_bytes" + gpu0), "85899345920");
  EXPECT_EQ(Sample(text, "baton_gpu_temperature_celsius" + gpu0), "61.5");
  EXPECT_EQ(Sample(text, "baton_gpu_power_watts" + gpu0), "300");
  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu0), "1");
  // GPU 1 was not in the heartbeat: no made-up telemetry, and not counted healthy.
  EXPECT_EQ(Sample(text, "baton_gpu_utilization_ratio" + gpu1), "");
  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu1), "0");
  EXPECT_EQ(Sample(text, "baton_nodes{state=\"ready\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_agents_connected"), "1");
  EXPECT_EQ(Sample(text, "baton_agent_heartbeat_age_seconds{node=\"n1\"}"), "0");
  EXPECT_EQ(Sample(text, "baton_loop_iterations_total"), "7");
  EXPECT_NE(Sample(text, "baton_store_write_duration_seconds_count"), "0");
}

TEST_F(ServerMetricsTest, NvmlTelemetryAndSamplingErrors) {
  const int64_t s = Connect("n1", 3);
  v1::AgentMessage hb;
  v1::GpuTelemetry* t = hb.mutable_heartbeat()->add_gpus();
  t->set_uuid("GPU-n1-0");
  t->set_utilization_percent(80);
  t->set_memory_utilization_percent(25);
  t->set_sm_clock_mhz(1980);
  t->set_memory_clock_mhz(2619);
  t->set_ecc_corrected(3);
  t->set_ecc_uncorrected(1);
  t->set_throttle_reasons(0x4);  // SW power cap
  t->set_retired_pages_pending(true);
  // GPU 1: sampling failed; whatever values came along are not to be believed.
  t = hb.mutable_heartbeat()->add_gpus();
  t->set_uuid("GPU-n1-1");
  t->set_utilization_percent(10);
  t->set_error("nvmlDeviceGetTemperature: GPU is lost");
  // GPU 2: NVML cannot read clocks or ECC counts here (-1).
  t = hb.mutable_heartbeat()->add_gpus();
  t->set_uuid("GPU-n1-2");
  t->set_sm_clock_mhz(-1);
  t->set_memory_clock_mhz(-1);
  t->set_ecc_corrected(-1);
  t->set_ecc_uncorrected(-1);
  Msg(s, hb);

  std::string text = registry_.Render();
  const std::string gpu0 = "{node=\"n1\",gpu=\"0\"}";
  const std::string gpu1 = "{node=\"n1\",gpu=\"1\"}";
  const std::string gpu2 = "{node=\"n1\",gpu=\"2\"}";
  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu0), "1") << text;
  EXPECT_EQ(Sample(text, "baton_gpu_sampling_error" + gpu0), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_utilization_ratio" + gpu0), "0.8");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_utilization_ratio" + gpu0), "0.25");
  EXPECT_EQ(Sample(text, "baton_gpu_sm_clock_hertz" + gpu0), "1.98e+09");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_clock_hertz" + gpu0), "2.619e+09");
  EXPECT_EQ(Sample(text, "baton_gpu_ecc_corrected_errors" + gpu0), "3");
  EXPECT_EQ(Sample(text, "baton_gpu_ecc_uncorrected_errors" + gpu0), "1");
  EXPECT_EQ(Sample(text, "baton_gpu_throttle_reasons" + gpu0), "4");
  EXPECT_EQ(Sample(text, "baton_gpu_retired_pages_pending" + gpu0), "1");

  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu1), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_sampling_error" + gpu1), "1");
  EXPECT_EQ(Sample(text, "baton_gpu_utilization_ratio" + gpu1), "");
  EXPECT_EQ(Sample(text, "baton_gpu_temperature_celsius" + gpu1), "");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_total_bytes" + gpu1), "85899345920");

  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu2), "1");
  EXPECT_EQ(Sample(text, "baton_gpu_throttle_reasons" + gpu2), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_retired_pages_pending" + gpu2), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_sm_clock_hertz" + gpu2), "");
  EXPECT_EQ(Sample(text, "baton_gpu_memory_clock_hertz" + gpu2), "");
  EXPECT_EQ(Sample(text, "baton_gpu_ecc_corrected_errors" + gpu2), "");
  EXPECT_EQ(Sample(text, "baton_gpu_ecc_uncorrected_errors" + gpu2), "");

  // An operator drains the node: it counts as drained, and none of its GPUs is healthy.
  // (A fresh registry so the scrape cache of the first one does not hide the change.)
  ASSERT_TRUE(cp_->Drain("n1", "maintenance").ok());
  metrics::Registry registry;
  ServerMetrics metrics(&registry);
  metrics.Attach(cp_.get(), &loops_);
  text = registry.Render();
  EXPECT_EQ(Sample(text, "baton_nodes{state=\"drained\"}"), "1") << text;
  EXPECT_EQ(Sample(text, "baton_nodes{state=\"ready\"}"), "0");
  EXPECT_EQ(Sample(text, "baton_gpus{state=\"unavailable\"}"), "3");
  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu0), "0");
  EXPECT_EQ(Sample(text, "baton_gpu_healthy" + gpu2), "0");
}

// A GPU drained for its health (an Xid, ECC errors) is not healthy, even on a ready node
// with a clean sample.
TEST(AppendGpuTelemetryTest, DrainedGpuIsNotHealthy) {
  ControlPlaneMetricsView::GpuView g;
  g.gpu.set_index(0);
  g.gpu.set_memory_mib(1024);
  g.telemetry.emplace();
  g.telemetry->set_utilization_percent(50);
  GpuTelemetrySamples healthy;
  AppendGpuTelemetry(g, {"n", "0"}, /*node_ready=*/true, &healthy);
  ASSERT_EQ(healthy.by_family["baton_gpu_healthy"].size(), 1u);
  EXPECT_EQ(healthy.by_family["baton_gpu_healthy"][0].value, 1);

  g.gpu.set_drained(true);
  g.gpu.set_health_reason("Xid 79: GPU has fallen off the bus");
  GpuTelemetrySamples drained;
  AppendGpuTelemetry(g, {"n", "0"}, /*node_ready=*/true, &drained);
  EXPECT_EQ(drained.by_family["baton_gpu_healthy"][0].value, 0);
  // Its telemetry still shows: an operator wants to see what the sick GPU does.
  EXPECT_EQ(drained.by_family["baton_gpu_utilization_ratio"][0].value, 0.5);

  GpuTelemetrySamples not_ready;
  g.gpu.set_drained(false);
  AppendGpuTelemetry(g, {"n", "0"}, /*node_ready=*/false, &not_ready);
  EXPECT_EQ(not_ready.by_family["baton_gpu_healthy"][0].value, 0);
}

TEST_F(ServerMetricsTest, PendingJobsByQueueAndReason) {
  Submit(1, "a");  // no agent yet
  std::string text = registry_.Render();
  EXPECT_EQ(Sample(text, "baton_sched_pending_jobs{queue=\"a\",reason=\"no-nodes\"}"), "1")
      << text;
  EXPECT_EQ(Sample(text, "baton_jobs{state=\"pending\",queue=\"a\"}"), "1");

  // A fresh registry so the scrape cache of the first one does not hide the change.
  metrics::Registry registry;
  ServerMetrics metrics(&registry);
  metrics.Attach(cp_.get(), &loops_);
  const int64_t s = Connect("n1", 1);
  Submit(1, "a");
  Submit(1, "b");
  cp_->Tick();
  cp_->Flush();
  clock_.Advance(2s);
  text = registry.Render();
  // One of the three jobs got the GPU; the other two wait for resources.
  int64_t waiting = 0;
  for (const char* q : {"a", "b"}) {
    std::string v = Sample(text, fmt::format("baton_sched_pending_jobs{{queue=\"{}\","
                                             "reason=\"resources\"}}", q));
    if (!v.empty()) waiting += std::stoll(v);
  }
  EXPECT_EQ(waiting, 2) << text;
  EXPECT_EQ(Sample(text, "baton_agent_heartbeat_age_seconds{node=\"n1\"}"), "2");
  (void)s;
}

TEST_F(ServerMetricsTest, RoundsCountDecisionsAndPreemptions) {
  metrics_.OnRound(std::chrono::milliseconds(2), /*examined=*/5, /*placed=*/2,
                   /*preempted=*/3);
  metrics_.OnRound(std::chrono::milliseconds(30), 1, 1, 0);
  const std::string text = registry_.Render();
  EXPECT_EQ(Sample(text, "baton_sched_decisions_total{decision=\"place\"}"), "3");
  EXPECT_EQ(Sample(text, "baton_sched_decisions_total{decision=\"preempt\"}"), "3");
  EXPECT_EQ(Sample(text, "baton_sched_decisions_total{decision=\"wait\"}"), "3");
  EXPECT_EQ(Sample(text, "baton_sched_preemptions_total"), "3");
  EXPECT_EQ(Sample(text, "baton_sched_round_duration_seconds_count"), "2");
  EXPECT_EQ(Sample(text, "baton_sched_round_duration_seconds_bucket{le=\"0.0025\"}"), "1");
  EXPECT_EQ(Sample(text, "baton_sched_round_duration_seconds_bucket{le=\"0.05\"}"), "2");
}

}  // namespace
}  // namespace baton::server
