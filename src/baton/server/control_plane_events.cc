// ControlPlane: the event hooks (one call per job or node transition) and the dashboard's
// fleet snapshot. Kept apart from the lifecycle code so that the hooks stay one line there.
#include <fmt/format.h>

#include <bit>

#include "baton/server/control_plane.h"
#include "baton/server/control_plane_internal.h"

namespace baton::server {

void ControlPlane::RecordJobEvent(const JobEntry& e, const model::JobEventData* ev,
                                  model::JobState before, Time now) {
  const model::JobState after = e.rec.state;
  v1::Event out;
  out.set_job_id(std::to_string(e.rec.id.value()));
  out.set_queue(e.rec.spec.queue);
  out.set_message(e.rec.reason);
  if (const model::Attempt* a = e.rec.attempts.empty() ? nullptr : &e.rec.attempts.back()) {
    out.set_attempt(a->number);
  }
  auto emit = [&](v1::EventType type) {
    v1::Event copy = out;
    copy.set_type(type);
    events_.Append(std::move(copy), now);
  };
  if (ev == nullptr) {
    out.set_message(fmt::format("submitted to queue {}: {} task(s) x {} GPU(s)",
                                e.rec.spec.queue.empty() ? "default" : e.rec.spec.queue,
                                e.rec.spec.tasks, e.rec.spec.gpus_per_task.ToString()));
    emit(v1::EVENT_TYPE_JOB_SUBMITTED);
    return;
  }
  // The cause.
  switch (ev->event) {
    case model::JobEvent::kScheduled:
      emit(v1::EVENT_TYPE_JOB_SCHEDULED);
      break;
    case model::JobEvent::kStarting:
      break;  // directives went out; "started" follows when every task runs
    case model::JobEvent::kAllTasksRunning:
      emit(v1::EVENT_TYPE_JOB_STARTED);
      break;
    case model::JobEvent::kTaskExited:
      if (ev->exit_code != 0) emit(v1::EVENT_TYPE_JOB_TASK_FAILED);
      break;
    case model::JobEvent::kPreempted:
      emit(v1::EVENT_TYPE_JOB_PREEMPTED);
      break;
    case model::JobEvent::kNodeLost:
      out.set_node(ev->node);
      emit(v1::EVENT_TYPE_JOB_NODE_LOST);
      break;
    case model::JobEvent::kCancelRequested:
      break;  // the outcome below says it
    case model::JobEvent::kStartTimeout:
      emit(v1::EVENT_TYPE_JOB_START_TIMEOUT);
      break;
  }
  // The outcome, when the job left the attempt behind.
  if (after == before) return;
  out.clear_node();
  switch (after) {
    case model::JobState::kPending:
      if (ev->event == model::JobEvent::kPreempted) return;  // its message says requeued
      out.set_message(fmt::format("requeued for attempt {} ({} of {} attempts used)",
                                  model::NextAttemptNumber(e.rec), model::CountedAttempts(e.rec),
                                  e.rec.max_attempts));
      emit(v1::EVENT_TYPE_JOB_RESTARTED);
      return;
    case model::JobState::kSucceeded:
      emit(v1::EVENT_TYPE_JOB_SUCCEEDED);
      return;
    case model::JobState::kFailed:
      emit(v1::EVENT_TYPE_JOB_FAILED);
      return;
    case model::JobState::kCancelled:
      emit(v1::EVENT_TYPE_JOB_CANCELLED);
      return;
    default:
      return;
  }
}

void ControlPlane::RecordNodeEvent(const NodeEntry& node, v1::EventType type,
                                   std::string message) {
  v1::Event out;
  out.set_type(type);
  out.set_node(node.info.name());
  out.set_message(std::move(message));
  events_.Append(std::move(out), clock_->Now());
}

void ControlPlane::RecordNodeStateEvent(const NodeEntry& node) {
  switch (node.state) {
    case v1::NODE_STATE_READY:
      RecordNodeEvent(node, v1::EVENT_TYPE_NODE_READY,
                      node.reason.empty() ? "heartbeating" : node.reason);
      return;
    case v1::NODE_STATE_NOT_READY:
      RecordNodeEvent(node, v1::EVENT_TYPE_NODE_NOT_READY, node.reason);
      return;
    case v1::NODE_STATE_LOST:
      RecordNodeEvent(node, v1::EVENT_TYPE_NODE_LOST, node.reason);
      return;
    case v1::NODE_STATE_DRAINED:
      RecordNodeEvent(node, v1::EVENT_TYPE_NODE_DRAINED, node.reason);
      return;
    default:
      return;
  }
}

std::vector<ControlPlane::NodeSnapshot> ControlPlane::Fleet() const {
  std::vector<v1::Node> nodes = Nodes(std::nullopt);
  std::lock_guard<std::mutex> lock(mu_);
  // Who holds each GPU: the last attempt of every job whose GPUs are still booked.
  std::map<std::string, std::vector<std::pair<int32_t, std::string>>> held;  // node -> (gpu, job)
  for (const auto& [id, ep] : jobs_) {
    const JobEntry& e = *ep;
    if (e.rec.attempts.empty()) continue;
    if (model::OpenAttempt(e.rec) == nullptr && !e.release_pending) continue;
    const std::string job = std::to_string(id.value());
    for (const model::TaskPlacement& tp : e.rec.attempts.back().placements) {
      for (int32_t g : tp.gpus) held[tp.node].emplace_back(g, job);
    }
  }
  std::vector<NodeSnapshot> out;
  out.reserve(nodes.size());
  for (v1::Node& n : nodes) {
    NodeSnapshot s;
    const size_t gpus = static_cast<size_t>(n.gpus_size());
    s.gpu_jobs.assign(gpus, "");
    s.telemetry.resize(gpus);
    if (auto h = held.find(n.name()); h != held.end()) {
      for (const auto& [g, job] : h->second) {
        if (g >= 0 && static_cast<size_t>(g) < gpus) s.gpu_jobs[static_cast<size_t>(g)] = job;
      }
    }
    for (size_t g = 0; g < gpus; ++g) {
      if (auto row = telemetry_.Latest(n.name(), n.gpus(static_cast<int>(g)).uuid())) {
        s.telemetry[g] = row->latest.gpu;
      }
    }
    s.node = std::move(n);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace baton::server
