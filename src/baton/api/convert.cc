#include "baton/api/convert.h"

#include <charconv>
#include <chrono>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "baton/model/restart_policy.h"

namespace baton::api {
namespace {

// ValidateJobSpec names model fields ("gpus: ..."); rewrite the leading field to its proto
// path ("spec.gpus_per_task: ...").
Status ToProtoFieldPath(const Status& s) {
  if (s.ok()) return s;
  std::string_view msg = s.message();
  std::string field;
  std::string_view rest = msg;
  if (auto colon = msg.find(':'); colon != std::string_view::npos &&
                                  msg.substr(0, colon).find(' ') == std::string_view::npos) {
    field = std::string(msg.substr(0, colon));
    rest = msg.substr(colon + 1);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  if (field == "gpus") field = "gpus_per_task";
  if (field == "mig") field = "mig_profile";
  if (field == "runtime") field = "estimated_runtime_s";
  if (field == "simulate_duration") field = "simulate_duration_ms";
  if (field == "cpus") field = "cpus_per_task";
  if (field == "memory") field = "memory_bytes_per_task";
  if (field == "restart_backoff") field = "restart_backoff_ms";
  if (field == "preempt_notice") field = "preempt_notice_s";
  if (field.empty()) return Status(s.code(), fmt::format("spec: {}", msg));
  return Status(s.code(), fmt::format("spec.{}: {}", field, rest));
}

Status CheckNames(const google::protobuf::RepeatedPtrField<std::string>& names,
                  std::string_view field) {
  for (int i = 0; i < names.size(); ++i) {
    if (names.Get(i).empty()) {
      return InvalidArgument(fmt::format("spec.{}[{}]: must not be empty", field, i));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<model::JobSpec> FromProto(const v1::JobSpec& proto) {
  model::JobSpec spec;
  spec.name = proto.name();
  if (!proto.queue().empty()) spec.queue = proto.queue();
  spec.priority = proto.priority();
  if (proto.tasks() != 0) spec.tasks = proto.tasks();
  if (!proto.gpus_per_task().empty()) {
    auto q = Quantity::Parse(proto.gpus_per_task());
    if (!q.ok()) return q.status().WithPrefix("spec.gpus_per_task");
    spec.gpus_per_task = *q;
  }
  spec.mig_profile = proto.mig_profile();
  BATON_RETURN_IF_ERROR(CheckNames(proto.gpu_types(), "gpu_types"));
  BATON_RETURN_IF_ERROR(CheckNames(proto.gpu_preference(), "gpu_preference"));
  spec.gpu_types.assign(proto.gpu_types().begin(), proto.gpu_types().end());
  spec.gpu_preference.assign(proto.gpu_preference().begin(), proto.gpu_preference().end());
  spec.gang = proto.has_gang() ? proto.gang() : true;
  const int64_t runtime_s = proto.estimated_runtime_s();
  if (runtime_s < 0) {
    return InvalidArgument(
        fmt::format("spec.estimated_runtime_s: must be positive (0 = unknown), got {}",
                    runtime_s));
  }
  if (runtime_s > kMaxEstimatedRuntimeS) {
    return InvalidArgument(fmt::format("spec.estimated_runtime_s: at most {}, got {}",
                                       kMaxEstimatedRuntimeS, runtime_s));
  }
  if (runtime_s > 0) spec.estimated_runtime = Seconds(runtime_s);
  spec.command.assign(proto.command().begin(), proto.command().end());
  for (const auto& [k, v] : proto.env()) spec.env[k] = v;
  if (proto.ranks_per_task() != 0) spec.ranks_per_task = proto.ranks_per_task();
  if (proto.max_attempts() != 0) spec.max_attempts = proto.max_attempts();
  if (proto.simulate_duration_ms() < 0 ||
      proto.simulate_duration_ms() > kMaxEstimatedRuntimeS * 1000) {
    return InvalidArgument(fmt::format(
        "spec.simulate_duration_ms: must be between 0 and {}, got {}",
        kMaxEstimatedRuntimeS * 1000, proto.simulate_duration_ms()));
  }
  spec.simulate_duration = std::chrono::milliseconds(proto.simulate_duration_ms());
  if (!proto.cpus_per_task().empty()) {
    auto q = Quantity::Parse(proto.cpus_per_task());
    if (!q.ok()) return q.status().WithPrefix("spec.cpus_per_task");
    spec.cpus_per_task = *q;
  }
  spec.memory_bytes_per_task = proto.memory_bytes_per_task();
  // Range-checked before the conversion to microseconds, which would overflow for huge
  // values (UB that UBSan reports in fuzz/control_plane_fuzzer.cc); ValidateJobSpec applies
  // the real limit.
  const int64_t backoff_ms = proto.restart_backoff_ms();
  if (backoff_ms < 0 || backoff_ms > kMaxEstimatedRuntimeS * 1000) {
    return InvalidArgument(fmt::format(
        "spec.restart_backoff_ms: must be between 0 and {} (1h), got {}",
        std::chrono::duration_cast<std::chrono::milliseconds>(model::kMaxRestartBackoff).count(),
        backoff_ms));
  }
  spec.restart_backoff = std::chrono::milliseconds(backoff_ms);
  spec.preempt_notice = Seconds(proto.preempt_notice_s());
  switch (proto.restart_scope()) {
    case v1::RESTART_SCOPE_UNSPECIFIED: spec.restart_scope = model::RestartScope::kDefault; break;
    case v1::RESTART_SCOPE_ALL_TASKS: spec.restart_scope = model::RestartScope::kAllTasks; break;
    case v1::RESTART_SCOPE_FAILED_TASKS:
      spec.restart_scope = model::RestartScope::kFailedTasks;
      break;
    default:
      return InvalidArgument(fmt::format("spec.restart_scope: {} is not a restart scope",
                                         static_cast<int>(proto.restart_scope())));
  }
  BATON_RETURN_IF_ERROR(ToProtoFieldPath(model::ValidateJobSpec(spec)));
  return spec;
}

v1::JobSpec ToProto(const model::JobSpec& spec) {
  v1::JobSpec proto;
  proto.set_name(spec.name);
  proto.set_queue(spec.queue);
  proto.set_priority(spec.priority);
  proto.set_tasks(spec.tasks);
  proto.set_gpus_per_task(spec.gpus_per_task.ToString());
  proto.set_mig_profile(spec.mig_profile);
  for (const auto& t : spec.gpu_types) proto.add_gpu_types(t);
  for (const auto& t : spec.gpu_preference) proto.add_gpu_preference(t);
  proto.set_gang(spec.gang);
  if (spec.estimated_runtime) {
    proto.set_estimated_runtime_s(
        std::chrono::ceil<std::chrono::seconds>(*spec.estimated_runtime).count());
  }
  for (const auto& c : spec.command) proto.add_command(c);
  for (const auto& [k, v] : spec.env) (*proto.mutable_env())[k] = v;
  proto.set_ranks_per_task(spec.ranks_per_task);
  proto.set_max_attempts(spec.max_attempts);
  proto.set_simulate_duration_ms(
      std::chrono::ceil<std::chrono::milliseconds>(spec.simulate_duration).count());
  if (spec.cpus_per_task != Quantity()) proto.set_cpus_per_task(spec.cpus_per_task.ToString());
  proto.set_memory_bytes_per_task(spec.memory_bytes_per_task);
  proto.set_restart_backoff_ms(
      std::chrono::ceil<std::chrono::milliseconds>(spec.restart_backoff).count());
  proto.set_preempt_notice_s(static_cast<int32_t>(
      std::chrono::ceil<std::chrono::seconds>(spec.preempt_notice).count()));
  switch (spec.restart_scope) {
    case model::RestartScope::kDefault: break;
    case model::RestartScope::kAllTasks: proto.set_restart_scope(v1::RESTART_SCOPE_ALL_TASKS); break;
    case model::RestartScope::kFailedTasks:
      proto.set_restart_scope(v1::RESTART_SCOPE_FAILED_TASKS);
      break;
  }
  return proto;
}

v1::Node ToProto(const model::Node& node, const model::Cluster& cluster,
                 v1::NodeState state) {
  v1::Node proto;
  proto.set_name(node.name);
  proto.set_pool(node.pool);
  if (node.rack.valid()) proto.set_rack(cluster.rack(node.rack).name);
  proto.set_state(state);
  proto.set_cpus(node.cpus);
  proto.set_memory_mib(node.memory_mib);
  for (const auto& g : node.gpus) {
    v1::Gpu* gpu = proto.add_gpus();
    gpu->set_index(g.index);
    gpu->set_uuid(g.uuid);
    if (g.type.valid()) gpu->set_model(cluster.gpu_type(g.type).name);
    gpu->set_memory_mib(g.memory_mib);
    gpu->set_nvlink_domain(g.domain.valid() ? static_cast<int32_t>(g.domain.value()) : -1);
  }
  return proto;
}

namespace {

google::protobuf::Timestamp ToTimestamp(Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      t.time_since_epoch().count());
}

Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return Time(std::chrono::microseconds(
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts)));
}

model::AttemptEndReason EndReasonFromName(std::string_view name, bool* ok) {
  using R = model::AttemptEndReason;
  *ok = true;
  for (R r : {R::kNone, R::kSucceeded, R::kTaskFailed, R::kNodeLost, R::kPreempted,
              R::kCancelled, R::kStartTimeout}) {
    if (name == model::AttemptEndReasonName(r)) return r;
  }
  if (name.empty()) return R::kNone;
  *ok = false;
  return R::kNone;
}

}  // namespace

v1::JobState ToProto(model::JobState state) {
  switch (state) {
    case model::JobState::kPending: return v1::JOB_STATE_PENDING;
    case model::JobState::kScheduled: return v1::JOB_STATE_SCHEDULED;
    case model::JobState::kStarting: return v1::JOB_STATE_STARTING;
    case model::JobState::kRunning: return v1::JOB_STATE_RUNNING;
    case model::JobState::kSucceeded: return v1::JOB_STATE_SUCCEEDED;
    case model::JobState::kFailed: return v1::JOB_STATE_FAILED;
    case model::JobState::kCancelled: return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

Result<model::JobState> FromProto(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_PENDING: return model::JobState::kPending;
    case v1::JOB_STATE_SCHEDULED: return model::JobState::kScheduled;
    case v1::JOB_STATE_STARTING: return model::JobState::kStarting;
    case v1::JOB_STATE_RUNNING: return model::JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED: return model::JobState::kSucceeded;
    case v1::JOB_STATE_FAILED: return model::JobState::kFailed;
    case v1::JOB_STATE_CANCELLED: return model::JobState::kCancelled;
    default: break;
  }
  return InvalidArgument(fmt::format("state: {} is not a job state", static_cast<int>(state)));
}

v1::Job ToProto(const model::JobRecord& job) {
  v1::Job proto;
  proto.set_id(std::to_string(job.id.value()));
  *proto.mutable_spec() = ToProto(job.spec);
  proto.mutable_spec()->set_max_attempts(job.max_attempts);
  proto.set_state(ToProto(job.state));
  proto.set_reason(job.reason);
  *proto.mutable_submit_time() = ToTimestamp(job.submit_time);
  for (const model::Attempt& a : job.attempts) {
    v1::Attempt* pa = proto.add_attempts();
    pa->set_number(a.number);
    for (size_t i = 0; i < a.placements.size(); ++i) {
      v1::TaskAssignment* ta = pa->add_assignments();
      ta->set_task_index(static_cast<int32_t>(i));
      ta->set_node(a.placements[i].node);
      for (int32_t g : a.placements[i].gpus) ta->add_gpu_indices(g);
      for (const auto& m : a.placements[i].mig_devices) ta->add_mig_devices(m);
    }
    *pa->mutable_start_time() = ToTimestamp(a.start_time);
    if (a.end_time) *pa->mutable_end_time() = ToTimestamp(*a.end_time);
    pa->set_exit_code(a.exit_code.value_or(0));
    if (a.end_reason != model::AttemptEndReason::kNone) {
      pa->set_end_reason(std::string(model::AttemptEndReasonName(a.end_reason)));
    }
    pa->set_counts_toward_limit(a.counts_toward_limit);
    if (a.failed_task) pa->set_failed_task(*a.failed_task);
    for (size_t t = 0; t < a.task_exit_codes.size(); ++t) {
      if (!a.task_exit_codes[t]) continue;
      v1::TaskExit* te = pa->add_task_exits();
      te->set_task_index(static_cast<int32_t>(t));
      te->set_exit_code(*a.task_exit_codes[t]);
    }
    pa->set_resumed_from(a.resumed_from);
    if (a.last_checkpoint) *pa->mutable_last_checkpoint_time() = ToTimestamp(*a.last_checkpoint);
    pa->set_last_checkpoint_path(a.last_checkpoint_path);
    pa->set_work_lost_s(ToSeconds(model::WorkLost(a)));
    for (int32_t n : a.task_attempts) pa->add_task_attempts(n);
  }
  if (model::HasTaskRestarts(job)) {
    for (const model::TaskRun& r : model::TaskRuns(job)) {
      v1::TaskRun* pr = proto.add_task_runs();
      pr->set_task_index(r.task);
      pr->set_attempt(r.attempt);
      pr->set_node(r.node);
      *pr->mutable_start_time() = ToTimestamp(r.start);
      if (r.end) *pr->mutable_end_time() = ToTimestamp(*r.end);
      pr->set_how_ended(r.how_ended);
      if (r.exit_code) pr->set_exit_code(*r.exit_code);
    }
  }
  if (job.checkpoint) {
    v1::Checkpoint* c = proto.mutable_checkpoint();
    c->set_path(job.checkpoint->path);
    *c->mutable_time() = ToTimestamp(job.checkpoint->time);
    c->set_attempt(job.checkpoint->attempt);
  }
  if (job.retry_after) *proto.mutable_retry_after() = ToTimestamp(*job.retry_after);
  proto.set_user(job.user);
  if (!job.attempts.empty()) {
    *proto.mutable_start_time() = ToTimestamp(job.attempts.front().start_time);
    if (model::IsTerminal(job.state) && job.attempts.back().end_time) {
      *proto.mutable_end_time() = ToTimestamp(*job.attempts.back().end_time);
    }
  }
  return proto;
}

Result<model::JobRecord> FromProto(const v1::Job& proto) {
  model::JobRecord job;
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(proto.id().data(), proto.id().data() + proto.id().size(), id);
  if (ec != std::errc() || ptr != proto.id().data() + proto.id().size() || id == 0) {
    return InvalidArgument(fmt::format("job.id: '{}' is not a job id", proto.id()));
  }
  job.id = JobId(id);
  auto spec = FromProto(proto.spec());
  if (!spec.ok()) return spec.status().WithPrefix("job");
  job.spec = *std::move(spec);
  job.max_attempts = job.spec.max_attempts;
  auto state = FromProto(proto.state());
  if (!state.ok()) return state.status().WithPrefix("job");
  job.state = *state;
  job.reason = proto.reason();
  job.submit_time = FromTimestamp(proto.submit_time());
  for (int i = 0; i < proto.attempts_size(); ++i) {
    const v1::Attempt& pa = proto.attempts(i);
    const std::string path = fmt::format("job.attempts[{}]", i);
    model::Attempt a;
    a.number = pa.number();
    if (a.number != i + 1) {
      return InvalidArgument(fmt::format("{}.number: expected {}, got {}", path, i + 1, a.number));
    }
    for (int t = 0; t < pa.assignments_size(); ++t) {
      const v1::TaskAssignment& ta = pa.assignments(t);
      if (ta.task_index() != t) {
        return InvalidArgument(fmt::format("{}.assignments[{}].task_index: expected {}", path, t, t));
      }
      if (ta.mig_devices_size() != 0 && ta.mig_devices_size() != ta.gpu_indices_size()) {
        return InvalidArgument(fmt::format(
            "{}.assignments[{}].mig_devices: {} UUIDs for {} GPU indices", path, t,
            ta.mig_devices_size(), ta.gpu_indices_size()));
      }
      a.placements.push_back({ta.node(),
                              {ta.gpu_indices().begin(), ta.gpu_indices().end()},
                              {ta.mig_devices().begin(), ta.mig_devices().end()}});
    }
    a.start_time = FromTimestamp(pa.start_time());
    if (pa.has_end_time()) a.end_time = FromTimestamp(pa.end_time());
    bool ok = false;
    a.end_reason = EndReasonFromName(pa.end_reason(), &ok);
    if (!ok) {
      return InvalidArgument(
          fmt::format("{}.end_reason: '{}' is not an end reason", path, pa.end_reason()));
    }
    if (a.end_reason == model::AttemptEndReason::kTaskFailed) a.exit_code = pa.exit_code();
    a.counts_toward_limit = pa.counts_toward_limit();
    if (pa.has_failed_task()) a.failed_task = pa.failed_task();
    a.task_exit_codes.assign(static_cast<size_t>(job.spec.tasks), std::nullopt);
    for (const v1::TaskExit& te : pa.task_exits()) {
      if (te.task_index() < 0 || te.task_index() >= job.spec.tasks) {
        return InvalidArgument(fmt::format("{}.task_exits: task {} out of range", path,
                                           te.task_index()));
      }
      a.task_exit_codes[static_cast<size_t>(te.task_index())] = te.exit_code();
    }
    if (pa.task_attempts_size() != 0) {
      if (pa.task_attempts_size() != pa.assignments_size()) {
        return InvalidArgument(fmt::format("{}.task_attempts: {} entries for {} tasks", path,
                                           pa.task_attempts_size(), pa.assignments_size()));
      }
      for (int t = 0; t < pa.task_attempts_size(); ++t) {
        if (pa.task_attempts(t) < 1 || pa.task_attempts(t) > a.number) {
          return InvalidArgument(fmt::format("{}.task_attempts[{}]: {} is not an attempt up to {}",
                                             path, t, pa.task_attempts(t), a.number));
        }
      }
      a.task_attempts.assign(pa.task_attempts().begin(), pa.task_attempts().end());
    }
    a.resumed_from = pa.resumed_from();
    if (pa.has_last_checkpoint_time()) a.last_checkpoint = FromTimestamp(pa.last_checkpoint_time());
    a.last_checkpoint_path = pa.last_checkpoint_path();
    job.attempts.push_back(std::move(a));
  }
  if (proto.has_checkpoint()) {
    const v1::Checkpoint& c = proto.checkpoint();
    if (c.path().empty() || c.attempt() < 1 || c.attempt() > proto.attempts_size()) {
      return InvalidArgument(fmt::format(
          "job.checkpoint: path '{}' of attempt {} (the job has {} attempts)", c.path(),
          c.attempt(), proto.attempts_size()));
    }
    job.checkpoint = model::JobRecord::Checkpoint{c.path(), FromTimestamp(c.time()), c.attempt()};
  }
  if (proto.has_retry_after()) job.retry_after = FromTimestamp(proto.retry_after());
  job.user = proto.user();
  return job;
}

v1::Queue ToProto(const model::QueueSpec& queue) {
  v1::Queue proto;
  proto.set_name(queue.name);
  proto.set_parent(queue.parent);
  if (queue.quota_gpus) proto.set_quota_gpus(queue.quota_gpus->ToString());
  if (queue.limit_gpus) proto.set_limit_gpus(queue.limit_gpus->ToString());
  proto.set_weight(queue.weight);
  proto.set_priority(queue.priority);
  return proto;
}

}  // namespace baton::api
