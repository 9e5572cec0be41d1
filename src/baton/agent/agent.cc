#include "baton/agent/agent.h"

#include "baton/agent/launch/leftovers.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <set>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "baton/agent/gpu/simulated_telemetry.h"
#include "baton/agent/gpu/xid.h"
#include "baton/agent/start_task_check.h"
#include "baton/agent/task_env.h"
#include "baton/common/limits.h"
#include "baton/common/quantity.h"

namespace baton::agent {
namespace {

// Ended tasks remembered (for duplicate StartTasks and Register) beyond those that ended
// since the last Register. Simulated agents run many short tasks and keep fewer.
constexpr size_t kMaxEndedTasks = 1024;
constexpr size_t kMaxEndedTasksSimulated = 64;

// A job id becomes a directory name: refuse anything that could escape data_dir.
bool SafePathPart(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

std::string DescribeGpus(const Inventory& inv) {
  if (inv.gpus.empty()) return "it has no GPUs";
  std::vector<std::string> idx;
  for (const auto& g : inv.gpus) idx.push_back(std::to_string(g.index));
  return fmt::format("it has GPUs {}", fmt::join(idx, ","));
}

// Text the agent reports is cut to what the control plane accepts (limits::kMaxAgentText).
std::string Bounded(std::string text) {
  if (text.size() > limits::kMaxAgentText) {
    text.resize(limits::kMaxAgentText - 3);
    text += "...";
  }
  return text;
}

v1::TaskStatus KeyStatus(const std::string& job_id, int attempt, int task_index) {
  v1::TaskStatus s;
  s.set_job_id(job_id);
  s.set_attempt(attempt);
  s.set_task_index(task_index);
  return s;
}

}  // namespace

Agent::Agent(AgentOptions options, GpuDiscovery& discovery, Launcher& launcher,
             const Clock& clock, SendFn send)
    : options_(std::move(options)),
      instance_id_(fmt::format("{:016x}", std::random_device{}() * uint64_t{0x100000000} ^
                                              std::random_device{}())),
      discovery_(discovery),
      launcher_(launcher),
      clock_(clock),
      send_(std::move(send)) {
  auto inv = discovery_.Discover();
  if (inv.ok()) {
    inventory_ = std::move(inv).value();
    if (inventory_.gpus.empty() && !options_.simulated) {
      spdlog::warn("agent {}: no GPUs{}{}", options_.node_name,
                   inventory_.note.empty() ? "" : ": ", inventory_.note);
    }
  } else {
    spdlog::warn("agent {}: GPU discovery failed: {}; reporting no GPUs", options_.node_name,
                 inv.status().ToString());
  }
  if (options_.host_topology) {
    host_ = options_.host_topology;
  } else if (!options_.simulated) {
    auto host = DiscoverHostTopology();
    if (host.ok()) {
      host_ = std::move(host).value();
    } else {
      spdlog::warn("agent {}: host topology unknown ({}); tasks' CPUs are not pinned",
                   options_.node_name, host.status().message());
    }
  }
  if (options_.allowed_cpus.empty() && !options_.simulated) {
    options_.allowed_cpus = CurrentCpuAffinity();
  }
  disconnected_since_ = clock_.Now();
}

void Agent::set_log_endpoint(std::string endpoint, std::string token) {
  std::lock_guard lock(mu_);
  options_.log_endpoint = std::move(endpoint);
  options_.logs_token = std::move(token);
}

bool Agent::Ended(const Task& t) const {
  auto s = t.status.state();
  return s == v1::TASK_STATE_EXITED || s == v1::TASK_STATE_FAILED_TO_START ||
         s == v1::TASK_STATE_STOPPED;
}

v1::AgentMessage Agent::BuildRegister() {
  std::lock_guard lock(mu_);
  v1::AgentMessage msg;
  auto* reg = msg.mutable_register_();
  reg->set_node_name(options_.node_name);
  reg->set_agent_version(kAgentVersion);
  reg->set_address(options_.address);
  reg->set_log_endpoint(options_.log_endpoint);
  reg->set_logs_token(options_.logs_token);
  reg->set_rack(options_.rack);
  reg->set_instance_id(instance_id_);
  auto* inv = reg->mutable_inventory();
  inv->set_cpus(static_cast<int32_t>(std::thread::hardware_concurrency()));
  inv->set_memory_mib(static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE) /
                      (1024 * 1024));
  inv->set_driver_version(inventory_.driver_version);
  inv->set_gpu_note(inventory_.note);
  if (host_) {
    v1::HostTopology* h = inv->mutable_host();
    h->set_sockets(host_->sockets);
    h->set_cores(host_->cores);
    h->set_pus(host_->pus);
    for (const HostNumaNode& n : host_->numa_nodes) {
      v1::NumaNode* nn = h->add_numa_nodes();
      nn->set_id(n.id);
      nn->set_cpus(FormatCpuList(n.cpus));
      nn->set_memory_mib(n.memory_mib);
    }
  }
  for (const auto& g : inventory_.gpus) {
    auto* gpu = inv->add_gpus();
    gpu->set_index(g.index);
    gpu->set_uuid(g.uuid);
    gpu->set_model(g.name);
    gpu->set_memory_mib(g.memory_mib);
    gpu->set_pci_bus_id(g.pci_bus_id);
    gpu->set_cc_major(g.cc_major);
    gpu->set_cc_minor(g.cc_minor);
    gpu->set_power_limit_mw(g.power_limit_mw);
    gpu->set_mig_enabled(g.mig_enabled);
    gpu->set_error(g.healthy ? "" : (g.error.empty() ? "unhealthy" : g.error));
    gpu->set_numa_node(g.numa_node);
    gpu->set_nvlink_domain(g.nvlink_domain);
    for (int p : g.nvlink_peers) gpu->add_nvlink_peers(p);
    gpu->set_nvlink_links(g.nvlink_links);
    for (const auto& p : g.pcie_path) gpu->add_pcie_path(p);
    for (const auto& m : g.mig_devices) {
      auto* md = gpu->add_mig_devices();
      md->set_uuid(m.uuid);
      md->set_profile(m.profile);
      md->set_memory_mib(m.memory_mib);
      md->set_gpu_instance_id(m.gpu_instance_id);
      md->set_compute_instance_id(m.compute_instance_id);
    }
  }
  for (const auto& [key, task] : tasks_) {
    if (!Ended(task) || task.ended_epoch == register_epoch_) *reg->add_tasks() = task.status;
  }
  ++register_epoch_;
  heartbeat_sequence_ = 0;
  return msg;
}

v1::AgentMessage Agent::BuildHeartbeat() {
  // NVML calls take a while: sample before taking the lock.
  std::vector<GpuSample> samples = options_.simulated ? std::vector<GpuSample>{}
                                                      : discovery_.Sample();
  std::lock_guard lock(mu_);
  if (options_.simulated) {  // made-up telemetry: busy where a task runs (simulated_telemetry.h)
    std::set<int> busy;
    for (const auto& [key, task] : tasks_) {
      if (!Ended(task)) busy.insert(task.gpus.begin(), task.gpus.end());
    }
    samples = SimulatedGpuSamples(inventory_, busy, clock_.Now(), options_.node_name);
  }
  v1::AgentMessage msg;
  auto* hb = msg.mutable_heartbeat();
  hb->set_sequence(++heartbeat_sequence_);
  hb->set_health_check_error(health_check_error_);
  // pid -> task, for per-process GPU memory.
  std::map<ProcessId, const Task*> by_pid;
  for (const auto& [key, task] : tasks_) {
    if (Ended(task)) continue;
    for (const Rank& r : task.ranks) {
      if (!r.exited) by_pid[r.pid] = &task;
    }
  }
  for (const auto& g : inventory_.gpus) {
    auto* t = hb->add_gpus();
    t->set_uuid(g.uuid);
    t->set_index(g.index);
    const GpuSample* s = nullptr;
    for (const GpuSample& x : samples) {
      if (x.index == g.index) s = &x;
    }
    if (s == nullptr) continue;
    t->set_utilization_percent(s->utilization_percent);
    t->set_memory_utilization_percent(s->memory_utilization_percent);
    t->set_memory_used_mib(s->memory_used_mib);
    t->set_temperature_c(s->temperature_c);
    t->set_power_w(s->power_w);
    t->set_sm_clock_mhz(s->sm_clock_mhz);
    t->set_memory_clock_mhz(s->memory_clock_mhz);
    t->set_ecc_corrected(s->ecc_corrected);
    t->set_ecc_uncorrected(s->ecc_uncorrected);
    t->set_throttle_reasons(s->throttle_reasons);
    t->set_retired_pages_pending(s->retired_pages_pending);
    t->set_error(s->error);
    if (!s->uuid.empty() && s->uuid != g.uuid && s->error.empty()) {
      t->set_error(fmt::format("GPU {} now reports UUID {} (was {})", g.index, s->uuid, g.uuid));
    }
    for (const GpuProcessUsage& p : s->processes) {
      auto* gp = t->add_processes();
      gp->set_pid(p.pid);
      gp->set_used_memory_mib(p.used_memory_mib);
      if (auto it = by_pid.find(p.pid); it != by_pid.end()) {
        gp->set_job_id(it->second->status.job_id());
        gp->set_attempt(it->second->status.attempt());
        gp->set_task_index(it->second->status.task_index());
      }
    }
  }
  return msg;
}

void Agent::OnGpuEvent(const GpuEventReport& report) {
  v1::GpuEvent ev = ToGpuEvent(report);
  ev.set_description(Bounded(ev.description()));
  if (ev.uuid().size() > limits::kMaxNameLength) ev.mutable_uuid()->resize(limits::kMaxNameLength);
  {
    std::lock_guard lock(mu_);
    if (report.kind == GpuEventReport::Kind::kWatchFailed) {
      spdlog::warn("agent {}: GPU event watch failed: {}", options_.node_name, report.detail);
      return;  // nothing happened to a GPU; the watch is retried
    }
    const bool drains = ev.action() == v1::GPU_ACTION_DRAIN_GPU ||
                        ev.action() == v1::GPU_ACTION_DRAIN_NODE;
    for (auto& g : inventory_.gpus) {
      if (g.index == report.index && drains && g.healthy) {
        g.healthy = false;
        g.error = ev.description();
      }
    }
    spdlog::warn("agent {}: GPU {} ({}): {} -> {}", options_.node_name, report.index,
                 report.uuid, ev.description(), v1::GpuAction_Name(ev.action()));
    v1::AgentMessage msg;
    *msg.mutable_gpu_event() = std::move(ev);
    outbox_.push_back(std::move(msg));
  }
  Flush();
}

void Agent::SetHealthCheckResult(std::string error) {
  {
    std::lock_guard lock(mu_);
    error = Bounded(std::move(error));
    if (error == health_check_error_) return;
    const bool newly_failed = health_check_error_.empty();
    health_check_error_ = std::move(error);
    if (health_check_error_.empty()) {
      spdlog::info("agent {}: health check passes again", options_.node_name);
      return;
    }
    spdlog::warn("agent {}: health check failed: {}", options_.node_name, health_check_error_);
    if (newly_failed) {
      v1::AgentMessage msg;
      auto* ev = msg.mutable_gpu_event();
      ev->set_kind(v1::GpuEvent::KIND_HEALTH_CHECK);
      ev->set_index(-1);
      ev->set_action(v1::GPU_ACTION_DRAIN_NODE);
      ev->set_description(Bounded("health check failed: " + health_check_error_));
      outbox_.push_back(std::move(msg));
    }
  }
  Flush();
}

Inventory Agent::inventory() const {
  std::lock_guard lock(mu_);
  return inventory_;
}

void Agent::OnConnected() {
  std::lock_guard lock(mu_);
  connected_ = true;
  orphan_stopped_ = false;
  // A report sent while the stream was down may be lost: report the newest again (the
  // control plane ignores what it already has).
  for (auto& [key, task] : tasks_) task.reported_checkpoint.reset();
}

void Agent::OnDisconnected() {
  std::lock_guard lock(mu_);
  if (!connected_) return;
  connected_ = false;
  disconnected_since_ = clock_.Now();
}

void Agent::Tick() {
  // Checkpoints: list the directories outside the lock, one poll per directory.
  std::vector<std::pair<TaskKey, std::string>> watch;
  {
    std::lock_guard lock(mu_);
    std::set<std::string> seen;
    if (connected_) {
      for (const auto& [key, task] : tasks_) {
        if (!Ended(task) && !task.checkpoint_dir.empty() &&
            seen.insert(task.checkpoint_dir).second) {
          watch.emplace_back(key, task.checkpoint_dir);
        }
      }
    }
  }
  if (!watch.empty()) {
    std::vector<std::optional<CheckpointEntry>> newest;
    for (const auto& [key, dir] : watch) newest.push_back(NewestCheckpoint(dir));
    {
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < watch.size(); ++i) {
        auto it = tasks_.find(watch[i].first);
        if (it != tasks_.end()) NoteCheckpointLocked(it->second, newest[i]);
      }
    }
    Flush();
  }
  {
    std::lock_guard lock(mu_);
    if (connected_ || orphan_stopped_) return;
    if (clock_.Now() - disconnected_since_ < options_.orphan_grace) return;
    orphan_stopped_ = true;
    std::string why = fmt::format("orphaned: no control plane for {}",
                                  FormatDuration(options_.orphan_grace));
    int n = 0;
    for (auto& [key, task] : tasks_) {
      if (Ended(task)) continue;
      StopTaskLocked(key, options_.sibling_stop_grace, why);
      ++n;
    }
    if (n > 0) spdlog::warn("agent {}: {}; stopping {} task(s)", options_.node_name, why, n);
  }
  Flush();
}

