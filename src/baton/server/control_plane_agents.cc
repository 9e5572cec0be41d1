// ControlPlane: agents, nodes and the directives sent to them.
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <set>

#include "baton/api/convert.h"
#include "baton/model/mig.h"
#include "baton/model/restart_policy.h"
#include "baton/server/agent_message_limits.h"
#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"
#include "baton/server/gpu_devices.h"
#include "baton/server/submitter.h"

namespace baton::server {
namespace {

constexpr size_t kMaxNameLength = 253;
constexpr int kMaxReportedTasks = 100000;

Status ValidateNodeName(const std::string& name) {
  if (name.empty()) return InvalidArgument("register.node_name: must not be empty");
  if (name.size() > kMaxNameLength) {
    return InvalidArgument(fmt::format("register.node_name: longer than {} characters",
                                       kMaxNameLength));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return InvalidArgument(fmt::format(
          "register.node_name: '{}' may only hold letters, digits, '-', '.' and '_'", name));
    }
  }
  return Status::Ok();
}

Status ValidateInventory(const v1::Register& reg) {
  const v1::Inventory& inv = reg.inventory();
  if (inv.gpus_size() > model::kMaxGpusPerNode) {
    return InvalidArgument(fmt::format("register.inventory.gpus: {} GPUs; at most {} per node",
                                       inv.gpus_size(), model::kMaxGpusPerNode));
  }
  std::set<std::string> uuids;
  for (int i = 0; i < inv.gpus_size(); ++i) {
    const v1::AgentGpu& g = inv.gpus(i);
    const std::string path = fmt::format("register.inventory.gpus[{}]", i);
    if (g.index() != i) {
      return InvalidArgument(fmt::format("{}.index: expected {} (GPUs in index order), got {}",
                                         path, i, g.index()));
    }
    if (g.uuid().empty() || g.uuid().size() > kMaxNameLength) {
      return InvalidArgument(fmt::format("{}.uuid: must be 1 to {} characters", path,
                                         kMaxNameLength));
    }
    if (!uuids.insert(g.uuid()).second) {
      return InvalidArgument(fmt::format("{}.uuid: '{}' appears twice", path, g.uuid()));
    }
    if (g.model().empty() || g.model().size() > kMaxNameLength) {
      return InvalidArgument(fmt::format("{}.model: must be 1 to {} characters", path,
                                         kMaxNameLength));
    }
    if (g.model() != inv.gpus(0).model()) {
      return InvalidArgument(fmt::format(
          "{}.model: '{}' differs from gpus[0] ('{}'); a node has one GPU model", path,
          g.model(), inv.gpus(0).model()));
    }
    if (g.memory_mib() < 0) return InvalidArgument(fmt::format("{}.memory_mib: negative", path));
  }
  std::vector<int> domains;
  for (const v1::AgentGpu& g : inv.gpus()) domains.push_back(g.nvlink_domain());
  if (Status st = model::CheckNvLinkDomains(domains); !st.ok()) {
    return InvalidArgument("register.inventory." + st.message());
  }
  BATON_RETURN_IF_ERROR(ValidateMigInventory(inv));
  if (inv.cpus() < 0) return InvalidArgument("register.inventory.cpus: negative");
  if (inv.memory_mib() < 0) return InvalidArgument("register.inventory.memory_mib: negative");
  if (reg.tasks_size() > kMaxReportedTasks) {
    return InvalidArgument(fmt::format("register.tasks: more than {}", kMaxReportedTasks));
  }
  if (reg.rack().size() > kMaxNameLength || reg.address().size() > kMaxNameLength ||
      reg.log_endpoint().size() > kMaxNameLength || reg.logs_token().size() > kMaxNameLength) {
    return InvalidArgument(
        "register: rack, address, log_endpoint and logs_token are at most 253 chars");
  }
  return Status::Ok();
}

bool SameGpus(const v1::Node& a, const v1::Node& b) {
  if (a.gpus_size() != b.gpus_size()) return false;
  for (int i = 0; i < a.gpus_size(); ++i) {
    if (a.gpus(i).uuid() != b.gpus(i).uuid() || a.gpus(i).model() != b.gpus(i).model()) {
      return false;
    }
  }
  return a.rack() == b.rack() && SameMigLayout(a, b);
}

// Whether the node-local NVLink domains (kept in Gpu.nvlink_domain of the stored record)
// differ; the GPUs themselves are the same.
bool SameDomains(const v1::Node& a, const v1::Node& b) {
  for (int i = 0; i < a.gpus_size() && i < b.gpus_size(); ++i) {
    if (a.gpus(i).nvlink_domain() != b.gpus(i).nvlink_domain()) return false;
  }
  return true;
}

bool IsFinal(v1::TaskState s) {
  return s == v1::TASK_STATE_EXITED || s == v1::TASK_STATE_FAILED_TO_START ||
         s == v1::TASK_STATE_STOPPED;
}

}  // namespace

