// Fuzz target: batond's HTTP side — the dashboard's JSON API and static files
// (server/http_api.h) behind the same HTTP parser and limits as a real connection
// (metrics::HttpServer::ServeRaw) — with raw request bytes: request line, query string,
// headers and body.
//
// Every input starts from the same populated control plane (two nodes, a running job, a
// pending one and a finished one; fuzz/control_plane_harness.h), so paths that name a job
// or node reach real records; the input may cancel them.
//
// Beyond "no crash, no leak, no hang": every request that is answered at all gets a status
// line; no handler answers 500 (an exception escaped); API errors are JSON.
#include <cstdio>
#include <cstdlib>
#include <future>

#include "control_plane_harness.h"
#include "fuzz_common.h"

namespace baton::fuzz {
namespace {

class Sink final : public server::AgentSink {
 public:
  void Send(const v1::Directive& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent.push_back(d);
  }
  std::vector<v1::Directive> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent, {});
  }

 private:
  std::mutex mu_;
  std::vector<v1::Directive> sent;
};

void Submit(server::ControlPlane& cp, int gpus, int tasks = 1) {
  model::JobSpec spec;
  spec.name = "job";
  spec.tasks = tasks;
  spec.gpus_per_task = Quantity::Whole(gpus);
  spec.command = {"/bin/true"};
  std::promise<void> done;
  cp.Submit(spec, [&](Result<v1::Job>) { done.set_value(); });
  done.get_future().wait();
}

// Nodes node-0 and node-1 (4 H100 each); job 1 (4 GPUs) succeeded, job 2 (2 GPUs) running,
// job 3 (a gang of 2 x 4 GPUs) pending.
void Populate(ControlPlaneHarness& h) {
  server::ControlPlane& cp = h.cp();
  std::vector<std::pair<int64_t, std::shared_ptr<Sink>>> agents;
  for (int n = 0; n < 2; ++n) {
    v1::Register reg;
    reg.set_node_name("node-" + std::to_string(n));
    reg.set_address("10.0.0." + std::to_string(n + 1));
    reg.set_log_endpoint(ControlPlaneHarness::kDeadLogEndpoint);
    for (int i = 0; i < 4; ++i) {
      v1::AgentGpu* g = reg.mutable_inventory()->add_gpus();
      g->set_index(i);
      g->set_uuid("GPU-" + std::to_string(n) + "-" + std::to_string(i));
      g->set_model("H100");
      g->set_memory_mib(81920);
    }
    auto sink = std::make_shared<Sink>();
    auto session = cp.RegisterAgent(reg, sink);
    FUZZ_CHECK(session.ok());
    agents.emplace_back(*session, sink);
  }
  auto answer = [&](bool finish) {
    for (auto& [session, sink] : agents) {
      for (const v1::Directive& d : sink->Take()) {
        if (!d.has_start_task()) continue;
        v1::AgentMessage m;
        v1::TaskStatus* ts = m.mutable_task_status();
        ts->set_job_id(d.start_task().job_id());
        ts->set_attempt(d.start_task().attempt());
        ts->set_task_index(d.start_task().task_index());
        ts->set_state(v1::TASK_STATE_RUNNING);
        FUZZ_CHECK(cp.OnAgentMessage(session, m).ok());
        if (finish) {
          ts->set_state(v1::TASK_STATE_EXITED);
          FUZZ_CHECK(cp.OnAgentMessage(session, m).ok());
        }
      }
    }
  };
  h.Tick(std::chrono::milliseconds(200));
  Submit(cp, 4);
  h.Tick(std::chrono::milliseconds(200));
  answer(true);
  Submit(cp, 2);
  h.Tick(std::chrono::milliseconds(200));
  answer(false);
  Submit(cp, 4, 2);
  h.Tick(std::chrono::milliseconds(200));
  cp.Flush();
}

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto& h = baton::fuzz::ControlPlaneHarness::Get();
  h.Begin();
  baton::fuzz::Populate(h);
  const std::string resp = h.http().ServeRaw(baton::fuzz::AsText(data, size));
  h.End();
  if (std::getenv("BATON_FUZZ_TRACE")) std::fprintf(stderr, "%s\n", resp.substr(0, 400).c_str());
  if (resp.empty()) return 0;
  FUZZ_CHECK(resp.rfind("HTTP/1.1 ", 0) == 0);
  FUZZ_CHECK(resp.rfind("HTTP/1.1 500", 0) != 0);
  return 0;
}