void Agent::StopAll(Duration grace) {
  {
    std::lock_guard lock(mu_);
    for (auto& [key, task] : tasks_) {
      if (!Ended(task)) StopTaskLocked(key, grace, "agent shutting down");
    }
  }
  Flush();
}

int Agent::running_tasks() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [key, task] : tasks_) n += Ended(task) ? 0 : 1;
  return n;
}

bool Agent::WaitForNoTasks(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return ended_cv_.wait_until(lock, deadline, [&] {
    if (flushing_ || !outbox_.empty()) return false;
    for (const auto& [key, task] : tasks_) {
      if (!Ended(task)) return false;
    }
    return true;
  });
}

std::vector<v1::TaskStatus> Agent::Tasks() const {
  std::lock_guard lock(mu_);
  std::vector<v1::TaskStatus> out;
  for (const auto& [key, task] : tasks_) out.push_back(task.status);
  return out;
}

void Agent::HandleDirective(const v1::Directive& directive) {
  {
    std::lock_guard lock(mu_);
    switch (directive.directive_case()) {
      case v1::Directive::kStartTask:
        StartTaskLocked(directive.start_task());
        break;
      case v1::Directive::kStopTask: {
        const auto& stop = directive.stop_task();
        TaskKey key{stop.job_id(), stop.attempt(), stop.task_index()};
        auto it = tasks_.find(key);
        if (it == tasks_.end()) {
          auto s = KeyStatus(stop.job_id(), stop.attempt(), stop.task_index());
          s.set_state(v1::TASK_STATE_STOPPED);
          s.set_message(fmt::format("task not running on node {}", options_.node_name));
          QueueStatusLocked(s);
        } else if (Ended(it->second)) {
          QueueStatusLocked(it->second.status);
        } else {
          StopTaskLocked(key, Seconds(std::max(0, stop.grace_period_s())),
                         "stopped by the control plane");
        }
        break;
      }
      case v1::Directive::kSignal: {
        const auto& sig = directive.signal();
        auto it = tasks_.find(TaskKey{sig.job_id(), sig.attempt(), sig.task_index()});
        if (it == tasks_.end() || Ended(it->second)) break;
        for (const auto& rank : it->second.ranks) {
          if (rank.exited) continue;
          Status s = launcher_.Signal(rank.pid, sig.signal_number());
          if (!s.ok()) spdlog::warn("agent {}: {}", options_.node_name, s.ToString());
        }
        break;
      }
      default:
        break;
    }
  }
  Flush();
}