Result<int64_t> ControlPlane::RegisterAgent(const ChangeOrigin& origin, const v1::Register& reg,
                                            std::shared_ptr<AgentSink> sink) {
  // Read-only: the agent keeps its tasks running (orphan grace) and retries.
  BATON_RETURN_IF_ERROR(CheckWritable());
  BATON_RETURN_IF_ERROR(CheckRegisterLimits(reg));
  BATON_RETURN_IF_ERROR(ValidateNodeName(reg.node_name()));
  BATON_RETURN_IF_ERROR(ValidateInventory(reg));
  std::lock_guard<std::mutex> lock(mu_);
  const Time now = clock_->Now();
  v1::Node info;
  info.set_name(reg.node_name());
  info.set_rack(reg.rack());
  info.set_pool("agents");
  info.set_cpus(reg.inventory().cpus());
  info.set_memory_mib(reg.inventory().memory_mib());
  info.set_address(reg.address());
  for (const v1::AgentGpu& g : reg.inventory().gpus()) {
    v1::Gpu* gpu = info.add_gpus();
    gpu->set_index(g.index());
    gpu->set_uuid(g.uuid());
    gpu->set_model(g.model());
    gpu->set_memory_mib(g.memory_mib());
    // The stored record keeps the agent's node-local label; RenderNode shows the
    // cluster-wide domain id instead.
    gpu->set_nvlink_domain(g.nvlink_domain());
    gpu->set_mig_enabled(g.mig_enabled());
    for (const v1::MigDevice& m : g.mig_devices()) {
      v1::MigInstance* mi = gpu->add_mig_instances();
      mi->set_uuid(m.uuid());
      mi->set_profile(m.profile());
      mi->set_memory_mib(m.memory_mib());
    }
  }
  info.set_agent_instance(reg.instance_id());
  auto& slot = nodes_[reg.node_name()];
  const std::string old_instance = slot ? slot->info.agent_instance() : "";
  if (!slot) {
    slot = std::make_unique<NodeEntry>();
    fleet_dirty_ = true;
  } else if (!SameGpus(slot->info, info)) {
    // Whatever ran on the old GPUs cannot be trusted to the new ones.
    NodeLost(*slot, now, "the agent re-registered with different GPUs");
    fleet_dirty_ = true;
  } else if (!SameDomains(slot->info, info)) {
    // Same GPUs, new NVLink topology (a bridge or link went down or came back): what runs
    // keeps running; placement uses the new domains from now on.
    spdlog::warn("agent {} re-registered with different NVLink domains", reg.node_name());
    fleet_dirty_ = true;
  }
  NodeEntry& node = *slot;
  node.agent_restarted = !old_instance.empty() && old_instance != reg.instance_id();
  if (node.session != 0) sessions_.erase(node.session);
  FillGpuDetails(reg, &info);
  node.info = std::move(info);
  node.log_endpoint = reg.log_endpoint();
  node.logs_token = reg.logs_token();
  node.session = next_session_++;
  node.sink = std::move(sink);
  node.last_seen = now;
  telemetry_.Forget(reg.node_name());  // the new stream's heartbeats report afresh
  sessions_[node.session] = &node;
  RecordNodeEvent(node, v1::EVENT_TYPE_NODE_REGISTERED,
                  fmt::format("agent registered: {} GPUs{}{}", node.info.gpus_size(),
                              node.info.gpus_size() ? " " + node.info.gpus(0).model() : "",
                              node.info.rack().empty() ? "" : ", rack " + node.info.rack()));
  // Not ready until the tasks it reports are reconciled (stale ones must stop first).
  if (node.state == v1::NODE_STATE_LOST) {
    SetNodeState(node, v1::NODE_STATE_NOT_READY, "registering after it was lost");
  }
  node.strays.clear();
  PersistNode(node, origin.AuditOp("node/" + reg.node_name()));

  v1::Directive d;
  d.mutable_registered()->set_node_name(reg.node_name());
  d.mutable_registered()->set_heartbeat_interval_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.heartbeat_interval)
          .count());
  node.sink->Send(d);
  Reconcile(node, reg, now);
  MaybeReady(node);
  if (!node.strays.empty()) {
    spdlog::warn("agent {} came back running {} task(s) no attempt wants (stale state); "
                 "stopping them before it takes new work",
                 reg.node_name(), node.strays.size());
  }
  work_ = true;
  work_cv_.notify_all();
  spdlog::info("agent {} registered: {} GPUs, {} tasks reported", reg.node_name(),
               reg.inventory().gpus_size(), reg.tasks_size());
  return node.session;
}

