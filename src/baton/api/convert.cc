#include "baton/api/convert.h"

#include <chrono>
#include <string>
#include <string_view>

#include <fmt/format.h>

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
  if (field == "runtime") field = "estimated_runtime_s";
  if (field == "simulate_duration") field = "simulate_duration_ms";
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
