#include "baton/agent/grpc_agent.h"

#include "baton/agent/health_monitor.h"
#include "baton/agent/launch/leftovers.h"

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "baton/agent/gpu/fake_gpu_discovery.h"
#include "baton/agent/gpu/nvml_gpu_discovery.h"
#include "baton/agent/launch/process_launcher.h"
#include "baton/agent/launch/simulated_launcher.h"
#include "baton/agent/log_service.h"
#include "baton/auth/credentials.h"
#include "baton/auth/secret.h"
#include "baton/common/limits.h"
#include "baton/agent/node_credentials.h"
#include "baton/common/server_target.h"
#include "baton/security/files.h"

namespace baton::agent {

// One Connect call. Owned by gRPC from StartCall until OnDone, where it hands itself to
// its AgentConnection to delete (which Shutdown keeps alive until then). It holds no
// reference to the connection or the channel: dropping the last reference to a channel
// on a gRPC callback thread makes gRPC shut its callback queue down from inside itself
// (grpc/grpc#32584), which crashes.
class AgentConnection::Stream final
    : public grpc::ClientBidiReactor<v1::AgentMessage, v1::Directive> {
 public:
  Stream(AgentConnection* owner, uint64_t generation) : owner_(owner), generation_(generation) {}

  uint64_t generation() const { return generation_; }

  void Begin(const v1::AgentMessage& register_message) {
    // On the stream's own context rather than a channel interceptor: an interceptor would
    // run for every message of this long-lived stream.
    if (!owner_->options_.token.empty()) {
      context_.AddMetadata(auth::kAuthorizationHeader, auth::BearerValue(owner_->options_.token));
    }
    owner_->stub_->async()->Connect(&context_, this);
    Enqueue(register_message);
    StartRead(&in_);
    StartCall();
  }

  // Queues a write; one write is in flight at a time (a gRPC rule).
  void Enqueue(const v1::AgentMessage& message) {
    std::lock_guard lock(mu_);
    if (broken_ || closing_) return;
    out_.push_back(message);  // deque: references to queued elements stay valid
    if (!writing_) {
      writing_ = true;
      StartWrite(&out_.front());
    }
  }

  void Cancel() { context_.TryCancel(); }

  // Half-closes once the queued writes are done.
  void Close() {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
    if (!writing_ && !broken_) StartWritesDone();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    out_.pop_front();
    if (!ok) {
      broken_ = true;  // the stream is failing; OnDone follows
      out_.clear();
      writing_ = false;
      return;
    }
    if (out_.empty()) {
      writing_ = false;
      if (closing_) StartWritesDone();
    } else {
      StartWrite(&out_.front());
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the server ended the stream; OnDone follows
    owner_->OnDirective(this, in_);
    StartRead(&in_);
  }

  // The connection deletes this stream (under its lock) and may be gone right after.
  void OnDone(const grpc::Status& status) override { owner_->OnStreamDone(this, status); }

 private:
  AgentConnection* const owner_;
  const uint64_t generation_;
  grpc::ClientContext context_;
  v1::Directive in_;
  std::mutex mu_;
  std::deque<v1::AgentMessage> out_;
  bool writing_ = false;
  bool broken_ = false;
  bool closing_ = false;  // WritesDone once out_ drains
};

std::shared_ptr<AgentConnection> AgentConnection::Create(std::shared_ptr<grpc::Channel> channel,
                                                         TimerThread& timers,
                                                         ConnectionOptions options) {
  return std::shared_ptr<AgentConnection>(
      new AgentConnection(std::move(channel), timers, options));
}

AgentConnection::AgentConnection(std::shared_ptr<grpc::Channel> channel, TimerThread& timers,
                                 ConnectionOptions options)
    : channel_(std::move(channel)),
      stub_(v1::Agent::NewStub(channel_)),
      timers_(timers),
      options_(options),
      heartbeat_(options.default_heartbeat),
      backoff_(options.initial_backoff) {}

// A safety net: normally Shutdown ran already and this returns at once.
AgentConnection::~AgentConnection() { Shutdown(); }

void AgentConnection::Start(Agent* agent) {
  {
    std::lock_guard lock(mu_);
    agent_ = agent;
    rng_.seed(static_cast<uint32_t>(std::hash<std::string>()(agent->options().node_name)));
  }
  Connect();
  ScheduleTick();
}

bool AgentConnection::registered() const {
  std::lock_guard lock(mu_);
  return registered_;
}

int AgentConnection::registrations() const {
  std::lock_guard lock(mu_);
  return registrations_;
}

void AgentConnection::Connect() {
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
  }
  // Built before taking mu_ again (BuildRegister may take a while with many tasks).
  v1::AgentMessage reg = agent_->BuildRegister();
  std::lock_guard lock(mu_);
  if (shutting_down_ || stream_ != nullptr) return;
  auto* stream = new Stream(this, ++generation_);
  stream_ = stream;
  stream->Begin(reg);
}

void AgentConnection::Rotate(std::shared_ptr<grpc::Channel> channel) {
  // Built before taking mu_ (as in Connect).
  v1::AgentMessage reg = agent_->BuildRegister();
  // Channels of earlier rotations whose streams have all finished, let go outside mu_
  // (and on this thread, never a gRPC callback thread: see Stream).
  std::vector<std::shared_ptr<grpc::Channel>> unused;
  std::lock_guard lock(mu_);
  if (retired_.empty()) unused.swap(retired_channels_);
  retired_channels_.push_back(std::move(channel_));
  channel_ = std::move(channel);
  stub_ = v1::Agent::NewStub(channel_);
  // Without a live stream the pending reconnect dials the new channel.
  if (shutting_down_ || stream_ == nullptr) return;
  // The old stream is half-closed once the new one is registered (OnDirective): the
  // control plane has replaced the old session by then, so the node never looks gone.
  retired_.emplace(stream_->generation(), stream_);
  timers_.Cancel(heartbeat_timer_);
  registered_ = false;
  stream_ = new Stream(this, ++generation_);
  stream_->Begin(reg);
}

void AgentConnection::Send(const v1::AgentMessage& message) {
  std::lock_guard lock(mu_);
  if (stream_ != nullptr && !shutting_down_) stream_->Enqueue(message);
}

void AgentConnection::OnDirective(Stream* stream, const v1::Directive& directive) {
  if (directive.has_registered()) {
    bool first;
    {
      std::lock_guard lock(mu_);
      if (stream != stream_ || shutting_down_) return;
      first = registrations_ == 0 || outage_logged_;
      registered_ = true;
      for (auto& [generation, retired] : retired_) retired->Close();  // Rotate's old streams
      ++registrations_;
      outage_logged_ = false;
      refused_logged_ = false;
      backoff_ = options_.initial_backoff;
      int64_t ms = directive.registered().heartbeat_interval_ms();
      // 10 ms .. 1 h: a huge value would also overflow the conversion to microseconds.
      heartbeat_ = ms > 0 ? Duration(std::chrono::milliseconds(std::clamp<int64_t>(ms, 10, 3600000)))
                          : options_.default_heartbeat;
    }
    agent_->OnConnected();
    if (first) {
      spdlog::debug("agent {}: registered (heartbeat every {} ms)", agent_->options().node_name,
                    std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat_).count());
    }
    ScheduleHeartbeat(stream->generation());
    return;
  }
  agent_->HandleDirective(directive);
}