Status ControlPlane::OnAgentMessage(int64_t session, const v1::AgentMessage& msg) {
  BATON_RETURN_IF_ERROR(CheckAgentMessageLimits(msg));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) {
    return FailedPrecondition("this agent stream was replaced by a newer one");
  }
  NodeEntry& node = *it->second;
  const Time now = clock_->Now();
  if (node.state == v1::NODE_STATE_LOST) {
    // Its attempts were ended and its GPUs given back while it was silent: whatever it
    // still runs must be reconciled before it is trusted again, so make it register anew.
    spdlog::warn("agent {} spoke again after it was declared lost; asking it to register "
                 "again so its stale tasks are reconciled",
                 node.info.name());
    return FailedPrecondition(fmt::format(
        "node {} was declared lost ({}); reconnect and register again", node.info.name(),
        node.reason));
  }
  node.last_seen = now;
  switch (msg.msg_case()) {
    case v1::AgentMessage::kHeartbeat:
      if (node.state == v1::NODE_STATE_NOT_READY) MaybeReady(node);
      *node.info.mutable_last_heartbeat() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
              now.time_since_epoch().count());
      telemetry_.Record(node.info.name(), msg.heartbeat(), now);
      HandleHealthCheck(node, msg.heartbeat().health_check_error());
      return Status::Ok();
    case v1::AgentMessage::kGpuEvent:
      HandleGpuEvent(node, msg.gpu_event(), now);
      return Status::Ok();
    case v1::AgentMessage::kTaskStatus:
      HandleTaskStatus(node, msg.task_status(), now);
      return Status::Ok();
    case v1::AgentMessage::kCheckpoint:
      HandleCheckpoint(node, msg.checkpoint(), now);
      return Status::Ok();
    case v1::AgentMessage::kRegister:
      return InvalidArgument("register: sent twice on one stream");
    default:
      return InvalidArgument("agent message: empty or of an unknown kind");
  }
}

void ControlPlane::OnAgentDisconnected(int64_t session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  NodeEntry& node = *it->second;
  sessions_.erase(it);
  node.session = 0;
  node.sink.reset();
  if (node.state == v1::NODE_STATE_READY) {
    SetNodeState(node, v1::NODE_STATE_NOT_READY, "agent disconnected");
  }
  spdlog::info("agent {} disconnected", node.info.name());
}

void ControlPlane::SetNodeState(NodeEntry& node, v1::NodeState state, std::string reason) {
  node.reason = std::move(reason);
  if (node.state == state) return;
  node.state = state;
  RecordNodeStateEvent(node);
  if (!cluster_) return;
  auto id = node_ids_.find(node.info.name());
  if (id != node_ids_.end() && sched_) {
    sched_->mutable_state().SetSchedulable(id->second,
                                           state == v1::NODE_STATE_READY && node.takes_work());
  }
  work_ = true;
}

void ControlPlane::ApplySchedulable(NodeEntry& node) {
  if (!cluster_ || !sched_) return;
  if (auto id = node_ids_.find(node.info.name()); id != node_ids_.end()) {
    sched_->mutable_state().SetSchedulable(
        id->second, node.state == v1::NODE_STATE_READY && node.takes_work());
  }
  work_ = true;
}

