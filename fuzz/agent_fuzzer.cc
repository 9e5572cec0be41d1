// Fuzz target: the node agent's side of the protocol — the control plane's Directives
// (StartTask, StopTask, Signal, Registered) into Agent::HandleDirective, and the agent's
// own gRPC request handler, AgentLogs.Read (agent/log_service.h), served in-process — as
// operation sequences interleaved with the agent's own events (processes exiting, clock,
// GPU health events, health-check results, connects and disconnects, Register and
// Heartbeat building).
//
// Processes are the SimulatedLauncher's (nothing is executed); the agent is otherwise
// real: it makes its task directories under a scratch data directory (on tmpfs where there
// is one), which each input starts empty. A StartTask's checkpoint_dir is moved under that directory (the agent
// creates it), and LogsRequest.follow is cleared (a follow stream waits for its task to
// end). Like control_plane_fuzzer.cc the Agent is made for each input and destroyed after
// it, always in the same storage, because the AgentLogs service holds a reference to it.
//
// Beyond "no crash, no leak, no hang": every message the agent sends is well-formed
// (a task status names a job and a state); after StopAll every task has ended.
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>

#include "baton/agent/agent.h"
#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/launch/simulated_launcher.h"
#include "baton/agent/log_service.h"
#include "baton/auth/credentials.h"
#include "fuzz_common.h"