void AgentConnection::ScheduleHeartbeat(uint64_t generation) {
  std::lock_guard lock(mu_);
  if (shutting_down_ || generation != generation_) return;
  std::weak_ptr<AgentConnection> weak = weak_from_this();
  heartbeat_timer_ = timers_.ScheduleAfter(heartbeat_, [weak, generation] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      if (self->shutting_down_ || self->generation_ != generation || !self->registered_) return;
    }
    self->Send(self->agent_->BuildHeartbeat());
    self->ScheduleHeartbeat(generation);
  });
}

void AgentConnection::ScheduleTick() {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  std::weak_ptr<AgentConnection> weak = weak_from_this();
  tick_timer_ = timers_.ScheduleAfter(options_.tick_interval, [weak] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      if (self->shutting_down_) return;
    }
    self->agent_->Tick();
    self->ScheduleTick();
  });
}

void AgentConnection::OnStreamDone(Stream* stream, const grpc::Status& status) {
  bool was_registered;
  {
    std::lock_guard lock(mu_);
    const uint64_t generation = stream->generation();
    delete stream;
    if (retired_.erase(generation) > 0) {
      done_cv_.notify_all();
      return;
    }
    if (stream_ == nullptr || generation != generation_) return;
    stream_ = nullptr;
    was_registered = registered_;
    registered_ = false;
    timers_.Cancel(heartbeat_timer_);
    if (shutting_down_) {
      done_cv_.notify_all();
      return;
    }
    // Next attempt after the backoff, +-20% jitter so N agents do not reconnect in step.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto delay = std::chrono::duration_cast<Duration>(backoff_ * jitter(rng_));
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      // Not an outage: retrying will not help until the operator fixes the token, but the
      // control plane may be restored from a backup that knows it; keep trying, loudly.
      if (!refused_logged_) {
        refused_logged_ = true;
        spdlog::error("agent {}: the control plane refused this agent's credentials: {} "
                      "(check --token-file); retrying",
                      agent_->options().node_name, status.error_message());
      }
    } else if (!outage_logged_) {
      outage_logged_ = true;
      // Simulated agents come in hundreds: one line each would drown the log.
      spdlog::log(agent_->options().simulated ? spdlog::level::debug : spdlog::level::warn,
                  "agent {}: control plane stream ended ({}: {}); reconnecting, tasks keep "
                  "running",
                  agent_->options().node_name, static_cast<int>(status.error_code()),
                  status.error_message());
    }
    std::weak_ptr<AgentConnection> weak = weak_from_this();
    reconnect_timer_ = timers_.ScheduleAfter(delay, [weak] {
      if (auto self = weak.lock()) self->Connect();
    });
    // Under mu_: once it is released, Shutdown may return and the agent go away.
    if (was_registered) agent_->OnDisconnected();
  }
}