void ControlPlane::NodeLost(NodeEntry& node, Time now, const std::string& why) {
  spdlog::warn("node {} lost: {}", node.info.name(), why);
  SetNodeState(node, v1::NODE_STATE_LOST, why);
  const std::string& name = node.info.name();
  for (JobId id : std::vector<JobId>(active_.begin(), active_.end())) {
    JobEntry& e = *jobs_.at(id);
    if (e.rec.attempts.empty() || e.live_attempt == 0) continue;
    const model::Attempt& a = e.rec.attempts.back();
    bool on_node = false;
    for (size_t t = 0; t < a.placements.size(); ++t) {
      if (a.placements[t].node != name) continue;
      on_node = true;
      TaskGone(e, e.Tracked(t), static_cast<int32_t>(t));
    }
    if (!on_node || !a.open()) continue;
    model::JobEventData ev = model::JobEventData::NodeLost(a.number, name);
    ev.detail = why;
    if (Transition(e, ev, now)) {
      AfterAttemptEnded(e, false);
      Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
    }
  }
  // Attempts already over that only waited for tasks on this node.
  for (auto& [id, ep] : jobs_) {
    JobEntry& e = *ep;
    if (!e.release_pending || e.rec.attempts.empty()) continue;
    const model::Attempt& a = e.rec.attempts.back();
    for (size_t t = 0; t < a.placements.size(); ++t) {
      if (a.placements[t].node == name) TaskGone(e, e.Tracked(t), static_cast<int32_t>(t));
    }
  }
}

void ControlPlane::HandleTaskStatus(NodeEntry& node, const v1::TaskStatus& ts, Time now) {
  if (IsFinal(ts.state()) && !node.strays.empty() &&
      node.strays.erase({ts.job_id(), ts.attempt(), ts.task_index()}) > 0 &&
      node.strays.empty()) {
    spdlog::info("agent {}: every stale task is gone; the node takes work again",
                 node.info.name());
    MaybeReady(node);
  }
  uint64_t raw = 0;
  auto [p, ec] = std::from_chars(ts.job_id().data(), ts.job_id().data() + ts.job_id().size(),
                                 raw);
  auto it = ec == std::errc() ? jobs_.find(JobId(raw)) : jobs_.end();
  if (it == jobs_.end()) {
    spdlog::warn("agent {} reported unknown job '{}'", node.info.name(), ts.job_id());
    return;
  }
  JobEntry& e = *it->second;
  const int32_t task = ts.task_index();
  // Only the node the task was placed on may report it.
  if (ts.attempt() < 1 || ts.attempt() > static_cast<int32_t>(e.rec.attempts.size())) return;
  // The open attempt's, when the task runs under it (possibly carried over from the
  // attempt it was started in); else the attempt it names, which has ended.
  const model::Attempt* cur = model::OpenAttempt(e.rec);
  const bool current = cur != nullptr && task >= 0 &&
                       task < static_cast<int32_t>(cur->placements.size()) &&
                       model::TaskAttempt(*cur, task) == ts.attempt();
  const model::Attempt& a =
      current ? *cur : e.rec.attempts[static_cast<size_t>(ts.attempt() - 1)];
  if (task < 0 || task >= static_cast<int32_t>(a.placements.size()) ||
      a.placements[static_cast<size_t>(task)].node != node.info.name()) {
    spdlog::warn("agent {} reported task {}/{} of job {} that is not placed there",
                 node.info.name(), ts.attempt(), task, e.rec.id);
    return;
  }
  const bool open = current;
  const int32_t attempt = a.number;
  switch (ts.state()) {
    case v1::TASK_STATE_STARTING:
      return;
    case v1::TASK_STATE_RUNNING: {
      if (!open || e.rec.state != model::JobState::kStarting) return;
      if (e.running.size() != a.placements.size()) e.running.assign(a.placements.size(), 0);
      e.running[static_cast<size_t>(task)] = 1;
      if (std::all_of(e.running.begin(), e.running.end(), [](uint8_t r) { return r != 0; }) &&
          Transition(e, model::JobEventData::AllTasksRunning(attempt), now)) {
        Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
      }
      return;
    }
    case v1::TASK_STATE_EXITED:
    case v1::TASK_STATE_STOPPED:
    case v1::TASK_STATE_FAILED_TO_START: {
      TaskGone(e, ts.attempt(), task);
      if (!open) return;
      int32_t code = ts.exit_code();
      if (ts.state() == v1::TASK_STATE_FAILED_TO_START && code == 0) code = 127;
      if (ts.state() == v1::TASK_STATE_STOPPED && code == 0) code = 143;
      model::JobEventData ev = model::JobEventData::TaskExited(ts.attempt(), task, code);
      if (!ts.message().empty()) ev.detail = ts.message().substr(0, 1024);
      if (!Transition(e, ev, now)) return;
      const model::Attempt* after = model::OpenAttempt(e.rec);
      if (!after) {
        AfterAttemptEnded(e, false);
      } else if (after->number != attempt) {
        RestartTaskInPlace(e, task, now);  // persists and sends the start itself
        return;
      }
      Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
      return;
    }
    default:
      return;
  }
}

