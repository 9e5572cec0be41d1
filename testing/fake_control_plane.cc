#include "testing/fake_control_plane.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "baton/api/convert.h"

namespace baton::testing {
namespace {

using google::protobuf::util::TimeUtil;

bool IsTerminal(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED ||
         s == v1::JOB_STATE_CANCELLED;
}

// Ids are decimal numbers; anything else is unknown.
std::optional<int64_t> ParseId(const std::string& id) {
  if (id.empty() || id.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::string LogKey(const std::string& job, int32_t task, int32_t rank) {
  return fmt::format("{}/{}/{}", job, task, rank);
}

grpc::Status NotFoundJob(const std::string& id) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, fmt::format("job {} not found", id));
}

}  // namespace

// One open Watch stream: its filters and the events not yet written.
struct FakeControlPlane::Subscriber {
  std::string job_id;
  std::string queue;
  std::deque<v1::JobEvent> events;
};

class FakeControlPlane::JobsService final : public v1::Jobs::Service {
 public:
  explicit JobsService(FakeControlPlane* fake) : fake_(fake) {}

  grpc::Status Submit(grpc::ServerContext*, const v1::SubmitRequest* req,
                      v1::SubmitResponse* resp) override {
    fake_->CountCall("Submit");
    auto spec = api::FromProto(req->spec());
    if (!spec.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, spec.status().message());
    }
    v1::Job job;
    *job.mutable_spec() = api::ToProto(*spec);
    job.set_state(v1::JOB_STATE_PENDING);
    job.set_reason("waiting: the fake control plane schedules nothing");
    *job.mutable_submit_time() = TimeUtil::GetCurrentTime();
    const std::string id = fake_->AddJob(std::move(job));
    *resp->mutable_job() = *fake_->job(id);
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetJobRequest* req,
                   v1::Job* resp) override {
    auto job = fake_->job(req->id());
    // Counted once answered, so a test that waits for the call knows what it saw.
    fake_->CountCall("Get");
    if (!job) return NotFoundJob(req->id());
    *resp = *job;
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const v1::ListJobsRequest* req,
                    v1::ListJobsResponse* resp) override {
    fake_->CountCall("List");
    std::lock_guard lock(fake_->mu_);
    std::vector<const v1::Job*> matching;
    for (auto it = fake_->jobs_.rbegin(); it != fake_->jobs_.rend(); ++it) {
      const v1::Job& j = it->second;
      if (!req->queue().empty() && j.spec().queue() != req->queue()) continue;
      if (req->state() != v1::JOB_STATE_UNSPECIFIED && j.state() != req->state()) continue;
      matching.push_back(&j);
    }
    int64_t offset = 0;
    if (!req->page_token().empty()) {
      auto o = ParseId(req->page_token());
      if (!o) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_token: not ours");
      }
      offset = *o;
    }
    const int64_t size = req->page_size() > 0 ? req->page_size() : fake_->default_page_size_;
    const int64_t end = std::min<int64_t>(offset + size, matching.size());
    for (int64_t i = offset; i < end; ++i) *resp->add_jobs() = *matching[i];
    if (end < static_cast<int64_t>(matching.size())) {
      resp->set_next_page_token(std::to_string(end));
    }
    return grpc::Status::OK;
  }

  grpc::Status Cancel(grpc::ServerContext*, const v1::CancelJobRequest* req,
                      v1::Job* resp) override {
    fake_->CountCall("Cancel");
    auto n = ParseId(req->id());
    std::lock_guard lock(fake_->mu_);
    auto it = n ? fake_->jobs_.find(*n) : fake_->jobs_.end();
    if (it == fake_->jobs_.end()) return NotFoundJob(req->id());
    v1::Job& job = it->second;
    if (!IsTerminal(job.state())) {
      job.set_state(v1::JOB_STATE_CANCELLED);
      job.set_reason(req->reason().empty() ? "cancelled by user" : req->reason());
      *job.mutable_end_time() = TimeUtil::GetCurrentTime();
      fake_->PublishLocked(v1::JobEvent::KIND_STATE_CHANGED, job);
    }
    *resp = job;
    return grpc::Status::OK;
  }

  grpc::Status Watch(grpc::ServerContext* ctx, const v1::WatchJobsRequest* req,
                     grpc::ServerWriter<v1::JobEvent>* writer) override {
    fake_->CountCall("Watch");
    Subscriber sub{req->job_id(), req->queue(), {}};
    std::unique_lock lock(fake_->mu_);
    fake_->subscribers_.push_back(&sub);
    fake_->cv_.notify_all();
    while (!fake_->shutting_down_ && !ctx->IsCancelled()) {
      if (sub.events.empty()) {
        // The sync API has no wake-up on client hang-up, so look again now and then.
        fake_->cv_.wait_for(lock, std::chrono::milliseconds(20));
        continue;
      }
      v1::JobEvent event = std::move(sub.events.front());
      sub.events.pop_front();
      lock.unlock();
      const bool ok = writer->Write(event);
      lock.lock();
      if (!ok) break;
    }
    auto& subs = fake_->subscribers_;
    subs.erase(std::remove(subs.begin(), subs.end(), &sub), subs.end());
    fake_->cv_.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status Logs(grpc::ServerContext*, const v1::LogsRequest* req,
                    grpc::ServerWriter<v1::LogChunk>* writer) override {
    fake_->CountCall("Logs");
    std::vector<std::string> chunks;
    {
      std::lock_guard lock(fake_->mu_);
      fake_->last_logs_request_ = *req;
      auto n = ParseId(req->job_id());
      if (!n || fake_->jobs_.count(*n) == 0) return NotFoundJob(req->job_id());
      auto it = fake_->logs_.find(LogKey(req->job_id(), req->task_index(), req->rank()));
      if (it == fake_->logs_.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            fmt::format("job {} has no task {} rank {}", req->job_id(),
                                        req->task_index(), req->rank()));
      }
      chunks = it->second;
    }
    int64_t offset = 0;
    for (const auto& c : chunks) {
      v1::LogChunk chunk;
      chunk.set_data(c);
      chunk.set_offset(offset);
      offset += static_cast<int64_t>(c.size());
      if (!writer->Write(chunk)) break;
    }
    return grpc::Status::OK;
  }

 private:
  FakeControlPlane* fake_;
};