std::filesystem::path Agent::TaskDir(const std::string& job_id, int attempt,
                                     int task_index) const {
  return options_.data_dir / "tasks" / job_id / std::to_string(attempt) /
         fmt::format("task-{}", task_index);
}

void Agent::StartTaskLocked(const v1::StartTask& start) {
  TaskKey key{start.job_id(), start.attempt(), start.task_index()};
  if (auto it = tasks_.find(key); it != tasks_.end()) {
    QueueStatusLocked(it->second.status);  // duplicate: report, never start twice
    return;
  }
  Task& task = tasks_[key];
  task.status = KeyStatus(start.job_id(), start.attempt(), start.task_index());
  task.status.set_state(v1::TASK_STATE_STARTING);
  task.gpus.assign(start.gpu_indices().begin(), start.gpu_indices().end());
  auto fail = [&](std::string why) {
    spdlog::warn("agent {}: task {}/{}/{} failed to start: {}", options_.node_name,
                 start.job_id(), start.attempt(), start.task_index(), why);
    EndLocked(task, v1::TASK_STATE_FAILED_TO_START, 127, std::move(why));
  };

  if (Status bad = CheckStartTask(start); !bad.ok()) return fail(bad.message());
  if (!SafePathPart(start.job_id())) return fail("invalid job_id \"" + start.job_id() + "\"");
  if (start.command().empty()) return fail("empty command");
  std::set<int> have;
  for (const auto& g : inventory_.gpus) have.insert(g.index);
  std::vector<std::string> visible;
  std::vector<int> gpu_numa;
  for (int i = 0; i < start.gpu_indices_size(); ++i) {
    const int idx = start.gpu_indices(i);
    if (!have.contains(idx)) {
      return fail(fmt::format("gpu index {} is not on node {} ({})", idx, options_.node_name,
                              DescribeGpus(inventory_)));
    }
    // A MIG instance is named by its UUID (CUDA takes "MIG-<uuid>" in
    // CUDA_VISIBLE_DEVICES); its GPU's index gives the NUMA node.
    const std::string uuid = i < start.gpu_uuids_size() ? start.gpu_uuids(i) : "";
    bool mig = false;
    for (const auto& g : inventory_.gpus) {
      if (g.index != idx) continue;
      gpu_numa.push_back(g.numa_node);
      for (const auto& m : g.mig_devices) mig = mig || (!uuid.empty() && m.uuid == uuid);
    }
    if (!mig && uuid.rfind("MIG-", 0) == 0) {
      return fail(fmt::format("MIG device {} is not on GPU {} of node {}", uuid, idx,
                              options_.node_name));
    }
    visible.push_back(mig ? uuid : std::to_string(idx));
  }
  // CPU pinning: every rank on the CPUs of its GPUs' NUMA node(s), said in the log. No
  // GPUs, or a GPU whose NUMA node is unknown (fake GPUs, single-node firmware): nothing
  // pinned and nothing said, so such tasks' logs hold only their own output.
  CpuPinning pinning;
  std::string pin_note;
  if (!gpu_numa.empty() && std::find(gpu_numa.begin(), gpu_numa.end(), -1) == gpu_numa.end()) {
    if (host_) {
      pinning = PinCpusForGpus(*host_, gpu_numa, options_.allowed_cpus);
    } else {
      pinning.reason = "the host topology is unknown";
    }
    pin_note = pinning.cpus.empty()
                   ? fmt::format("CPUs not pinned: {}", pinning.reason)
                   : fmt::format("CPUs pinned to {} (NUMA node {} of GPUs {})",
                                 FormatCpuList(pinning.cpus),
                                 fmt::join(pinning.numa_nodes, ","), fmt::join(visible, ","));
  }
  int node_rank = 0;
  if (auto it = start.env().find("NODE_RANK"); it != start.env().end()) {
    const std::string& v = it->second;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), node_rank);
    if (ec != std::errc() || p != v.data() + v.size() || node_rank < 0) {
      return fail("NODE_RANK is not a non-negative integer: \"" + v + "\"");
    }
  }
  const int ranks = std::max(1, start.ranks());
  // The task's limits are shared evenly by its ranks: each rank has its own cgroup.
  ProcessLimits limits;
  if (!start.cpus().empty()) {
    auto cpus = Quantity::Parse(start.cpus());
    if (!cpus.ok() || *cpus < Quantity()) return fail("invalid cpus \"" + start.cpus() + "\"");
    limits.cpu_max_cores = static_cast<double>(cpus->milli()) / Quantity::kScale / ranks;
  }
  if (start.memory_bytes() < 0) {
    return fail(fmt::format("invalid memory_bytes {}", start.memory_bytes()));
  }
  limits.memory_max_bytes = start.memory_bytes() / ranks;
  if (start.memory_bytes() > 0 && limits.memory_max_bytes == 0) limits.memory_max_bytes = 1;
  // Who the task runs as, and its private directories (launch/task_user.h): the checkpoint
  // and log directories are made 0700 and owned by that user.
  std::optional<TaskCredentials> creds;
  std::filesystem::path dir;
  if (!options_.simulated) {
    auto who = ResolveTaskUser(options_.task_user, start.run_as_user());
    if (!who.ok()) return fail(who.status().message());
    creds = *std::move(who);
    if (!start.checkpoint_dir().empty()) {
      Status made = PrivateDir(start.checkpoint_dir(), *creds);
      if (!made.ok()) return fail("checkpoint_dir: " + made.message());
    }
    if (start.watch_checkpoints()) task.checkpoint_dir = start.checkpoint_dir();
    dir = TaskDir(start.job_id(), start.attempt(), start.task_index());
    if (Status made = PrivateDir(dir.string(), *creds); !made.ok()) return fail(made.message());
  }

  task.ranks.resize(ranks);
  for (int r = 0; r < ranks; ++r) {
    ProcessSpec spec;
    spec.argv.assign(start.command().begin(), start.command().end());
    spec.env.insert(start.env().begin(), start.env().end());
    spec.env["RANK"] = std::to_string(int64_t{node_rank} * ranks + r);
    spec.env["LOCAL_RANK"] = std::to_string(r);
    AddTaskEnvironment(start, visible, creds ? &*creds : nullptr, dir.string(), &spec.env);
    if (creds && creds->switch_user) {
      spec.run_as = ProcessSpec::RunAs{creds->uid, creds->gid, {}};
      spec.run_as->groups.assign(creds->groups.begin(), creds->groups.end());
    }
    // Marks the process as this agent's, so a restarted agent can find what a killed
    // predecessor left running (launch/leftovers.h).
    if (!options_.simulated) {
      spec.env[kAgentMarkerEnv] = AgentMarker(options_.node_name, options_.data_dir);
    }
    if (!options_.simulated) spec.log_path = (dir / fmt::format("rank-{}.log", r)).string();
    spec.cgroup_name = fmt::format("{}.{}.{}.r{}", start.job_id(), start.attempt(),
                                   start.task_index(), r);
    spec.simulate_duration = std::chrono::milliseconds(start.simulate_duration_ms());
    spec.limits = limits;
    spec.cpu_affinity = pinning.cpus;
    if (!options_.simulated) spec.log_note = pin_note;
    auto pid = launcher_.Start(
        spec, [this, key, r](ProcessId, int code) { OnRankExit(key, r, code); });
    if (!pid.ok()) {
      for (int i = 0; i < r; ++i) (void)launcher_.Stop(task.ranks[i].pid, Duration(0));
      task.exited += ranks - r;  // ranks never started count as gone
      for (int i = r; i < ranks; ++i) task.ranks[i].exited = true;
      return fail(ranks > 1 ? fmt::format("rank {}: {}", r, pid.status().message())
                            : pid.status().message());
    }
    task.ranks[r].pid = *pid;
  }
  task.status.set_state(v1::TASK_STATE_RUNNING);
  QueueStatusLocked(task.status);
}