void ControlPlane::Reconcile(NodeEntry& node, const v1::Register& reg, Time now) {
  const std::string& name = node.info.name();
  std::set<std::pair<uint64_t, int32_t>> reported;  // (job, task) of the live attempt
  for (const v1::TaskStatus& ts : reg.tasks()) {
    uint64_t raw = 0;
    auto [p, ec] =
        std::from_chars(ts.job_id().data(), ts.job_id().data() + ts.job_id().size(), raw);
    auto it = ec == std::errc() ? jobs_.find(JobId(raw)) : jobs_.end();
    const bool wanted = it != jobs_.end() && it->second->live_attempt > 0 &&
                        ts.task_index() >= 0 &&
                        it->second->Tracked(static_cast<size_t>(ts.task_index())) ==
                            ts.attempt() &&
                        ts.task_index() >= 0 &&
                        ts.task_index() < static_cast<int32_t>(it->second->alive.size()) &&
                        it->second->alive[static_cast<size_t>(ts.task_index())] &&
                        it->second->rec.attempts.back()
                                .placements[static_cast<size_t>(ts.task_index())]
                                .node == name;
    if (!wanted) {
      if (!IsFinal(ts.state())) {
        node.strays.insert({ts.job_id(), ts.attempt(), ts.task_index()});
        v1::Directive d;
        v1::StopTask* stop = d.mutable_stop_task();
        stop->set_job_id(ts.job_id());
        stop->set_attempt(ts.attempt());
        stop->set_task_index(ts.task_index());
        stop->set_grace_period_s(static_cast<int32_t>(
            std::chrono::duration_cast<std::chrono::seconds>(options_.stop_grace).count()));
        node.sink->Send(d);
      }
      continue;
    }
    reported.insert({raw, ts.task_index()});
    const bool still_wanted = model::OpenAttempt(it->second->rec) != nullptr;
    HandleTaskStatus(node, ts, now);
    if (!still_wanted && !IsFinal(ts.state())) SendStop(*it->second, ts.task_index());
  }
  // Tasks this node should run that the agent did not mention.
  for (JobId id : std::vector<JobId>(active_.begin(), active_.end())) {
    JobEntry& e = *jobs_.at(id);
    const model::Attempt* a = model::OpenAttempt(e.rec);
    if (!a || e.live_attempt != a->number) continue;
    std::vector<int32_t> resend;
    bool vanished = false;
    for (size_t t = 0; t < a->placements.size(); ++t) {
      if (a->placements[t].node != name || !e.alive[t]) continue;
      if (reported.count({id.value(), static_cast<int32_t>(t)})) continue;
      // A start that may never have reached this agent process is sent again (it starts
      // a task at most once); one a previous process may have run is not.
      if (e.rec.state == model::JobState::kStarting && !e.running[t] && !node.agent_restarted) {
        resend.push_back(static_cast<int32_t>(t));
      } else {
        vanished = true;
      }
    }
    // The attempt ends when a task vanished: then nothing is started again for it (the
    // resent task would run unseen, its GPUs given to the next attempt).
    if (!vanished && !resend.empty()) SendStarts(id, a->number, resend);
    if (vanished) {
      for (size_t t = 0; t < a->placements.size(); ++t) {
        if (a->placements[t].node == name) TaskGone(e, e.Tracked(t), static_cast<int32_t>(t));
      }
      model::JobEventData ev = model::JobEventData::NodeLost(a->number, name);
      ev.detail = "the agent came back without the task (it restarted)";
      if (Transition(e, ev, now)) {
        AfterAttemptEnded(e, false);
        Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Directives.

v1::StartTask ControlPlane::MakeStart(const JobEntry& e, int32_t task) const {
  const model::JobSpec& spec = e.rec.spec;
  const model::Attempt& a = e.rec.attempts.back();
  const model::TaskPlacement& tp = a.placements[static_cast<size_t>(task)];
  v1::StartTask st;
  st.set_job_id(std::to_string(e.rec.id.value()));
  // A task restarted in place runs under the new attempt; the others keep theirs.
  st.set_attempt(model::TaskAttempt(a, task));
  st.set_run_as_user(SubmitterOf(e.rec));
  st.set_task_index(task);
  for (const auto& c : spec.command) st.add_command(c);
  st.set_ranks(spec.ranks_per_task);
  st.set_simulate_duration_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(spec.simulate_duration).count());
  if (spec.cpus_per_task != Quantity()) st.set_cpus(spec.cpus_per_task.ToString());
  st.set_memory_bytes(spec.memory_bytes_per_task);
  auto* env = st.mutable_env();
  for (const auto& [k, v] : spec.env) (*env)[k] = v;
  (*env)["BATON_JOB_ID"] = st.job_id();
  (*env)["BATON_JOB_NAME"] = spec.name;
  (*env)["BATON_ATTEMPT"] = std::to_string(st.attempt());
  (*env)["BATON_TASK_INDEX"] = std::to_string(task);
  (*env)["BATON_NUM_TASKS"] = std::to_string(spec.tasks);
  if (!options_.checkpoint_root.empty()) {
    st.set_checkpoint_dir(fmt::format("{}/{}", options_.checkpoint_root, e.rec.id.value()));
    (*env)["BATON_CHECKPOINT_DIR"] = st.checkpoint_dir();
    st.set_watch_checkpoints(true);
  }
  if (!a.resumed_from.empty()) (*env)["BATON_RESUME_FROM"] = a.resumed_from;
  (*env)["BATON_NODE"] = tp.node;
  // Seconds between SIGTERM and SIGKILL when the task is preempted, drained or cancelled.
  (*env)["BATON_PREEMPT_NOTICE"] = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(StopGrace(e)).count());
  (*env)["WORLD_SIZE"] = std::to_string(int64_t{spec.tasks} * spec.ranks_per_task);
  (*env)["NODE_RANK"] = std::to_string(task);
  (*env)["LOCAL_WORLD_SIZE"] = std::to_string(spec.ranks_per_task);
  std::string master = "127.0.0.1";
  if (auto n = nodes_.find(a.placements[0].node);
      n != nodes_.end() && !n->second->info.address().empty()) {
    master = n->second->info.address();
  }
  (*env)["MASTER_ADDR"] = master;
  // The attempt that placed the tasks (the same for every task, restarts in place included).
  int32_t placed_by = a.number;
  while (placed_by > 1 &&
         !e.rec.attempts[static_cast<size_t>(placed_by - 1)].task_attempts.empty()) {
    --placed_by;
  }
  const uint64_t h = e.rec.id.value() * 2654435761u + static_cast<uint64_t>(placed_by) * 40503u;
  (*env)["MASTER_PORT"] = std::to_string(
      options_.master_port_base +
      static_cast<int32_t>(h % static_cast<uint64_t>(std::max(1, options_.master_port_span))));
  auto n = nodes_.find(tp.node);
  for (size_t i = 0; i < tp.gpus.size(); ++i) {
    const int32_t g = tp.gpus[i];
    st.add_gpu_indices(g);
    if (i < tp.mig_devices.size()) {
      st.add_gpu_uuids(tp.mig_devices[i]);  // the agent exposes the MIG instance
    } else if (n != nodes_.end() && g < n->second->info.gpus_size()) {
      st.add_gpu_uuids(n->second->info.gpus(g).uuid());
    }
  }
  AddGpuShareEnv(spec, env);
  return st;
}

void ControlPlane::SendStarts(JobId id, int32_t attempt, const std::vector<int32_t>& only) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  JobEntry& e = *it->second;
  const model::Attempt* a = model::OpenAttempt(e.rec);
  if (!a || a->number != attempt) return;  // it ended before the write was durable
  for (int32_t t = 0; t < static_cast<int32_t>(a->placements.size()); ++t) {
    if (!only.empty() && std::find(only.begin(), only.end(), t) == only.end()) continue;
    auto n = nodes_.find(a->placements[static_cast<size_t>(t)].node);
    if (n == nodes_.end() || !n->second->sink) continue;  // re-sent when it reconnects
    v1::Directive d;
    *d.mutable_start_task() = MakeStart(e, t);
    n->second->sink->Send(d);
  }
}

void ControlPlane::SendStop(JobEntry& e, int32_t task) {
  if (e.rec.attempts.empty()) return;
  const model::Attempt& a = e.rec.attempts.back();
  auto n = nodes_.find(a.placements[static_cast<size_t>(task)].node);
  if (n == nodes_.end() || !n->second->sink) return;  // reconciled when it reconnects
  v1::Directive d;
  v1::StopTask* stop = d.mutable_stop_task();
  stop->set_job_id(std::to_string(e.rec.id.value()));
  stop->set_attempt(e.Tracked(static_cast<size_t>(task)));
  stop->set_task_index(task);
  stop->set_grace_period_s(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(StopGrace(e)).count()));
  n->second->sink->Send(d);
}

