// Fuzz target: every request handler of batond's gRPC API — Jobs (Submit, Get, List,
// Cancel, Watch, Logs, ReportCheckpoint), Cluster (ListNodes, ListQueues, DrainNode,
// UndrainNode), Events (List, Watch) and Agent.Connect — and the agents' messages, against
// one ControlPlane (fuzz/control_plane_harness.h).
//
// An input is a sequence of operations; each starts with a byte choosing the operation
// (modulo kOps), most continue with a u16-length-prefixed protobuf message that is the
// request, decoded as the server would decode it from the wire (bytes that do not parse
// are skipped, as gRPC would refuse them). Requests go through the in-process channel
// into the real services. Agent messages go straight to ControlPlane::RegisterAgent /
// OnAgentMessage for four "agent slots" (deterministically interleaved with the other
// operations, exactly as AgentService's stream does it), or over a real Agent.Connect
// stream as one operation. A few operations are shortcuts that build well-formed messages
// (a simple node, a simple job, answers to the directives an agent received) so that
// fuzzing reaches scheduling, running, retries and checkpoints quickly. fuzz/make_corpus.py
// writes the seed inputs and documents the encoding for people.
//
// Beyond "no crash, no leak, no hang": no call ends UNKNOWN, INTERNAL or past its
// deadline; a submitted job can be read back; GPUs allocated never exceed the fleet's.
#include <array>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "baton/v1/agent.pb.h"
#include "control_plane_harness.h"
#include "fuzz_common.h"

namespace baton::fuzz {
namespace {

enum Op : uint8_t {
  kSubmit,
  kGet,
  kList,
  kCancel,
  kReportCheckpoint,
  kWatch,
  kLogs,
  kListNodes,
  kListQueues,
  kDrain,
  kUndrain,
  kEventsList,
  kEventsWatch,
  kAgentMessage,       // slot, AgentMessage
  kAgentSimpleRegister,  // slot, gpus
  kAgentDisconnect,    // slot
  kTick,               // u16 x 10 ms
  kAgentStream,        // u8 count, count x (u16 len, AgentMessage) over Agent.Connect
  kRespond,            // slot, how: answer the StartTask/StopTask directives received
  kHttp,               // u16 len, a raw HTTP request to the dashboard API
  kSubmitSimple,       // tasks, gpus
  kHeartbeat,          // slot, GPUs' telemetry
  kOps
};

constexpr int kSlots = 4;

constexpr const char* kOpNames[kOps] = {
    "submit",      "get",          "list",        "cancel",      "report_checkpoint",
    "watch",       "logs",         "list_nodes",  "list_queues", "drain",
    "undrain",     "events_list",  "events_watch", "agent_message", "agent_simple_register",
    "agent_disconnect", "tick",    "agent_stream", "respond",     "http",
    "submit_simple", "heartbeat"};

// BATON_FUZZ_TRACE=1 prints each operation and each call's status (to read a reproducer).
const bool kTrace = std::getenv("BATON_FUZZ_TRACE") != nullptr;

// The outbound side of a directly driven agent: keeps what the control plane sent.
class Sink final : public server::AgentSink {
 public:
  void Send(const v1::Directive& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (sent_.size() < 4096) sent_.push_back(d);
  }
  std::vector<v1::Directive> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(sent_, {});
  }