void Agent::StopTaskLocked(const TaskKey& key, Duration grace, const std::string& why) {
  Task& task = tasks_.at(key);
  if (!task.stop_requested) task.status.set_message(why);
  task.stop_requested = true;
  for (const auto& rank : task.ranks) {
    if (!rank.exited) (void)launcher_.Stop(rank.pid, grace);
  }
}

void Agent::OnRankExit(const TaskKey& key, int r, int code) {
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(key);
    if (it == tasks_.end()) return;
    Task& task = it->second;
    if (r >= static_cast<int>(task.ranks.size()) || task.ranks[r].exited) return;
    task.ranks[r].exited = true;
    task.ranks[r].exit_code = code;
    ++task.exited;
    if (Ended(task)) return;  // a failed start cleaning up
    if (code != 0 && !task.first_failure) {
      task.first_failure = code;
      if (!task.stop_requested && task.exited < static_cast<int>(task.ranks.size())) {
        task.status.set_message(
            fmt::format("rank {} exited with code {}; stopped the other ranks", r, code));
        for (const auto& rank : task.ranks) {
          if (!rank.exited) (void)launcher_.Stop(rank.pid, options_.sibling_stop_grace);
        }
      }
    }
    if (task.exited == static_cast<int>(task.ranks.size())) {
      EndLocked(task, task.stop_requested ? v1::TASK_STATE_STOPPED : v1::TASK_STATE_EXITED,
                task.first_failure.value_or(0), task.status.message());
    }
  }
  Flush();
}