void AgentConnection::BeginShutdown() {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;  // once: the TimerThread may be gone by a second call
  shutting_down_ = true;
  timers_.Cancel(heartbeat_timer_);
  timers_.Cancel(reconnect_timer_);
  timers_.Cancel(tick_timer_);
  if (stream_ != nullptr) stream_->Close();
  for (auto& [generation, retired] : retired_) retired->Close();
}

void AgentConnection::Shutdown(std::chrono::steady_clock::time_point flush_deadline) {
  BeginShutdown();
  std::unique_lock lock(mu_);
  auto finished = [&] { return stream_ == nullptr && retired_.empty(); };
  if (!done_cv_.wait_until(lock, flush_deadline, finished)) {
    if (stream_ != nullptr) stream_->Cancel();
    for (auto& [generation, stream] : retired_) stream->Cancel();
    done_cv_.wait(lock, finished);
  }
}

namespace {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server,
                                          const security::ClientTlsOptions& tls = {}) {
  grpc::ChannelArguments args;
  // Each channel gets its own connection, so many simulated agents spread over several.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // Directives larger than this are refused (RESOURCE_EXHAUSTED ends the stream).
  args.SetMaxReceiveMessageSize(limits::kMaxGrpcMessageBytes);
  if (server.starts_with("ipv4:")) {
    // HA replicas (ServerTarget): an outage is a failover of about the election TTL, so
    // probe for the new leader often rather than back off for seconds.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  }
  return security::MakeClientChannel(server, tls, args);
}

// The agent's TLS identity (NodeCredentials) when --ca-file is given; nullptr otherwise.
// While batond cannot be reached it keeps trying (like the connection does) until `stop`.
Result<std::unique_ptr<NodeCredentials>> ObtainCredentials(const AgentProcessOptions& o,
                                                           const std::string& node,
                                                           const std::string& dir,
                                                           const Clock& clock,
                                                           std::stop_token stop) {
  if (o.ca_file.empty()) {
    if (!o.bootstrap_token.empty()) {
      return InvalidArgument("--ca-file: required with --bootstrap-token (TLS)");
    }
    return std::unique_ptr<NodeCredentials>();
  }
  auto ca = security::ReadFile(o.ca_file);
  if (!ca.ok()) return ca.status().WithPrefix("--ca-file");
  NodeCredentialsOptions no;
  no.server = o.server;
  no.node = node;
  no.ca_pem = *ca;
  no.bootstrap_token = o.bootstrap_token;
  no.dir = dir;
  for (;;) {
    auto creds = NodeCredentials::Obtain(no, clock);
    if (creds.ok() || creds.status().code() != StatusCode::kUnavailable ||
        stop.stop_requested()) {
      return creds;
    }
    spdlog::warn("agent {}: {}; trying again", node, creds.status().message());
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::chrono::seconds(2), [] { return false; });
    if (stop.stop_requested()) return creds;
  }
}

// Blocks until `stop` is requested.
void WaitForStop(std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait(lock, stop, [] { return false; });
}