Duration ControlPlane::StopGrace(const JobEntry& e) const {
  return e.rec.spec.preempt_notice > Duration(0) ? e.rec.spec.preempt_notice
                                                 : options_.stop_grace;
}

void ControlPlane::HandleCheckpoint(NodeEntry& node, const v1::CheckpointReport& cr, Time now) {
  uint64_t raw = 0;
  auto [p, ec] = std::from_chars(cr.job_id().data(), cr.job_id().data() + cr.job_id().size(),
                                 raw);
  auto it = ec == std::errc() ? jobs_.find(JobId(raw)) : jobs_.end();
  if (it == jobs_.end()) return;
  JobEntry& e = *it->second;
  if (cr.attempt() < 1 || cr.attempt() > static_cast<int32_t>(e.rec.attempts.size())) return;
  const model::Attempt& a = e.rec.attempts[static_cast<size_t>(cr.attempt() - 1)];
  if (cr.task_index() < 0 || cr.task_index() >= static_cast<int32_t>(a.placements.size()) ||
      a.placements[static_cast<size_t>(cr.task_index())].node != node.info.name()) {
    spdlog::warn("agent {} reported a checkpoint for task {}/{} of job {} that is not placed "
                 "there",
                 node.info.name(), cr.attempt(), cr.task_index(), e.rec.id);
    return;
  }
  // The file's mtime is the agent's clock: never later than ours.
  // (Clamped before the conversion to microseconds, which would overflow for huge values.)
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const Time t = Time(std::chrono::milliseconds(std::clamp<int64_t>(cr.mtime_ms(), 0, now_ms)));
  auto changed = model::RecordCheckpoint(e.rec, cr.attempt(), cr.path(), t);
  if (!changed.ok()) {
    spdlog::warn("agent {}: checkpoint of job {} refused: {}", node.info.name(), e.rec.id,
                 changed.status().message());
    return;
  }
  if (!*changed) return;
  spdlog::info("job {}: checkpoint {} (attempt {}, seen by agent {})", e.rec.id, cr.path(),
               cr.attempt(), node.info.name());
  Persist(e, v1::JobEvent::KIND_STATE_CHANGED);
}