void Agent::NoteCheckpointLocked(Task& task, const std::optional<CheckpointEntry>& newest) {
  if (!newest || newest == task.reported_checkpoint) return;
  task.reported_checkpoint = newest;
  v1::AgentMessage msg;
  v1::CheckpointReport* cr = msg.mutable_checkpoint();
  cr->set_job_id(task.status.job_id());
  cr->set_attempt(task.status.attempt());
  cr->set_task_index(task.status.task_index());
  cr->set_path(newest->path);
  cr->set_mtime_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(newest->mtime.time_since_epoch())
          .count());
  outbox_.push_back(std::move(msg));
}

void Agent::EndLocked(Task& task, v1::TaskState state, int exit_code, std::string message) {
  // A checkpoint written in the stop grace must be known before the attempt is retried.
  if (!task.checkpoint_dir.empty()) NoteCheckpointLocked(task, NewestCheckpoint(task.checkpoint_dir));
  task.status.set_state(state);
  task.status.set_exit_code(exit_code);
  task.status.set_message(Bounded(std::move(message)));
  task.ended_epoch = register_epoch_;
  task.ended_at = clock_.Now();
  QueueStatusLocked(task.status);
  PruneLocked();
  ended_cv_.notify_all();
}

void Agent::QueueStatusLocked(const v1::TaskStatus& status) {
  v1::AgentMessage msg;
  *msg.mutable_task_status() = status;
  outbox_.push_back(std::move(msg));
}