namespace baton::fuzz {
namespace {

enum Op : uint8_t {
  kDirective,    // u16 len, Directive
  kAdvance,      // u16 x 10 ms, then the launcher's due exits
  kLogs,         // u16 len, LogsRequest over AgentLogs.Read
  kRegister,     // BuildRegister
  kHeartbeat,    // BuildHeartbeat
  kTick,         // Agent::Tick
  kConnect,      // u8: connected or not
  kWriteLog,     // u8 task, u16 len, bytes appended to that task's rank-0 log
  kGpuEvent,     // u8 kind, u8 index, u32 xid, u16 len detail
  kHealth,       // u16 len, health-check output
  kStartSimple,  // u8 job, u8 ranks, u8 gpu mask: a well-formed StartTask
  kOps
};

namespace fs = std::filesystem;

agent::Inventory FourGpus() {
  agent::Inventory inv;
  inv.driver_version = "550.54";
  for (int i = 0; i < 4; ++i) {
    agent::DiscoveredGpu g;
    g.index = i;
    g.uuid = "GPU-fuzz-" + std::to_string(i);
    g.name = "NVIDIA H100 80GB HBM3";
    g.memory_mib = 81920;
    g.numa_node = i / 2;
    g.nvlink_domain = 0;
    inv.gpus.push_back(g);
  }
  return inv;
}

agent::HostTopology TwoNumaNodes() {
  agent::HostTopology t;
  t.sockets = 2;
  t.cores = 8;
  t.pus = 8;
  t.numa_nodes = {{0, {0, 1, 2, 3}, 1024}, {1, {4, 5, 6, 7}, 1024}};
  return t;
}

void CheckSent(const v1::AgentMessage& m) {
  if (m.has_task_status()) {
    FUZZ_CHECK(m.task_status().state() != v1::TASK_STATE_UNSPECIFIED);
  }
}

// Where the per-input scratch directories go: tmpfs (/dev/shm) when the machine has it.
// Every input creates and removes a data directory with its task directories; on a
// journaling disk file system (ext4 /tmp) those mkdir/close/rmdir calls took most of the
// run time. $TMPDIR, when set, wins.
fs::path ScratchRoot() {
  std::error_code ec;
  if (std::getenv("TMPDIR") == nullptr && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

// The secret the log service is started with (the control plane's, in an agent).
constexpr std::string_view kLogsToken = "fuzz-logs-secret";

class Harness {
 public:
  static Harness& Get() {
    static Harness* h = new Harness();
    return *h;
  }

  // A fresh agent with an empty data directory.
  void Begin() {
    End();
    std::error_code ec;
    fs::create_directories(dir_ / "data", ec);
    clock_ = std::make_unique<ManualClock>(Time(std::chrono::seconds(1'700'000'000)));
    launcher_ = std::make_unique<agent::SimulatedLauncher>(*clock_);
    agent::AgentOptions o;
    o.node_name = "fuzz-node";
    o.data_dir = dir_ / "data";
    o.host_topology = TwoNumaNodes();
    o.allowed_cpus = {0, 1, 2, 3, 4, 5, 6, 7};
    o.orphan_grace = std::chrono::seconds(30);
    o.sibling_stop_grace = std::chrono::seconds(1);
    agent_ = new (storage_) agent::Agent(o, discovery_, *launcher_, *clock_,
                                         [](const v1::AgentMessage& m) { CheckSent(m); });
    constructed_ = true;
    checkpoints_ = 0;
  }

  // Destroys the agent (what an input allocated is freed before it ends) and its files.
  void End() {
    if (constructed_) {
      agent_->~Agent();
      constructed_ = false;
    }
    launcher_.reset();
    clock_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  agent::Agent& agent() { return *agent_; }
  ManualClock& clock() { return *clock_; }
  agent::SimulatedLauncher& launcher() { return *launcher_; }
  v1::AgentLogs::Stub& logs() { return *logs_; }
  const fs::path& dir() const { return dir_; }
  // A fresh checkpoint directory under the scratch directory.
  std::string CheckpointDir() { return (dir_ / "ckpt" / std::to_string(++checkpoints_)).string(); }

 private:
  Harness() : discovery_(FourGpus()) {
    google::protobuf::SetLogHandler(nullptr);  // as control_plane_harness.cc
    dir_ = ScratchRoot() / ("baton-fuzz-agent-" + std::to_string(::getpid()));
    Begin();
    service_ = std::make_unique<agent::AgentLogsService>(*agent_, std::string(kLogsToken));
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    FUZZ_CHECK(server_ != nullptr);
    logs_ = v1::AgentLogs::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    End();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(Get().dir_, ec);
    });
  }

  fs::path dir_;
  agent::FakeGpuDiscovery discovery_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<agent::SimulatedLauncher> launcher_;
  alignas(agent::Agent) unsigned char storage_[sizeof(agent::Agent)];
  agent::Agent* agent_ = nullptr;
  bool constructed_ = false;
  int checkpoints_ = 0;
  std::unique_ptr<agent::AgentLogsService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::AgentLogs::Stub> logs_;
};

void Step(Harness& h, ByteReader& in) {
  agent::Agent& a = h.agent();
  switch (in.U8() % kOps) {
    case kDirective: {
      std::string_view bytes = in.Bytes16();
      v1::Directive d;
      if (!d.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      if (d.has_start_task() && !d.start_task().checkpoint_dir().empty()) {
        d.mutable_start_task()->set_checkpoint_dir(h.CheckpointDir());
      }
      a.HandleDirective(d);
      return;
    }
    case kAdvance:
      h.clock().Advance(std::chrono::milliseconds(10) * in.U16());
      h.launcher().Poll();
      return;
    case kLogs: {
      std::string_view bytes = in.Bytes16();
      v1::LogsRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
      req.set_follow(false);
      grpc::ClientContext ctx;
      ctx.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(std::string(kLogsToken)));
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      auto reader = h.logs().Read(&ctx, req);
      v1::LogChunk chunk;
      int64_t next = -1;
      while (reader->Read(&chunk)) {
        if (next >= 0) FUZZ_CHECK(chunk.offset() == next);
        next = chunk.offset() + static_cast<int64_t>(chunk.data().size());
      }
      grpc::Status s = reader->Finish();
      FUZZ_CHECK(s.error_code() != grpc::StatusCode::UNKNOWN);
      FUZZ_CHECK(s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED);
      return;
    }
    case kRegister: {
      v1::AgentMessage m = a.BuildRegister();
      FUZZ_CHECK(m.register_().node_name() == "fuzz-node");
      return;
    }
    case kHeartbeat:
      a.BuildHeartbeat();
      return;
    case kTick:
      a.Tick();
      return;
    case kConnect:
      if (in.U8() % 2) {
        a.OnConnected();
      } else {
        a.OnDisconnected();
      }
      return;
    case kWriteLog: {
      const auto tasks = a.Tasks();
      const uint8_t pick = in.U8();
      std::string_view bytes = in.Bytes16();
      if (tasks.empty()) return;
      const v1::TaskStatus& t = tasks[pick % tasks.size()];
      auto loc = a.FindLog(t.job_id(), t.attempt(), t.task_index(), 0);
      if (!loc.ok()) return;
      std::ofstream out(loc->path, std::ios::app | std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      return;
    }
    case kGpuEvent: {
      agent::GpuEventReport r;
      r.kind = static_cast<agent::GpuEventReport::Kind>(in.U8() % 4);
      r.index = static_cast<int8_t>(in.U8());
      r.uuid = "GPU-fuzz-" + std::to_string(r.index);
      r.xid = in.U32();
      r.detail = std::string(in.Bytes16());
      a.OnGpuEvent(r);
      return;
    }
    case kHealth:
      a.SetHealthCheckResult(std::string(in.Bytes16()));
      return;
    case kStartSimple: {
      v1::Directive d;
      v1::StartTask* st = d.mutable_start_task();
      st->set_job_id(std::to_string(1 + in.U8() % 8));
      st->set_attempt(1);
      st->set_task_index(0);
      st->add_command("/bin/true");
      st->set_ranks(1 + in.U8() % 4);
      const uint8_t mask = in.U8();
      for (int g = 0; g < 4; ++g) {
        if (mask & (1 << g)) st->add_gpu_indices(g);
      }
      st->set_simulate_duration_ms(1000);
      st->set_checkpoint_dir(h.CheckpointDir());
      st->set_watch_checkpoints(true);
      (*st->mutable_env())["NODE_RANK"] = "0";
      a.HandleDirective(d);
      return;
    }
    default:
      return;
  }
}

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto& h = baton::fuzz::Harness::Get();
  h.Begin();
  baton::fuzz::ByteReader in(data, size);
  while (!in.empty()) baton::fuzz::Step(h, in);
  // Stopping everything ends every task once the launcher has delivered the exits.
  h.agent().StopAll(baton::Duration(0));
  h.launcher().Poll();
  FUZZ_CHECK(h.agent().running_tasks() == 0);
  h.End();
  return 0;
}