Status RunSimulated(const AgentProcessOptions& o, std::stop_token stop) {
  std::string spec = o.fake_gpus.empty() ? "8xH100" : o.fake_gpus;
  auto probe = FakeGpuDiscovery::FromSpec(spec);
  if (!probe.ok()) return probe.status().WithPrefix("--fake-gpus");
  SystemClock clock;
  std::vector<std::unique_ptr<FakeGpuDiscovery>> gpus;
  std::vector<std::unique_ptr<Agent>> agents;
  std::vector<std::shared_ptr<AgentConnection>> conns;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  // TLS: each simulated node joins for a certificate of its own (kept in memory), and so
  // needs a connection of its own.
  std::vector<std::unique_ptr<NodeCredentials>> creds;
  CertRenewer renewer(clock);
  {
    auto timers_owner = std::make_unique<TimerThread>();
    TimerThread& timers = *timers_owner;
    SimulatedLauncher launcher(clock, &timers);
    for (int i = 0; i < o.simulate; ++i) {
      const std::string node = fmt::format("{}-{}", o.name, i);
      auto cred = ObtainCredentials(o, node, "", clock, stop);
      if (!cred.ok()) {
        for (auto& c : conns) c->Shutdown();
        timers_owner.reset();  // no timer reaches the launcher or the agents after this
        return cred.status();
      }
      if (*cred) {
        channels.push_back(MakeChannel(o.server, (*cred)->tls()));
      } else if (i % std::max(1, o.streams_per_connection) == 0) {
        channels.push_back(MakeChannel(o.server));
      }
      auto conn = AgentConnection::Create(channels.back(), timers, o.connection);
      if (*cred) {
        std::weak_ptr<AgentConnection> weak = conn;
        renewer.Add(cred->get(), [weak, server = o.server](NodeCredentials& c) {
          if (auto self = weak.lock()) self->Rotate(MakeChannel(server, c.tls()));
        });
        creds.push_back(std::move(*cred));
      }
      AgentOptions ao;
      ao.node_name = node;
      ao.address = o.address;
      ao.rack = o.rack;
      ao.orphan_grace = o.orphan_grace;
      ao.simulated = true;
      gpus.push_back(std::make_unique<FakeGpuDiscovery>(*probe));
      agents.push_back(std::make_unique<Agent>(
          ao, *gpus.back(), launcher, clock,
          [conn](const v1::AgentMessage& m) { conn->Send(m); }));
      conn->Start(agents.back().get());
      conns.push_back(conn);
    }
    spdlog::info("baton-agent: {} simulated agents ({}-0 .. {}-{}, {} each) connecting to {}{}",
                 o.simulate, o.name, o.name, o.simulate - 1, spec, o.server,
                 creds.empty() ? "" : " over mutual TLS");
    renewer.Start();
    WaitForStop(stop);
    renewer.Stop();
    spdlog::info("baton-agent: stopping {} simulated agents", o.simulate);
    for (auto& a : agents) a->StopAll(Duration(0));
    auto deadline = std::chrono::steady_clock::now() + Seconds(2);
    for (auto& a : agents) a->WaitForNoTasks(deadline);
    for (auto& c : conns) c->BeginShutdown();
    auto flush_deadline = std::chrono::steady_clock::now() + Seconds(2);
    for (auto& c : conns) c->Shutdown(flush_deadline);
    // The timer thread goes first: no callback reaches the launcher or the agents after.
    timers_owner.reset();
  }
  return Status::Ok();
}

