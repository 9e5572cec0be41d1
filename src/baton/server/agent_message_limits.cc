#include "baton/server/agent_message_limits.h"

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "baton/common/limits.h"
#include "baton/model/cluster.h"

namespace baton::server {
namespace {

Status Text(std::string_view field, const std::string& value, size_t limit) {
  if (value.size() <= limit) return Status::Ok();
  return InvalidArgument(fmt::format("{}: {} bytes; at most {}", field, value.size(), limit));
}

Status Count(std::string_view field, int count, int limit) {
  if (count <= limit) return Status::Ok();
  return InvalidArgument(fmt::format("{}: {} entries; at most {}", field, count, limit));
}

Status CheckTaskStatus(const std::string& path, const v1::TaskStatus& ts) {
  BATON_RETURN_IF_ERROR(Text(path + ".job_id", ts.job_id(), limits::kMaxNameLength));
  return Text(path + ".message", ts.message(), limits::kMaxAgentText);
}

Status CheckGpu(const std::string& path, const v1::AgentGpu& g) {
  using limits::kMaxNameLength;
  BATON_RETURN_IF_ERROR(Text(path + ".uuid", g.uuid(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text(path + ".model", g.model(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text(path + ".pci_bus_id", g.pci_bus_id(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text(path + ".error", g.error(), limits::kMaxAgentText));
  BATON_RETURN_IF_ERROR(Count(path + ".nvlink_peers", g.nvlink_peers_size(), limits::kMaxGpuPeers));
  BATON_RETURN_IF_ERROR(Count(path + ".pcie_path", g.pcie_path_size(), limits::kMaxGpuPeers));
  for (int j = 0; j < g.pcie_path_size(); ++j) {
    BATON_RETURN_IF_ERROR(Text(fmt::format("{}.pcie_path[{}]", path, j), g.pcie_path(j),
                               kMaxNameLength));
  }
  BATON_RETURN_IF_ERROR(Count(path + ".mig_devices", g.mig_devices_size(), limits::kMaxMigDevices));
  for (int j = 0; j < g.mig_devices_size(); ++j) {
    const std::string m = fmt::format("{}.mig_devices[{}]", path, j);
    BATON_RETURN_IF_ERROR(Text(m + ".uuid", g.mig_devices(j).uuid(), kMaxNameLength));
    BATON_RETURN_IF_ERROR(Text(m + ".profile", g.mig_devices(j).profile(), kMaxNameLength));
  }
  return Status::Ok();
}

Status CheckHeartbeat(const v1::Heartbeat& hb) {
  BATON_RETURN_IF_ERROR(Count("heartbeat.gpus", hb.gpus_size(), limits::kMaxTelemetryGpus));
  for (int i = 0; i < hb.gpus_size(); ++i) {
    const v1::GpuTelemetry& t = hb.gpus(i);
    const std::string path = fmt::format("heartbeat.gpus[{}]", i);
    BATON_RETURN_IF_ERROR(Text(path + ".uuid", t.uuid(), limits::kMaxNameLength));
    BATON_RETURN_IF_ERROR(Text(path + ".error", t.error(), limits::kMaxAgentText));
    BATON_RETURN_IF_ERROR(
        Count(path + ".processes", t.processes_size(), limits::kMaxGpuProcesses));
    for (int p = 0; p < t.processes_size(); ++p) {
      BATON_RETURN_IF_ERROR(Text(fmt::format("{}.processes[{}].job_id", path, p),
                                 t.processes(p).job_id(), limits::kMaxNameLength));
    }
  }
  return Text("heartbeat.health_check_error", hb.health_check_error(), limits::kMaxAgentText);
}

}  // namespace

Status CheckRegisterLimits(const v1::Register& reg) {
  using limits::kMaxNameLength;
  BATON_RETURN_IF_ERROR(Text("register.node_name", reg.node_name(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text("register.agent_version", reg.agent_version(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text("register.address", reg.address(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text("register.log_endpoint", reg.log_endpoint(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text("register.rack", reg.rack(), kMaxNameLength));
  const v1::Inventory& inv = reg.inventory();
  BATON_RETURN_IF_ERROR(
      Text("register.inventory.driver_version", inv.driver_version(), kMaxNameLength));
  BATON_RETURN_IF_ERROR(Text("register.inventory.gpu_note", inv.gpu_note(), limits::kMaxAgentText));
  BATON_RETURN_IF_ERROR(
      Count("register.inventory.gpus", inv.gpus_size(), model::kMaxGpusPerNode));
  for (int i = 0; i < inv.gpus_size(); ++i) {
    BATON_RETURN_IF_ERROR(CheckGpu(fmt::format("register.inventory.gpus[{}]", i), inv.gpus(i)));
  }
  BATON_RETURN_IF_ERROR(Count("register.inventory.host.numa_nodes", inv.host().numa_nodes_size(),
                              limits::kMaxNumaNodes));
  for (int i = 0; i < inv.host().numa_nodes_size(); ++i) {
    BATON_RETURN_IF_ERROR(Text(fmt::format("register.inventory.host.numa_nodes[{}].cpus", i),
                               inv.host().numa_nodes(i).cpus(), limits::kMaxCpuListLength));
  }
  BATON_RETURN_IF_ERROR(Count("register.tasks", reg.tasks_size(), limits::kMaxReportedTasks));
  for (int i = 0; i < reg.tasks_size(); ++i) {
    BATON_RETURN_IF_ERROR(CheckTaskStatus(fmt::format("register.tasks[{}]", i), reg.tasks(i)));
  }
  return Status::Ok();
}

Status CheckAgentMessageLimits(const v1::AgentMessage& msg) {
  switch (msg.msg_case()) {
    case v1::AgentMessage::kRegister:
      return CheckRegisterLimits(msg.register_());
    case v1::AgentMessage::kHeartbeat:
      return CheckHeartbeat(msg.heartbeat());
    case v1::AgentMessage::kTaskStatus:
      return CheckTaskStatus("task_status", msg.task_status());
    case v1::AgentMessage::kGpuEvent:
      BATON_RETURN_IF_ERROR(Text("gpu_event.uuid", msg.gpu_event().uuid(), limits::kMaxNameLength));
      return Text("gpu_event.description", msg.gpu_event().description(), limits::kMaxAgentText);
    case v1::AgentMessage::kCheckpoint:
      BATON_RETURN_IF_ERROR(
          Text("checkpoint.job_id", msg.checkpoint().job_id(), limits::kMaxNameLength));
      return Text("checkpoint.path", msg.checkpoint().path(), limits::kMaxPathLength);
    default:
      return Status::Ok();
  }
}

}  // namespace baton::server
