// Agents' oversized messages (agent_message_limits.h): refused with an error naming the
// field and the limit; the offending agent's stream ends, the control plane and every
// other agent carry on.
#include "baton/server/agent_message_limits.h"

#include <gtest/gtest.h>

#include "baton/common/limits.h"
#include "baton/server/control_plane_fixture.h"

namespace baton::server {
namespace {

using testing_fixture::ControlPlaneTest;
using testing_fixture::MakeRegister;
using testing_fixture::RecordingSink;

TEST(AgentMessageLimitsTest, NamesFieldAndLimit) {
  v1::AgentMessage m;
  for (int i = 0; i <= limits::kMaxTelemetryGpus; ++i) m.mutable_heartbeat()->add_gpus();
  EXPECT_EQ(CheckAgentMessageLimits(m).message(), "heartbeat.gpus: 65 entries; at most 64");

  m.Clear();
  m.mutable_heartbeat()->set_health_check_error(std::string(limits::kMaxAgentText + 1, 'x'));
  EXPECT_EQ(CheckAgentMessageLimits(m).message(),
            "heartbeat.health_check_error: 4097 bytes; at most 4096");

  m.Clear();
  m.mutable_heartbeat()->add_gpus();
  for (int i = 0; i <= limits::kMaxGpuProcesses; ++i) {
    m.mutable_heartbeat()->mutable_gpus(0)->add_processes();
  }
  EXPECT_EQ(CheckAgentMessageLimits(m).message(),
            "heartbeat.gpus[0].processes: 1025 entries; at most 1024");

  m.Clear();
  m.mutable_gpu_event()->set_description(std::string(5000, 'd'));
  EXPECT_EQ(CheckAgentMessageLimits(m).message(),
            "gpu_event.description: 5000 bytes; at most 4096");

  m.Clear();
  m.mutable_task_status()->set_job_id(std::string(300, '1'));
  EXPECT_EQ(CheckAgentMessageLimits(m).message(), "task_status.job_id: 300 bytes; at most 253");

  v1::Register reg = MakeRegister("n1", 2);
  reg.mutable_inventory()->mutable_gpus(1)->set_pci_bus_id(std::string(300, 'p'));
  EXPECT_EQ(CheckRegisterLimits(reg).message(),
            "register.inventory.gpus[1].pci_bus_id: 300 bytes; at most 253");
  reg = MakeRegister("n1", 1);
  for (int i = 0; i <= limits::kMaxReportedTasks; ++i) reg.add_tasks()->set_job_id("1");
  EXPECT_EQ(CheckRegisterLimits(reg).message(), "register.tasks: 10001 entries; at most 10000");
  reg = MakeRegister("n1", 1);
  reg.mutable_inventory()->mutable_host()->add_numa_nodes()->set_cpus(std::string(5000, '1'));
  EXPECT_EQ(CheckRegisterLimits(reg).message(),
            "register.inventory.host.numa_nodes[0].cpus: 5000 bytes; at most 4096");
  EXPECT_TRUE(CheckRegisterLimits(MakeRegister("n1", 8)).ok());
}

class AgentLimitsControlPlaneTest : public ControlPlaneTest {};

TEST_F(AgentLimitsControlPlaneTest, OversizedMessageEndsOnlyThatAgentsStream) {
  auto sink_a = std::make_shared<RecordingSink>();
  auto sink_b = std::make_shared<RecordingSink>();
  const int64_t a = Connect("node-a", 2, sink_a);
  const int64_t b = Connect("node-b", 2, sink_b);

  v1::AgentMessage big;
  for (int i = 0; i < 100; ++i) big.mutable_heartbeat()->add_gpus()->set_index(i);
  Status refused = cp_->OnAgentMessage(a, big);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(), "heartbeat.gpus: 100 entries; at most 64");
  // What AgentService does when a message is refused: the stream ends.
  cp_->OnAgentDisconnected(a);

  // The other agent is untouched and work still gets placed on it.
  Heartbeat(b);
  auto job = SubmitSync(testing_fixture::Spec(1, 2));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  Tick();
  auto starts = testing_fixture::Starts(sink_b->Take());
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].job_id(), job->id());

  // A register over the limits is refused before anything is recorded.
  v1::Register reg = MakeRegister("node-c", 1);
  reg.set_rack(std::string(1000, 'r'));
  auto c = cp_->RegisterAgent(reg, std::make_shared<RecordingSink>());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "register.rack: 1000 bytes; at most 253");
  EXPECT_EQ(cp_->Nodes(std::nullopt).size(), 2u);
}

}  // namespace
}  // namespace baton::server