Status RunReal(const AgentProcessOptions& o, std::stop_token stop) {
  std::unique_ptr<GpuDiscovery> discovery;
  if (!o.fake_gpus.empty()) {
    auto fake = FakeGpuDiscovery::FromSpec(o.fake_gpus);
    if (!fake.ok()) return fake.status().WithPrefix("--fake-gpus");
    discovery = std::make_unique<FakeGpuDiscovery>(std::move(fake).value());
  } else {
    discovery = std::make_unique<NvmlGpuDiscovery>(o.nvml_lib.empty() ? "libnvidia-ml.so.1"
                                                                      : o.nvml_lib);
  }
  // Monotonic: a wall-clock step must not stop the tasks of a disconnected agent early.
  MonotonicClock clock;
  AgentOptions ao;
  ao.node_name = o.name;
  ao.address = o.address;
  ao.rack = o.rack;
  ao.orphan_grace = o.orphan_grace;
  ao.data_dir = o.data_dir.empty() ? "/tmp/baton-agent-" + o.name : o.data_dir;
  ao.task_user = o.task_user;
  BATON_RETURN_IF_ERROR(CheckTaskUserPolicy(o.task_user));
  // Tasks a killed predecessor left running would hold GPUs the control plane is about
  // to hand out again: kill them before registering (launch/leftovers.h).
  auto leftovers = KillLeftoverTasks(AgentMarker(ao.node_name, ao.data_dir), Seconds(10));
  if (!leftovers.ok()) return leftovers.status().WithPrefix("leftover tasks");
  // Certificates follow the wall clock (the CA's and batond's), not the monotonic one.
  SystemClock wall;
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<NodeCredentials> creds,
                         ObtainCredentials(o, o.name, (ao.data_dir / "pki").string(), wall, stop));
  auto channel = MakeChannel(o.server, creds ? creds->tls() : security::ClientTlsOptions{});
  auto timers = std::make_unique<TimerThread>();
  auto conn = AgentConnection::Create(channel, *timers, o.connection);
  CertRenewer renewer(wall);
  if (creds) {
    std::weak_ptr<AgentConnection> weak = conn;
    renewer.Add(creds.get(), [weak, server = o.server](NodeCredentials& c) {
      if (auto self = weak.lock()) self->Rotate(MakeChannel(server, c.tls()));
    });
  }
  auto launcher = std::make_unique<ProcessLauncher>();
  auto agent = std::make_unique<Agent>(ao, *discovery, *launcher, clock,
                                       [conn](const v1::AgentMessage& m) { conn->Send(m); });
  std::unique_ptr<LogServer> logs;
  if (!o.log_listen.empty()) {
    // A fresh secret per run: only the control plane this agent registers with may read.
    auto secret = auth::RandomHex(32);
    if (!secret.ok()) return secret.status();
    auto started = LogServer::Start(o.log_listen, *agent, *secret,
                                    creds ? creds->LogServerCredentials() : nullptr);
    if (!started.ok()) return started.status().WithPrefix("--log-listen");
    logs = std::move(started).value();
    agent->set_log_endpoint(fmt::format("{}:{}", o.address, logs->port()), *secret);
  }
  spdlog::info("baton-agent {}: data in {}, logs served on port {}, control plane {}", o.name,
               ao.data_dir.string(), logs ? logs->port() : 0, o.server);
  spdlog::info("baton-agent {}: tasks run as {}{}{}", o.name,
               ::geteuid() != 0 ? "the agent's own user (not root: cannot switch users)"
                                : (o.task_user.service_user.empty() ? std::string("nobody")
                                                                    : o.task_user.service_user),
               o.task_user.map_users ? ", or their submitter's local account" : "",
               o.task_user.allow_root ? "; root allowed" : "");
  HealthMonitorOptions hm;
  hm.check_command = o.health_check;
  hm.check_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      o.health_check_interval);
  conn->Start(agent.get());
  renewer.Start();
  auto health = std::make_unique<HealthMonitor>(*agent, *discovery, hm);
  WaitForStop(stop);
  health.reset();  // no event reaches the agent after this
  renewer.Stop();  // no rotation after this

  spdlog::info("baton-agent {}: stopping ({} task(s) running)", o.name, agent->running_tasks());
  agent->StopAll(o.shutdown_grace);
  agent->WaitForNoTasks(std::chrono::steady_clock::now() + o.shutdown_grace + Seconds(2));
  conn->Shutdown();
  timers.reset();  // no heartbeat or tick reaches the agent after this
  if (logs) logs->Shutdown();
  launcher.reset();  // joins the reaper: no exit callback reaches the agent after this
  return Status::Ok();
}

}  // namespace

Status RunAgentProcess(const AgentProcessOptions& given, std::stop_token stop) {
  if (given.server.empty()) return InvalidArgument("--server: required");
  // Several addresses (HA replicas): the channel connects to the one that listens, the
  // leader, and looks again when it goes.
  AgentProcessOptions options = given;
  BATON_ASSIGN_OR_RETURN(options.server, ServerTarget(given.server, "--server"));
  if (options.server != given.server) {
    options.connection.max_backoff = std::min(options.connection.max_backoff, Seconds(1));
  }
  if (options.connection.token.empty()) options.connection.token = options.token;
  if (options.name.empty()) return InvalidArgument("--name: must not be empty");
  if (options.token.empty()) {
    return InvalidArgument(
        "--token-file: required (the agent token batond wrote on its first start, e.g. "
        "<batond data dir>/agent.token)");
  }
  if (options.simulate < 0) return InvalidArgument("--simulate: must be >= 0");
  if (options.simulate > 0) return RunSimulated(options, stop);
  return RunReal(options, stop);
}

}  // namespace baton::agent
