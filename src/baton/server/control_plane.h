// ControlPlane: batond's brain — jobs, nodes, agents and the scheduling loop, without any
// transport. The gRPC services (grpc_services.h) and tests drive it through plain calls.
//
// What it owns:
//  - every job's JobRecord (model/job_lifecycle.h), changed only through Apply(), and made
//    durable through a GroupCommitter before the change is acknowledged: a submit is
//    answered, a cancel returns, a watcher hears of a change, and a StartTask directive
//    goes to an agent only after the record that explains it is on disk;
//  - the node registry built from agent registrations (ready / not-ready / lost from
//    heartbeats), persisted so a restart can re-book the GPUs of running jobs;
//  - one sched::Scheduler over the registered fleet (rebuilt when the fleet changes), fed
//    by Tick() in rounds.
//
// GPUs of an attempt stay booked until every task of it is confirmed gone (an agent
// reported its exit, or its node was lost), so a retry or the next job never shares a
// GPU with a process that is still being stopped.
//
// Crash safety: Recover() reloads jobs and nodes; agents re-register with the tasks they
// still run and are reconciled: tasks of open attempts are re-adopted, starts that may not
// have been sent are re-sent (agents start a task at most once per attempt), anything
// else is stopped.
//
// Thread-safety: every public method may be called from any thread. Callbacks (done,
// watch functions, AgentSink::Send) are called with the internal lock held or on the
// commit thread; they must not block or call back into the ControlPlane.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/rng.h"
#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/model/cluster.h"
#include "baton/model/job_lifecycle.h"
#include "baton/sched/scheduler.h"
#include "baton/server/events.h"
#include "baton/server/group_commit.h"
#include "baton/store/store.h"
#include "baton/v1/agent.pb.h"
#include "baton/v1/jobs.pb.h"
#include "baton/v1/types.pb.h"

namespace baton::server {

struct ControlPlaneOptions {
  // Order and placement policy, as `baton sim --policy` takes them ("fifo+binpack").
  std::string policy = "fifo+binpack";
  Duration heartbeat_interval = std::chrono::seconds(1);
  // No heartbeat for this long: the node takes no new work.
  Duration not_ready_after = std::chrono::seconds(4);
  // No heartbeat for this long: the node is lost and the attempts on it end.
  Duration lost_after = std::chrono::seconds(10);
  // An attempt that has not reached running by then ends (start-timeout).
  Duration start_timeout = std::chrono::minutes(5);
  // SIGTERM-to-SIGKILL grace given to agents when stopping tasks.
  Duration stop_grace = std::chrono::seconds(10);
  // BATON_CHECKPOINT_DIR = <checkpoint_root>/<job id>; empty = no checkpoint dir.
  std::string checkpoint_root;
  // MASTER_PORT for gangs: base + a hash of (job, attempt) modulo span.
  int32_t master_port_base = 29500;
  int32_t master_port_span = 10000;
  uint64_t seed = 1;
  // Job and node events kept in memory (EventLog); the oldest go first.
  size_t event_history = EventLog::kDefaultCapacity;
};

// The outbound half of one agent's stream. Send must not block (queue and return).
class AgentSink {
 public:
  virtual ~AgentSink() = default;
  virtual void Send(const v1::Directive& directive) = 0;
};

struct JobFilter {
  std::string queue;                     // "" = any
  std::optional<model::JobState> state;  // nullopt = any
  std::optional<JobId> job;              // Watch only
};

struct ControlPlaneStats {
  int64_t submitted = 0;
  int64_t rounds = 0;
  int64_t placed = 0;
  int64_t finished = 0;  // reached a terminal state
  int64_t pending = 0;
  int64_t active = 0;    // not terminal
  int64_t nodes_ready = 0;
  int64_t nodes_not_ready = 0;
  int64_t nodes_lost = 0;
  int64_t gpus_total = 0;
  int64_t gpus_allocated = 0;
  Duration last_round{0};
  GroupCommitStats commits;
};

class ControlPlane {
 public:
  using JobDone = std::function<void(Result<v1::Job>)>;
  using WatchFn = std::function<void(const v1::JobEvent&)>;

  ControlPlane(ControlPlaneOptions options, store::Store* store, Clock* clock);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Loads jobs and nodes from the store. Call once, before anything else.
  Status Recover();

  // Jobs. `done` runs once the job is durable (or with the error). A job that can never
  // fit the registered fleet is refused (FailedPrecondition with the reason); with no
  // node registered yet it waits.
  void Submit(model::JobSpec spec, JobDone done);
  Result<v1::Job> Get(JobId id) const;
  struct Page {
    std::vector<v1::Job> jobs;
    std::string next_page_token;
  };
  // Newest first. page_size 0 = 100; at most 1000.
  Result<Page> List(const JobFilter& filter, int32_t page_size, std::string_view token) const;
  void Cancel(JobId id, std::string reason, JobDone done);
  // Events for jobs matching `filter` from now on, after each change is durable.
  int64_t Watch(JobFilter filter, WatchFn fn);
  void Unwatch(int64_t watch_id);