void ControlPlane::PersistNode(const NodeEntry& node, std::optional<store::Op> audit) {
  v1::Node stored = node.info;
  stored.clear_last_heartbeat();
  if (node.drained) {
    stored.set_state(v1::NODE_STATE_DRAINED);
    stored.set_reason(node.drain_reason);
  }
  // Health drains survive a restart: the node's, and each drained GPU's reason.
  stored.set_health_drain(node.health_drain);
  stored.set_health_drain_by_check(node.drained_by_check);
  for (v1::Gpu& g : *stored.mutable_gpus()) {
    auto h = node.gpu_health.find(g.index());
    g.set_drained(h != node.gpu_health.end());
    g.set_health_reason(h != node.gpu_health.end() ? h->second : "");
  }
  std::vector<store::Op> ops(1);
  ops[0].key = NodeKey(node.info.name());
  ops[0].value = stored.SerializeAsString();
  if (audit) ops.push_back(*std::move(audit));
  committer_.Commit(std::move(ops), [](const Status& s) {
    if (!s.ok()) spdlog::error("cannot persist a node record: {}", s.message());
  });
}

// ---------------------------------------------------------------------------------------
// Views.

std::vector<v1::Node> ControlPlane::Nodes(std::optional<v1::NodeState> state) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Node> out;
  for (const auto& [name, n] : nodes_) {
    v1::Node node = RenderNode(*n);
    if (state && node.state() != *state) continue;
    out.push_back(std::move(node));
  }
  return out;
}