void Agent::PruneLocked() {
  const size_t cap = options_.simulated ? kMaxEndedTasksSimulated : kMaxEndedTasks;
  std::vector<std::pair<Time, TaskKey>> old;
  for (const auto& [key, task] : tasks_) {
    if (Ended(task) && task.ended_epoch != register_epoch_) old.emplace_back(task.ended_at, key);
  }
  if (old.size() <= cap) return;
  std::sort(old.begin(), old.end());
  for (size_t i = 0; i + cap < old.size(); ++i) tasks_.erase(old[i].second);
}

void Agent::Flush() {
  std::lock_guard send_lock(send_mu_);
  while (true) {
    std::vector<v1::AgentMessage> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(outbox_);
      flushing_ = !batch.empty();
      if (!flushing_) {
        ended_cv_.notify_all();  // WaitForNoTasks also waits for the reports to leave
        return;
      }
    }
    for (const auto& m : batch) {
      if (send_) send_(m);
    }
  }
}

Result<LogLocation> Agent::FindLog(const std::string& job_id, int attempt, int task_index,
                                   int rank) const {
  auto not_found = [&](const std::string& why) {
    return NotFound(fmt::format("no log for job {} attempt {} task {} rank {} on node {}: {}",
                                job_id, attempt, task_index, rank, options_.node_name, why));
  };
  if (!SafePathPart(job_id)) return not_found("invalid job id");
  if (options_.simulated) return not_found("simulated agents keep no logs");
  std::lock_guard lock(mu_);
  if (attempt <= 0) {
    attempt = 0;
    for (const auto& [key, task] : tasks_) {
      if (std::get<0>(key) == job_id && std::get<2>(key) == task_index) {
        attempt = std::max(attempt, std::get<1>(key));
      }
    }
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator(options_.data_dir / "tasks" / job_id, ec)) {
      int a = 0;
      std::string name = e.path().filename().string();
      auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), a);
      if (err == std::errc() && p == name.data() + name.size() &&
          std::filesystem::exists(e.path() / fmt::format("task-{}", task_index))) {
        attempt = std::max(attempt, a);
      }
    }
    if (attempt == 0) return not_found("the job has no task with that index here");
  }
  LogLocation loc;
  loc.path = TaskDir(job_id, attempt, task_index) / fmt::format("rank-{}.log", rank);
  auto it = tasks_.find(TaskKey{job_id, attempt, task_index});
  if (it != tasks_.end()) {
    if (rank < 0 || rank >= static_cast<int>(it->second.ranks.size())) {
      return not_found(fmt::format("the task has {} rank(s)", it->second.ranks.size()));
    }
    loc.finished = Ended(it->second);
    return loc;
  }
  std::error_code ec;
  if (!std::filesystem::exists(loc.path, ec)) return not_found("unknown task");
  loc.finished = true;
  return loc;
}

}  // namespace baton::agent