  // Agents. RegisterAgent validates the inventory (errors name the field), replaces any
  // older stream of the same node, answers with Registered and reconciles the tasks the
  // agent reports. Returns the session id that later calls name.
  Result<int64_t> RegisterAgent(const v1::Register& reg, std::shared_ptr<AgentSink> sink);
  // Messages of a session that is no longer the node's current one are ignored.
  Status OnAgentMessage(int64_t session, const v1::AgentMessage& msg);
  void OnAgentDisconnected(int64_t session);

  // One pass of the loop: node and start timeouts, retries of failed writes, a fleet
  // rebuild if agents came or changed, and a scheduling round.
  void Tick();
  // Blocks until something happened that a Tick should handle, or `timeout` passed.
  void WaitForWork(std::chrono::milliseconds timeout);
  // Wakes WaitForWork (shutdown).
  void Wake();
  // Waits until every write enqueued so far is durable and its callbacks ran. Must not be
  // called from a callback.
  void Flush();

  std::vector<v1::Node> Nodes(std::optional<v1::NodeState> state) const;
  std::vector<v1::Queue> Queues() const;
  // Where the output of (job, task) lives: the agent's AgentLogs endpoint and the attempt
  // number (attempt 0 = the latest).
  struct LogTarget {
    std::string endpoint;
    int32_t attempt = 0;
  };
  Result<LogTarget> FindLogs(JobId job, int32_t task, int32_t attempt) const;
  ControlPlaneStats Stats() const;

  // Job and node events (scheduled, started, preempted, node lost, ... and why).
  EventLog& events() { return events_; }
  // The dashboard's view of one node: Nodes()'s record plus, per GPU index, the job that
  // holds the GPU ("" = free) and the GPU's last reported telemetry (zeros if none).
  struct NodeSnapshot {
    v1::Node node;
    std::vector<std::string> gpu_jobs;
    std::vector<v1::GpuTelemetry> telemetry;
  };
  std::vector<NodeSnapshot> Fleet() const;  // control_plane_events.cc

 private:
  struct JobEntry;
  struct NodeEntry;
  using Action = std::function<void()>;

  // All private methods expect mu_ held.
  void Persist(JobEntry& e, v1::JobEvent::Kind kind, Action on_durable = {});
  void OnPersisted(JobId id, const Status& s, const v1::JobEvent& ev, const Action& on_durable);
  void Publish(const v1::JobEvent& ev);
  bool Transition(JobEntry& e, const model::JobEventData& ev, Time now);
  void AfterAttemptEnded(JobEntry& e, bool scheduler_requeued);
  void TaskGone(JobEntry& e, int32_t attempt, int32_t task);
  void Release(JobEntry& e);
  void SubmitToScheduler(JobEntry& e, Time now);
  sched::JobRequest MakeRequest(const JobEntry& e) const;
  void SendStarts(JobId id, int32_t attempt, const std::vector<int32_t>& only_tasks);
  void SendStop(JobEntry& e, int32_t task);
  v1::StartTask MakeStart(const JobEntry& e, int32_t task) const;
  void HandleTaskStatus(NodeEntry& node, const v1::TaskStatus& ts, Time now);
  void Reconcile(NodeEntry& node, const v1::Register& reg, Time now);
  void NodeLost(NodeEntry& node, Time now, const std::string& why);
  void SetNodeState(NodeEntry& node, v1::NodeState state, std::string reason);
  void RebuildScheduler(Time now);
  void RunRound(Time now);
  void CheckTimeouts(Time now);
  void PersistNode(const NodeEntry& node);
  v1::Job Render(const JobEntry& e, Time now) const;
  // Event hooks (control_plane_events.cc): one call per lifecycle transition.
  // `ev` null = the job was just submitted.
  void RecordJobEvent(const JobEntry& e, const model::JobEventData* ev, model::JobState before,
                      Time now);
  void RecordNodeEvent(const NodeEntry& node, v1::EventType type, std::string message);
  void RecordNodeStateEvent(const NodeEntry& node);  // after node.state changed
  bool Matches(const JobFilter& f, const JobEntry& e) const;

  const ControlPlaneOptions options_;
  store::Store* store_;
  Clock* clock_;
  GroupCommitter committer_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  bool work_ = false;

  std::map<JobId, std::unique_ptr<JobEntry>> jobs_;
  std::set<JobId> active_;     // not terminal
  std::set<JobId> starting_;   // state starting: watched for start timeouts
  std::set<JobId> retry_persist_;
  uint64_t next_job_id_ = 1;
  std::map<std::string, std::unique_ptr<NodeEntry>> nodes_;  // by name
  std::map<int64_t, NodeEntry*> sessions_;
  int64_t next_session_ = 1;

  std::unique_ptr<model::Cluster> cluster_;
  std::unique_ptr<sched::Scheduler> sched_;
  std::map<std::string, NodeId> node_ids_;  // name -> id in cluster_
  bool fleet_dirty_ = false;
  Rng rng_;

  std::map<int64_t, std::pair<JobFilter, WatchFn>> watchers_;
  int64_t next_watch_ = 1;
  int64_t event_sequence_ = 0;

  ControlPlaneStats stats_;
  EventLog events_;
};

// Store layout.
std::string JobKey(JobId id);          // "jobs/00000000000000000042"
std::string NodeKey(std::string_view name);  // "nodes/<name>"

}  // namespace baton::server