std::vector<v1::Queue> ControlPlane::Queues() const {
  std::lock_guard<std::mutex> lock(mu_);
  struct Usage {
    int32_t pending = 0;
    int32_t running = 0;
    int64_t gpu_milli = 0;  // a share or a MIG instance counts for its part of a GPU
  };
  std::map<std::string, Usage> by_queue;
  by_queue["default"];
  const std::vector<model::QueueSpec> tree = queue_tree_.Specs();
  for (const auto& q : tree) by_queue[q.name];
  for (JobId id : active_) {
    const JobEntry& e = *jobs_.at(id);
    Usage& u = by_queue[e.rec.spec.queue];
    if (e.rec.state == model::JobState::kPending) {
      u.pending++;
    } else {
      u.running++;
      const model::JobSpec& s = e.rec.spec;
      u.gpu_milli += s.tasks * (s.mig_profile.empty()
                                    ? s.gpus_per_task.milli()
                                    : s.gpus_per_task.whole() * model::MigProfileMilli(s.mig_profile));
    }
  }
  std::vector<v1::Queue> out;
  for (const auto& [name, u] : by_queue) {
    v1::Queue q;
    q.set_name(name);
    q.set_weight(1);
    for (const auto& spec : tree) {
      if (spec.name == name) q = QueueToProto(spec);
    }
    q.set_pending_jobs(u.pending);
    q.set_running_jobs(u.running);
    q.set_gpus_in_use(Quantity::FromMilli(u.gpu_milli).ToString());
    out.push_back(std::move(q));
  }
  return out;
}

Result<ControlPlane::LogTarget> ControlPlane::FindLogs(JobId job, int32_t task,
                                                       int32_t attempt) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return NotFound(fmt::format("job {} not found", job));
  const JobEntry& e = *it->second;
  if (e.rec.attempts.empty()) {
    return FailedPrecondition(fmt::format("job {} has not started yet: no logs", job));
  }
  if (attempt < 0 || attempt > static_cast<int32_t>(e.rec.attempts.size())) {
    return InvalidArgument(fmt::format("attempt: job {} has attempts 1..{}", job,
                                       e.rec.attempts.size()));
  }
  const model::Attempt& a =
      e.rec.attempts[static_cast<size_t>((attempt == 0 ? e.rec.attempts.size() : attempt) - 1)];
  if (task < 0 || task >= static_cast<int32_t>(a.placements.size())) {
    return InvalidArgument(fmt::format("task_index: job {} has tasks 0..{}", job,
                                       a.placements.size() - 1));
  }
  auto n = nodes_.find(a.placements[static_cast<size_t>(task)].node);
  if (n == nodes_.end() || n->second->log_endpoint.empty()) {
    return FailedPrecondition(fmt::format("the agent of node {} serves no logs",
                                          a.placements[static_cast<size_t>(task)].node));
  }
  return LogTarget{n->second->log_endpoint, model::TaskAttempt(a, task), n->second->logs_token, n->first};
}

}  // namespace baton::server
