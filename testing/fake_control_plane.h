// FakeControlPlane: an in-process gRPC server implementing the v1 Jobs and Cluster
// services over an in-memory map, so client code (the `baton` CLI, SDKs) can be tested
// against real gRPC without batond.
//
// What it does: Submit validates with api::FromProto (so errors read exactly like
// batond's, "spec.gpus_per_task: ...") and assigns ids "1", "2", ...; Get/Cancel answer
// NOT_FOUND for unknown ids; List filters, orders newest first and pages (page_token is
// an offset); Watch streams events that happen after the stream opened (no snapshot, the
// least a real server may do); Logs streams canned chunks. Nothing is ever scheduled: a
// test moves jobs along with SetJobState/FinishJob, which notify watchers.
//
// Not responsible for: scheduling, persistence, auth, realistic reasons.
// Thread-safety: every method is safe to call from any thread while the server runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "baton/common/status.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::testing {

class FakeControlPlane {
 public:
  // Starts serving on 127.0.0.1 on a free port.
  static Result<std::unique_ptr<FakeControlPlane>> Start();
  ~FakeControlPlane();
  FakeControlPlane(const FakeControlPlane&) = delete;
  FakeControlPlane& operator=(const FakeControlPlane&) = delete;

  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }

  // Adds a job as given (id assigned if empty); returns its id. Watchers see a
  // KIND_SUBMITTED event.
  std::string AddJob(v1::Job job);
  // Moves a job to `state` with `reason`; watchers see KIND_STATE_CHANGED.
  Status SetJobState(const std::string& id, v1::JobState state, const std::string& reason);
  // Ends the job's latest attempt (opening one on "node-0" if it has none) with
  // `exit_code` and `end_reason`, and moves the job to the terminal `state`.
  Status FinishJob(const std::string& id, v1::JobState state, int32_t exit_code,
                   const std::string& end_reason);
  // The stored job, if any.
  std::optional<v1::Job> job(const std::string& id) const;

  void AddNode(v1::Node node);
  void AddQueue(v1::Queue queue);
  // Log output of one (job, task, rank), streamed by Logs as one chunk per entry.
  void SetLogs(const std::string& job_id, int32_t task, int32_t rank,
               std::vector<std::string> chunks);
  // The last Logs request received.
  std::optional<v1::LogsRequest> last_logs_request() const;
  // Page size List uses when the request says 0.
  void set_default_page_size(int32_t n);
  // How many calls of `method` ("Get", "List", "Watch", ...) have been received.
  int calls(const std::string& method) const;
  // Waits until at least `n` calls of `method` have been received; false at the deadline.
  bool WaitForCalls(const std::string& method, int n, std::chrono::milliseconds timeout) const;

  // When true, Watch streams stay open but deliver nothing (a server that lost events),
  // so clients must notice changes some other way.
  void set_drop_watch_events(bool drop);

  // Waits until at least `n` Watch streams are open; false at the deadline.
  bool WaitForWatchers(int n, std::chrono::milliseconds timeout) const;

 private:
  class JobsService;
  class ClusterService;
  struct Subscriber;

  FakeControlPlane();
  // Counts one call of `method` and wakes WaitForCalls.
  void CountCall(const std::string& method);
  // Records `job` and tells every matching watcher. Caller holds mu_.
  void PublishLocked(v1::JobEvent::Kind kind, const v1::Job& job);

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool shutting_down_ = false;
  int64_t next_id_ = 1;
  int64_t sequence_ = 0;
  std::map<int64_t, v1::Job> jobs_;  // by numeric id
  std::vector<v1::Node> nodes_;
  std::vector<v1::Queue> queues_;
  std::map<std::string, std::vector<std::string>> logs_;  // "job/task/rank" -> chunks
  std::optional<v1::LogsRequest> last_logs_request_;
  int32_t default_page_size_ = 100;
  std::map<std::string, int> calls_;  // by method name
  bool drop_watch_events_ = false;
  std::vector<Subscriber*> subscribers_;

  std::unique_ptr<JobsService> jobs_service_;
  std::unique_ptr<ClusterService> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace baton::testing