class FakeControlPlane::ClusterService final : public v1::Cluster::Service {
 public:
  explicit ClusterService(FakeControlPlane* fake) : fake_(fake) {}

  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* resp) override {
    std::lock_guard lock(fake_->mu_);
    for (const auto& n : fake_->nodes_) {
      if (req->state() == v1::NODE_STATE_UNSPECIFIED || n.state() == req->state()) {
        *resp->add_nodes() = n;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListQueues(grpc::ServerContext*, const v1::ListQueuesRequest*,
                          v1::ListQueuesResponse* resp) override {
    std::lock_guard lock(fake_->mu_);
    for (const auto& q : fake_->queues_) *resp->add_queues() = q;
    return grpc::Status::OK;
  }

 private:
  FakeControlPlane* fake_;
};

FakeControlPlane::FakeControlPlane()
    : jobs_service_(std::make_unique<JobsService>(this)),
      cluster_service_(std::make_unique<ClusterService>(this)) {}

Result<std::unique_ptr<FakeControlPlane>> FakeControlPlane::Start() {
  std::unique_ptr<FakeControlPlane> fake(new FakeControlPlane());
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(fake->jobs_service_.get());
  builder.RegisterService(fake->cluster_service_.get());
  fake->server_ = builder.BuildAndStart();
  if (fake->server_ == nullptr || port == 0) {
    return Status(StatusCode::kUnavailable, "fake control plane: cannot listen on 127.0.0.1");
  }
  fake->address_ = fmt::format("127.0.0.1:{}", port);
  return fake;
}

FakeControlPlane::~FakeControlPlane() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  }
}

void FakeControlPlane::PublishLocked(v1::JobEvent::Kind kind, const v1::Job& job) {
  v1::JobEvent event;
  event.set_kind(kind);
  *event.mutable_job() = job;
  event.set_sequence(++sequence_);
  if (drop_watch_events_) return;
  for (Subscriber* s : subscribers_) {
    if (!s->job_id.empty() && s->job_id != job.id()) continue;
    if (!s->queue.empty() && s->queue != job.spec().queue()) continue;
    s->events.push_back(event);
  }
  cv_.notify_all();
}

