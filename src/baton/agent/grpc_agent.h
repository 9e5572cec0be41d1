// The agent's gRPC transport: AgentConnection keeps one Agent connected to the control
// plane over the Agent.Connect stream; RunAgentProcess is a whole `baton-agent` (one real
// agent, or N simulated ones) as a library call, so `baton up` can run one in-process.
//
// Protocol (agent.proto): open Connect, send Register first, wait for
// Directive.registered (which sets the heartbeat interval), then heartbeat at that
// interval, forward task status as it happens and execute directives. When the stream
// fails, tasks keep running; the connection retries with capped exponential backoff
// (with jitter) and re-registers with its current tasks.
//
// Rotate(channel) moves to a new channel (a renewed TLS certificate) make-before-break:
// a new stream registers on it (the control plane replaces the session) and the old one is
// half-closed, so the node never looks disconnected and its tasks are untouched.
//
// Built on gRPC's callback API (ClientBidiReactor): an open stream costs no thread, so
// `--simulate 1000` runs 1000 streams, and one TimerThread drives all their heartbeats,
// reconnects and simulated task exits.
//
// Thread-safety: AgentConnection's methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "baton/agent/agent.h"
#include "baton/agent/launch/timer_thread.h"
#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/v1/agent.grpc.pb.h"

namespace baton::agent {

struct ConnectionOptions {
  Duration initial_backoff = std::chrono::milliseconds(250);
  Duration max_backoff = Seconds(30);
  // How often Agent::Tick runs (orphan grace check).
  Duration tick_interval = Seconds(1);
  // Heartbeat interval until the control plane says otherwise.
  Duration default_heartbeat = Seconds(5);
  // The agent's API token, sent with each stream ("authorization: Bearer"); "" = none.
  std::string token;
};

// Create with AgentConnection::Create, give the agent a send function that calls Send,
// then Start(agent). Call Shutdown before destroying the agent or the connection.
class AgentConnection : public std::enable_shared_from_this<AgentConnection> {
 public:
  static std::shared_ptr<AgentConnection> Create(std::shared_ptr<grpc::Channel> channel,
                                                 TimerThread& timers,
                                                 ConnectionOptions options = {});
  ~AgentConnection();

  // Starts connecting for `agent` (which must outlive Shutdown()).
  void Start(Agent* agent);
  // Sends a message on the current stream; dropped when there is none (Register on the
  // next stream reports the tasks' state then).
  void Send(const v1::AgentMessage& message);
  // Stops reconnecting and half-closes the stream once what is queued has been written
  // (so final task statuses reach the control plane). Returns at once.
  void BeginShutdown();
  // BeginShutdown, then waits for the control plane to end the stream until
  // `flush_deadline`, cancels it after that, and returns once it is finished.
  void Shutdown(std::chrono::steady_clock::time_point flush_deadline);
  void Shutdown() { Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2)); }
  // Dials `channel` from now on: opens a new stream on it and half-closes the current
  // one once the new one is open (see above). The old channel is kept until Shutdown.
  void Rotate(std::shared_ptr<grpc::Channel> channel);
  // True between Registered and the end of that stream.
  bool registered() const;
  // Streams that reached Registered so far.
  int registrations() const;

 private:
  class Stream;
  AgentConnection(std::shared_ptr<grpc::Channel> channel, TimerThread& timers,
                  ConnectionOptions options);
  void Connect();
  void OnDirective(Stream* stream, const v1::Directive& directive);
  // `stream` is finished: deleted here, under mu_ (so Shutdown never cancels a deleted
  // stream), then a retired one is forgotten and the live one reconnects.
  void OnStreamDone(Stream* stream, const grpc::Status& status);
  void ScheduleHeartbeat(uint64_t generation);
  void ScheduleTick();

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  TimerThread& timers_;
  ConnectionOptions options_;
  Agent* agent_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;
  Stream* stream_ = nullptr;  // the live stream, if any
  // Streams replaced by Rotate, half-closed, not yet finished (generation -> stream).
  std::map<uint64_t, Stream*> retired_;
  std::vector<std::shared_ptr<grpc::Channel>> retired_channels_;
  uint64_t generation_ = 0;   // counts streams; stale timers compare against it
  bool registered_ = false;
  int registrations_ = 0;
  bool shutting_down_ = false;
  bool outage_logged_ = false;
  bool refused_logged_ = false;
  Duration heartbeat_;
  Duration backoff_;
  std::minstd_rand rng_;
  TimerThread::TimerId heartbeat_timer_ = 0;
  TimerThread::TimerId reconnect_timer_ = 0;
  TimerThread::TimerId tick_timer_ = 0;
};

// Everything `baton-agent` takes on its command line.
struct AgentProcessOptions {
  std::string server;               // control plane address, host:port
  std::string token;                // the agent's API token (role agent; --token-file)
  std::string name;                 // node name (simulated: "<name>-<i>")
  std::string fake_gpus;            // "8xH100"; empty = NVML (real) / "8xH100" (simulated)
  int simulate = 0;                 // > 0: run this many simulated agents
  // Simulated agents' streams per connection (plaintext; with TLS each has its own, since
  // a connection carries one certificate). 1 = one connection per agent, as real ones.
  int streams_per_connection = 100;
  std::string data_dir;             // empty = /tmp/baton-agent-<name>
  std::string address = "127.0.0.1";
  std::string rack;
  std::string log_listen = "0.0.0.0:0";
  // TLS (docs/tls.md): with a CA file the agent speaks TLS to batond with a node
  // certificate kept in <data-dir>/pki (joining with the bootstrap token when it has no
  // valid one) and renewed at 2/3 of its life; its log server shows that certificate.
  std::string ca_file;
  std::string bootstrap_token;
  Duration orphan_grace = Seconds(600);
  Duration shutdown_grace = Seconds(10);  // for tasks still running at shutdown
  // NVML library to dlopen (soname or path); empty = libnvidia-ml.so.1.
  std::string nvml_lib;
  // Node health check (HealthMonitor): `/bin/sh -c` command, run every interval.
  std::string health_check;
  Duration health_check_interval = Seconds(60);
  // Who tasks run as (launch/task_user.h): --task-user, --map-users, --allow-root-tasks.
  TaskUserPolicy task_user;
  ConnectionOptions connection;
};

// Runs agent(s) until `stop` is requested; then stops the tasks (SIGTERM, grace, SIGKILL),
// reports them, disconnects and returns. Errors: bad options (no token), a fake GPU spec
// that does not parse, a log address that cannot be bound. A control plane that refuses
// the token is logged as an error and retried with the usual backoff.
Status RunAgentProcess(const AgentProcessOptions& options, std::stop_token stop);

}  // namespace baton::agent