 private:
  std::mutex mu_;
  std::vector<v1::Directive> sent_;
};

struct Slot {
  int64_t session = 0;
  std::shared_ptr<Sink> sink;
  std::vector<v1::StartTask> running;  // tasks Respond() reported running
};

template <typename Msg>
bool Decode(std::string_view bytes, Msg* m) {
  return m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void CheckStatus(const grpc::Status& s) {
  if (kTrace) std::fprintf(stderr, "  -> %d %s\n", s.error_code(), s.error_message().c_str());
  FUZZ_CHECK(s.error_code() != grpc::StatusCode::UNKNOWN);
  FUZZ_CHECK(s.error_code() != grpc::StatusCode::INTERNAL);
  FUZZ_CHECK(s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED);
  if (!s.ok()) FUZZ_CHECK(!s.error_message().empty());
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return ctx;
}

// Agents must not make the control plane dial out (see kDeadLogEndpoint).
void Defang(v1::AgentMessage* m) {
  if (m->has_register_() && !m->register_().log_endpoint().empty()) {
    m->mutable_register_()->set_log_endpoint(ControlPlaneHarness::kDeadLogEndpoint);
  }
}

using JobsSvc = server::JobsService;
using ClusterSvc = server::ClusterService;
using EventsSvc = server::EventsService;

class Runner {
 public:
  explicit Runner(ControlPlaneHarness& h) : h_(h) {}
  ~Runner() {
    for (auto& hang_up : held_) hang_up();
  }

  void Run(ByteReader& in) {
    while (!in.empty()) Step(in);
    const auto stats = h_.cp().Stats();
    if (kTrace) {
      std::fprintf(stderr, "end: %lld submitted, %lld finished, %lld/%lld GPUs allocated\n",
                   static_cast<long long>(stats.submitted), static_cast<long long>(stats.finished),
                   static_cast<long long>(stats.gpus_allocated),
                   static_cast<long long>(stats.gpus_total));
    }
    FUZZ_CHECK(stats.gpus_allocated <= stats.gpus_total);
  }

 private:
  void Step(ByteReader& in) {
    const uint8_t op = in.U8() % kOps;
    if (kTrace) std::fprintf(stderr, "op %s\n", kOpNames[op]);
    switch (op) {
      case kSubmit: {
        v1::SubmitRequest req;
        if (!Decode(in.Bytes16(), &req)) return;
        Submit(req);
        return;
      }
      case kGet: Unary<v1::GetJobRequest, v1::Job>(in, h_.jobs_service(), &JobsSvc::Get); return;
      case kList:
        Unary<v1::ListJobsRequest, v1::ListJobsResponse>(in, h_.jobs_service(), &JobsSvc::List);
        return;
      case kCancel:
        Unary<v1::CancelJobRequest, v1::Job>(in, h_.jobs_service(), &JobsSvc::Cancel);
        return;
      case kReportCheckpoint:
        Unary<v1::ReportCheckpointRequest, v1::Job>(in, h_.jobs_service(),
                                                    &JobsSvc::ReportCheckpoint);
        return;
      case kWatch: {
        v1::WatchJobsRequest req;
        if (!Decode(in.Bytes16(), &req)) return;
        // The handler subscribes its reactor; events of the next operations queue on it
        // (unbound: gRPC keeps them as a backlog) until the "client" hangs up at the end.
        grpc::CallbackServerContext* ctx = NewContext();
        Hold(h_.jobs_service().Watch(ctx, &req));
        return;
      }
      case kLogs: {
        v1::LogsRequest req;
        if (!Decode(in.Bytes16(), &req)) return;
        req.set_follow(false);  // the agent endpoint is dead anyway; never wait on it
        auto ctx = Context();
        auto reader = h_.jobs().Logs(ctx.get(), req);
        v1::LogChunk chunk;
        while (reader->Read(&chunk)) {
        }
        grpc::Status s = reader->Finish();
        // UNAVAILABLE: the (dead) agent endpoint; anything else comes from the handler.
        CheckStatus(s);
        h_.WaitIdle();
        return;
      }
      case kListNodes:
        Unary<v1::ListNodesRequest, v1::ListNodesResponse>(in, h_.cluster_service(),
                                                           &ClusterSvc::ListNodes);
        return;
      case kListQueues:
        Unary<v1::ListQueuesRequest, v1::ListQueuesResponse>(in, h_.cluster_service(),
                                                             &ClusterSvc::ListQueues);
        return;
      case kDrain:
        Unary<v1::DrainNodeRequest, v1::Node>(in, h_.cluster_service(), &ClusterSvc::DrainNode);
        return;
      case kUndrain:
        Unary<v1::UndrainNodeRequest, v1::Node>(in, h_.cluster_service(),
                                               &ClusterSvc::UndrainNode);
        return;
      case kEventsList:
        Unary<v1::ListEventsRequest, v1::ListEventsResponse>(in, h_.events_service(),
                                                             &EventsSvc::List);
        return;
      case kEventsWatch: {
        v1::WatchEventsRequest req;
        if (!Decode(in.Bytes16(), &req)) return;
        grpc::CallbackServerContext* ctx = NewContext();
        Hold(h_.events_service().Watch(ctx, &req));
        return;
      }
      case kAgentMessage: {
        Slot& slot = slots_[in.U8() % kSlots];
        v1::AgentMessage msg;
        if (!Decode(in.Bytes16(), &msg)) return;
        Defang(&msg);
        Deliver(slot, msg);
        return;
      }
      case kAgentSimpleRegister: {
        const int s = in.U8() % kSlots;
        const int gpus = in.U8() % 9;
        v1::AgentMessage msg;
        v1::Register* reg = msg.mutable_register_();
        reg->set_node_name("node-" + std::to_string(s));
        reg->set_address("10.0.0." + std::to_string(s + 1));
        reg->set_log_endpoint(ControlPlaneHarness::kDeadLogEndpoint);
        for (int i = 0; i < gpus; ++i) {
          v1::AgentGpu* g = reg->mutable_inventory()->add_gpus();
          g->set_index(i);
          g->set_uuid("GPU-" + std::to_string(s) + "-" + std::to_string(i));
          g->set_model(s % 2 ? "A100" : "H100");
          g->set_memory_mib(81920);
        }
        Slot& slot = slots_[s];
        if (slot.session != 0) h_.cp().OnAgentDisconnected(slot.session);
        slot.session = 0;
        Deliver(slot, msg);
        return;
      }
      case kAgentDisconnect: {
        Slot& slot = slots_[in.U8() % kSlots];
        if (slot.session != 0) h_.cp().OnAgentDisconnected(slot.session);
        slot.session = 0;
        return;
      }
      case kTick:
        h_.Tick(std::chrono::milliseconds(10) * in.U16());
        return;
      case kAgentStream:
        Stream(in);
        return;
      case kRespond:
        Respond(slots_[in.U8() % kSlots], in.U8());
        return;
      case kHttp: {
        std::string resp = h_.http().ServeRaw(in.Bytes16());
        if (kTrace) std::fprintf(stderr, "  -> %s\n", resp.substr(0, resp.find('\r')).c_str());
        return;
      }
      case kSubmitSimple: {
        v1::SubmitRequest req;
        v1::JobSpec* spec = req.mutable_spec();
        spec->set_name("simple");
        spec->set_tasks(1 + in.U8() % 4);
        spec->set_gpus_per_task(std::to_string(1 + in.U8() % 8));
        spec->add_command("/bin/true");
        spec->set_max_attempts(2);
        Submit(req);
        return;
      }
      case kHeartbeat: {
        Slot& slot = slots_[in.U8() % kSlots];
        const int gpus = in.U8() % 9;
        v1::AgentMessage msg;
        v1::Heartbeat* hb = msg.mutable_heartbeat();
        hb->set_sequence(++heartbeats_);
        for (int i = 0; i < gpus; ++i) {
          v1::GpuTelemetry* t = hb->add_gpus();
          t->set_index(i);
          t->set_uuid("GPU-" + std::to_string(&slot - slots_.data()) + "-" + std::to_string(i));
          t->set_utilization_percent(in.U8());
          t->set_memory_used_mib(in.U16());
          t->set_temperature_c(in.U8());
        }
        Deliver(slot, msg);
        return;
      }
      default:
        return;
    }
  }

  template <typename Req, typename Resp, typename Service, typename Method>
  void Unary(ByteReader& in, Service& service, Method method) {
    Req req;
    if (!Decode(in.Bytes16(), &req)) return;
    Resp resp;
    CheckStatus(CallUnary(service, method, req, &resp));
  }

  // A server-streaming reactor created by calling its handler directly, as if a client
  // were watching; it gets OnCancel and OnDone when the input ends (~Runner).
  template <typename Reactor>
  void Hold(Reactor* r) {
    held_.push_back([r] {
      r->OnCancel();
      r->OnDone();  // unsubscribes and deletes it
    });
  }
  grpc::CallbackServerContext* NewContext() {
    contexts_.push_back(std::make_unique<grpc::CallbackServerContext>());
    return contexts_.back().get();
  }

  void Submit(const v1::SubmitRequest& req) {
    v1::SubmitResponse resp;
    grpc::Status s = CallUnary(h_.jobs_service(), &JobsSvc::Submit, req, &resp);
    CheckStatus(s);
    if (!s.ok()) return;
    v1::GetJobRequest get;
    get.set_id(resp.job().id());
    v1::Job job;
    FUZZ_CHECK(CallUnary(h_.jobs_service(), &JobsSvc::Get, get, &job).ok());
  }

  // As AgentService's stream: the first message must register; an error ends the stream
  // (and the control plane hears of the disconnect).
  void Deliver(Slot& slot, const v1::AgentMessage& msg) {
    if (slot.session == 0) {
      if (!msg.has_register_()) return;  // the stream would be refused
      slot.sink = std::make_shared<Sink>();
      slot.running.clear();
      auto session = h_.cp().RegisterAgent(msg.register_(), slot.sink);
      if (kTrace) std::fprintf(stderr, "  register -> %s\n", session.status().ToString().c_str());
      if (session.ok()) slot.session = *session;
      return;
    }
    Status s = h_.cp().OnAgentMessage(slot.session, msg);
    if (kTrace && !s.ok()) std::fprintf(stderr, "  agent -> %s\n", s.ToString().c_str());
    if (!s.ok()) {
      h_.cp().OnAgentDisconnected(slot.session);
      slot.session = 0;
    }
  }

  // Plays a well-behaved agent for what the slot was told. New StartTasks become tasks
  // that per `how` % 4 are: 0 running; 1 failed to start; 2 running, then every running
  // task exits 0; 3 running, then the oldest running task exits with code `how`. A
  // StopTask is answered STOPPED.
  void Respond(Slot& slot, uint8_t how) {
    if (slot.session == 0 || !slot.sink) return;
    auto status = [](const std::string& job, int32_t attempt, int32_t task, v1::TaskState st,
                     int32_t code) {
      v1::AgentMessage m;
      v1::TaskStatus* ts = m.mutable_task_status();
      ts->set_job_id(job);
      ts->set_attempt(attempt);
      ts->set_task_index(task);
      ts->set_state(st);
      ts->set_exit_code(code);
      return m;
    };
    std::vector<v1::AgentMessage> out;
    for (const v1::Directive& d : slot.sink->Take()) {
      if (d.has_start_task()) {
        const v1::StartTask& st = d.start_task();
        if (how % 4 == 1) {
          out.push_back(status(st.job_id(), st.attempt(), st.task_index(),
                               v1::TASK_STATE_FAILED_TO_START, 127));
        } else {
          out.push_back(status(st.job_id(), st.attempt(), st.task_index(),
                               v1::TASK_STATE_RUNNING, 0));
          slot.running.push_back(st);
        }
      } else if (d.has_stop_task()) {
        const v1::StopTask& sp = d.stop_task();
        out.push_back(status(sp.job_id(), sp.attempt(), sp.task_index(),
                             v1::TASK_STATE_STOPPED, 143));
        std::erase_if(slot.running, [&](const v1::StartTask& t) {
          return t.job_id() == sp.job_id() && t.attempt() == sp.attempt() &&
                 t.task_index() == sp.task_index();
        });
      }
    }
    if (how % 4 == 2) {
      for (const auto& t : slot.running) {
        out.push_back(status(t.job_id(), t.attempt(), t.task_index(), v1::TASK_STATE_EXITED, 0));
      }
      slot.running.clear();
    } else if (how % 4 == 3 && !slot.running.empty()) {
      const auto& t = slot.running.front();
      out.push_back(status(t.job_id(), t.attempt(), t.task_index(), v1::TASK_STATE_EXITED, how));
      slot.running.erase(slot.running.begin());
    }
    for (const auto& m : out) {
      Deliver(slot, m);
      if (slot.session == 0) return;
    }
  }

  // One whole Agent.Connect stream: its messages, then hang up.
  void Stream(ByteReader& in) {
    const int count = in.U8() % 16;
    std::vector<v1::AgentMessage> msgs;
    for (int i = 0; i < count; ++i) {
      v1::AgentMessage m;
      if (!Decode(in.Bytes16(), &m)) continue;
      Defang(&m);
      msgs.push_back(std::move(m));
    }
    auto ctx = Context();
    auto stream = h_.agent().Connect(ctx.get());
    // Reads while it writes, as an agent does: the in-process transport hands a message
    // over only when the other side reads, so a client that wrote everything before reading
    // would wait forever on a server that stopped reading with a directive in flight.
    std::thread reader([&stream] {
      v1::Directive d;
      while (stream->Read(&d)) {
      }
    });
    for (const auto& m : msgs) {
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    reader.join();
    CheckStatus(stream->Finish());
    h_.WaitIdle();
  }

  ControlPlaneHarness& h_;
  std::array<Slot, kSlots> slots_;
  std::vector<std::function<void()>> held_;  // hang up the watches
  std::vector<std::unique_ptr<grpc::CallbackServerContext>> contexts_;
  int64_t heartbeats_ = 0;
};

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (baton::fuzz::QuietLogs(), true);
  (void)quiet;
  auto& h = baton::fuzz::ControlPlaneHarness::Get();
  h.Begin();
  baton::fuzz::ByteReader in(data, size);
  baton::fuzz::Runner(h).Run(in);
  h.End();
  return 0;
}