std::string FakeControlPlane::AddJob(v1::Job job) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  if (auto given = ParseId(job.id())) {
    n = *given;
    next_id_ = std::max(next_id_, n + 1);
  } else {
    n = next_id_++;
    job.set_id(std::to_string(n));
  }
  if (!job.has_submit_time()) *job.mutable_submit_time() = TimeUtil::GetCurrentTime();
  jobs_[n] = job;
  PublishLocked(v1::JobEvent::KIND_SUBMITTED, job);
  return job.id();
}

Status FakeControlPlane::SetJobState(const std::string& id, v1::JobState state,
                                     const std::string& reason) {
  auto n = ParseId(id);
  std::lock_guard lock(mu_);
  auto it = n ? jobs_.find(*n) : jobs_.end();
  if (it == jobs_.end()) return NotFound("job " + id);
  it->second.set_state(state);
  it->second.set_reason(reason);
  PublishLocked(v1::JobEvent::KIND_STATE_CHANGED, it->second);
  return Status::Ok();
}

Status FakeControlPlane::FinishJob(const std::string& id, v1::JobState state,
                                   int32_t exit_code, const std::string& end_reason) {
  auto n = ParseId(id);
  std::lock_guard lock(mu_);
  auto it = n ? jobs_.find(*n) : jobs_.end();
  if (it == jobs_.end()) return NotFound("job " + id);
  v1::Job& job = it->second;
  const auto now = TimeUtil::GetCurrentTime();
  if (job.attempts().empty()) {
    v1::Attempt* a = job.add_attempts();
    a->set_number(1);
    v1::TaskAssignment* t = a->add_assignments();
    t->set_task_index(0);
    t->set_node("node-0");
    t->add_gpu_indices(0);
    *a->mutable_start_time() = now;
    *job.mutable_start_time() = now;
  }
  v1::Attempt* last = job.mutable_attempts(job.attempts_size() - 1);
  *last->mutable_end_time() = now;
  last->set_exit_code(exit_code);
  last->set_end_reason(end_reason);
  job.set_state(state);
  job.set_reason(end_reason);
  *job.mutable_end_time() = now;
  PublishLocked(v1::JobEvent::KIND_STATE_CHANGED, job);
  return Status::Ok();
}

std::optional<v1::Job> FakeControlPlane::job(const std::string& id) const {
  auto n = ParseId(id);
  std::lock_guard lock(mu_);
  auto it = n ? jobs_.find(*n) : jobs_.end();
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

void FakeControlPlane::AddNode(v1::Node node) {
  std::lock_guard lock(mu_);
  nodes_.push_back(std::move(node));
}

void FakeControlPlane::AddQueue(v1::Queue queue) {
  std::lock_guard lock(mu_);
  queues_.push_back(std::move(queue));
}

void FakeControlPlane::SetLogs(const std::string& job_id, int32_t task, int32_t rank,
                               std::vector<std::string> chunks) {
  std::lock_guard lock(mu_);
  logs_[LogKey(job_id, task, rank)] = std::move(chunks);
}

std::optional<v1::LogsRequest> FakeControlPlane::last_logs_request() const {
  std::lock_guard lock(mu_);
  return last_logs_request_;
}

void FakeControlPlane::set_default_page_size(int32_t n) {
  std::lock_guard lock(mu_);
  default_page_size_ = n;
}

void FakeControlPlane::set_drop_watch_events(bool drop) {
  std::lock_guard lock(mu_);
  drop_watch_events_ = drop;
}

void FakeControlPlane::CountCall(const std::string& method) {
  {
    std::lock_guard lock(mu_);
    ++calls_[method];
  }
  cv_.notify_all();
}

int FakeControlPlane::calls(const std::string& method) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(method);
  return it == calls_.end() ? 0 : it->second;
}

bool FakeControlPlane::WaitForCalls(const std::string& method, int n,
                                    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    auto it = calls_.find(method);
    return it != calls_.end() && it->second >= n;
  });
}

bool FakeControlPlane::WaitForWatchers(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return static_cast<int>(subscribers_.size()) >= n; });
}

}  // namespace baton::testing
