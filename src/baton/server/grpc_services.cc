#include "baton/server/grpc_services.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "baton/api/convert.h"
#include "baton/auth/credentials.h"
#include "baton/common/limits.h"
#include "baton/security/tls.h"
#include "baton/server/batond_tls.h"
#include "baton/server/stream_writers.h"

namespace baton::server {
namespace {

using limits::kMaxSpecBytes;
// A watcher this far behind is cut off rather than buffering without bound.
constexpr size_t kMaxWatchBacklog = 100000;

grpc::Status Invalid(std::string msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(msg));
}

// A request string longer than `limit` (common/limits.h): the error names field and limit.
// The same check as a Status, for handlers that record the refusal in the audit log.
Status FieldLength(std::string_view field, const std::string& value, size_t limit) {
  if (value.size() <= limit) return Status::Ok();
  return InvalidArgument(fmt::format("{}: {} bytes; at most {}", field, value.size(), limit));
}

std::optional<grpc::Status> TooLong(std::string_view field, const std::string& value,
                                    size_t limit) {
  if (value.size() <= limit) return std::nullopt;
  return Invalid(fmt::format("{}: {} bytes; at most {}", field, value.size(), limit));
}

// The outbound side of one agent stream: a queue with one write in flight at a time.
// Send may be called from any thread (under the ControlPlane's lock); StartWrite is
// called outside this class's lock so a write completing inline cannot deadlock. gRPC does
// not allow a write after Finish (the call then never reaches OnDone), so a Close that
// comes while a StartWrite is being issued leaves the Finish to the thread issuing it,
// right after the call; Finish itself may overtake a write in flight.
class StreamSink final : public AgentSink {
 public:
  explicit StreamSink(grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* r) : r_(r) {}

  void Send(const v1::Directive& d) override {
    const v1::Directive* start = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (r_ == nullptr || broken_) return;
      q_.push_back(d);
      if (!writing_) {
        writing_ = true;
        start = &q_.front();
        ++starting_;
      }
    }
    if (start) Start(start);
  }

  void WriteDone(bool ok) {
    const v1::Directive* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.pop_front();
      if (!ok) broken_ = true;
      if (!broken_ && r_ != nullptr && !q_.empty()) {
        next = &q_.front();
        ++starting_;
      } else {
        writing_ = false;
      }
    }
    if (next) Start(next);
  }

  // Finishes the stream once; later calls are no-ops.
  void Close(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_ || r_ == nullptr) return;
      finished_ = true;
      broken_ = true;
      if (starting_ > 0) {
        pending_finish_ = status;
        return;
      }
    }
    r_->Finish(status);
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    r_ = nullptr;
  }

 private:
  // Issues a write reserved under the lock (starting_ counted), then any Finish that a
  // Close left for it.
  void Start(const v1::Directive* d) {
    r_->StartWrite(d);
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--starting_ == 0) finish = std::exchange(pending_finish_, std::nullopt);
    }
    if (finish) r_->Finish(*finish);
  }

  std::mutex mu_;
  grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* r_;
  std::deque<v1::Directive> q_;
  bool writing_ = false;
  bool broken_ = false;
  bool finished_ = false;
  int starting_ = 0;                            // StartWrite calls reserved and not yet returned
  std::optional<grpc::Status> pending_finish_;  // a Close's, while starting_ > 0
};

class AgentStream final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive> {
 public:
  // `who`: the authenticated agent; its registrations are audited. With `tls`: `cert`
  // is the verified node certificate the stream is bound to.
  AgentStream(ControlPlane* cp, Access* access, Identity who, const BatondTls* tls,
              security::CertIdentity cert)
      : cp_(cp),
        access_(access),
        who_(std::move(who)),
        origin_(access->Origin(who_, "agent.register")),
        tls_(tls),
        cert_(std::move(cert)),
        sink_(std::make_shared<StreamSink>(this)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      sink_->Close(grpc::Status::OK);
      return;
    }
    if (Status s = access_->CheckSize(who_, "agent.message", in_); !s.ok()) {
      sink_->Close(ToGrpc(s));
      return;
    }
    if (tls_ != nullptr) {
      // An agent speaks only for the node of its certificate, and only while it is valid.
      if (Status s = tls_->CheckAgentMessage(cert_, in_); !s.ok()) {
        sink_->Close(ToGrpc(s));
        return;
      }
    }
    if (session_ == 0) {
      if (in_.msg_case() != v1::AgentMessage::kRegister) {
        sink_->Close(Invalid("agent stream: the first message must be register"));
        return;
      }
      auto session = cp_->RegisterAgent(origin_, in_.register_(), sink_);
      if (!session.ok()) {
        spdlog::warn("agent registration refused: {}", session.status().message());
        sink_->Close(ToGrpc(session.status()));
        return;
      }
      session_ = *session;
    } else {
      Status s = cp_->OnAgentMessage(session_, in_);
      if (!s.ok()) {
        sink_->Close(ToGrpc(s));
        return;
      }
    }
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override { sink_->WriteDone(ok); }
  void OnCancel() override { sink_->Close(grpc::Status::CANCELLED); }
  void OnDone() override {
    sink_->Detach();
    if (session_ != 0) cp_->OnAgentDisconnected(session_);
    delete this;
  }

 private:
  ControlPlane* cp_;
  Access* access_;
  const Identity who_;
  const ChangeOrigin origin_;
  const BatondTls* tls_;
  const security::CertIdentity cert_;
  std::shared_ptr<StreamSink> sink_;
  v1::AgentMessage in_;
  int64_t session_ = 0;
};

// An agent stream refused before its first message (no valid node certificate).
class RefusedAgentStream final
    : public grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive> {
 public:
  explicit RefusedAgentStream(const grpc::Status& s) { Finish(s); }
  void OnDone() override { delete this; }
};

class WatchStream final : public QueuedWriter<v1::JobEvent> {
 public:
  WatchStream(ControlPlane* cp, JobFilter filter)
      : QueuedWriter(kMaxWatchBacklog, "watch: the client fell too far behind; watch again"),
        cp_(cp) {
    id_ = cp_->Watch(std::move(filter), [this](const v1::JobEvent& ev) { Push(ev); });
  }
  void OnDone() override {
    cp_->Unwatch(id_);
    delete this;
  }

 private:
  ControlPlane* cp_;
  int64_t id_ = 0;
};

// Streams one task's log from its agent. A thread does the blocking client read and
// hands each chunk to the reactor, waiting for each write before the next.
class LogStream final : public grpc::ServerWriteReactor<v1::LogChunk> {
 public:
  LogStream(std::string endpoint, std::string token, security::ClientTlsOptions tls,
            v1::LogsRequest req) {
    std::thread([this, endpoint = std::move(endpoint), token = std::move(token),
                 tls = std::move(tls), req = std::move(req)] { Pump(endpoint, token, tls, req); })
        .detach();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) cancelled_ = true;
    cv_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    upstream_.TryCancel();
    cv_.notify_all();
  }
  void OnDone() override { delete this; }

 private:
  void Pump(const std::string& endpoint, const std::string& token,
            const security::ClientTlsOptions& tls, const v1::LogsRequest& req) {
    // The agent serves its logs only to the holder of the secret it registered with (and,
    // with TLS, checks batond's certificate).
    grpc::ChannelArguments args;  // an agent's log chunks are 64 KiB; refuse huge ones
    args.SetMaxReceiveMessageSize(limits::kMaxLogChunkMessageBytes);
    auto channel = security::MakeClientChannel(endpoint, tls, args, token);
    auto stub = v1::AgentLogs::NewStub(channel);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) {
        Finish(grpc::Status::CANCELLED);
        return;
      }
    }
    upstream_.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(24));
    auto reader = stub->Read(&upstream_, req);
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) {
      std::unique_lock<std::mutex> lock(mu_);
      if (cancelled_) break;
      out_ = std::move(chunk);
      writing_ = true;
      lock.unlock();
      StartWrite(&out_);
      lock.lock();
      cv_.wait(lock, [&] { return !writing_ || cancelled_; });
      if (cancelled_) {
        cv_.wait(lock, [&] { return !writing_; });
        break;
      }
    }
    grpc::Status s = reader->Finish();
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled = cancelled_;
    }
    if (cancelled) {
      Finish(grpc::Status::CANCELLED);
    } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          fmt::format("cannot reach the agent at {}: {}", endpoint,
                                      s.error_message())));
    } else {
      Finish(s);
    }
  }

  grpc::ClientContext upstream_;
  std::mutex mu_;
  std::condition_variable cv_;
  v1::LogChunk out_;
  bool writing_ = false;
  bool cancelled_ = false;
};

// An Agent stream refused before it starts (no valid credentials, or not an agent).
// The end of a change to one job: the job is the reply, or the error is (audited as
// `who`'s failed `action` on `object`).
ControlPlane::JobDone ReplyWithJob(grpc::ServerUnaryReactor* r, v1::Job* resp, Access* access,
                                   Identity who, std::string_view action, std::string object) {
  return [r, resp, access, who = std::move(who), action, object = std::move(object)](
             Result<v1::Job> j) {
    if (!j.ok()) {
      access->Failed(who, action, object, j.status());
      r->Finish(ToGrpc(j.status()));
      return;
    }
    *resp = *std::move(j);
    r->Finish(grpc::Status::OK);
  };
}

template <typename Reactor>
Reactor* Failed(Reactor* r, const grpc::Status& s) {
  r->Finish(s);
  return r;
}

}  // namespace

grpc::Status ToGrpc(const Status& s) {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: code = grpc::StatusCode::ALREADY_EXISTS; break;
    case StatusCode::kFailedPrecondition: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case StatusCode::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case StatusCode::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case StatusCode::kInternal: code = grpc::StatusCode::INTERNAL; break;
    case StatusCode::kUnauthenticated: code = grpc::StatusCode::UNAUTHENTICATED; break;
    case StatusCode::kPermissionDenied: code = grpc::StatusCode::PERMISSION_DENIED; break;
  }
  return grpc::Status(code, s.message());
}

Result<JobId> ParseJobId(std::string_view text, std::string_view field) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v == 0) {
    return InvalidArgument(fmt::format("{}: '{}' is not a job id (a positive number)", field,
                                       text.substr(0, 64)));
  }
  return JobId(v);
}

Result<JobsService::JobAccess> JobsService::JobFor(grpc::CallbackServerContext* ctx,
                                                   std::string_view action, Permission p,
                                                   const std::string& id_text,
                                                   std::string_view field) {
  BATON_ASSIGN_OR_RETURN(Identity who, access_->Authenticate(*ctx, action));
  BATON_ASSIGN_OR_RETURN(JobId id, ParseJobId(id_text, field));
  BATON_ASSIGN_OR_RETURN(v1::Job job, cp_->Get(id));
  BATON_RETURN_IF_ERROR(
      access_->Check(who, p, action, fmt::format("job/{}", id), access_->JobResource(job)));
  return JobAccess{std::move(who), id, std::move(job)};
}

grpc::ServerUnaryReactor* JobsService::Submit(grpc::CallbackServerContext* ctx,
                                              const v1::SubmitRequest* req,
                                              v1::SubmitResponse* resp) {
  auto* r = ctx->DefaultReactor();
  static constexpr std::string_view kAction = "jobs.submit";
  if (Status s = access_->CheckSize(*ctx, kAction, *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, kAction);
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  const std::string object = "queue/" + req->spec().queue().substr(0, 253);
  Access* access = access_;
  auto refuse = [&](const Status& s) {
    access->Failed(*who, kAction, object, s);
    return Failed(r, ToGrpc(s));
  };
  if (!req->has_spec()) return refuse(InvalidArgument("spec: missing"));
  if (req->spec().ByteSizeLong() > kMaxSpecBytes) {
    return refuse(InvalidArgument(fmt::format("spec: {} bytes encoded; at most {}",
                                              req->spec().ByteSizeLong(), kMaxSpecBytes)));
  }
  auto spec = api::FromProto(req->spec());
  if (!spec.ok()) return refuse(spec.status());
  Status allowed = access_->Check(*who, Permission::kSubmit, kAction, "queue/" + spec->queue,
                                  access_->QueueResource(spec->queue));
  if (!allowed.ok()) return Failed(r, ToGrpc(allowed));
  cp_->Submit(
      *std::move(spec),
      [r, resp, access, who = *who, object](Result<v1::Job> job) {
        if (!job.ok()) {
          access->Failed(who, kAction, object, job.status());
          r->Finish(ToGrpc(job.status()));
          return;
        }
        *resp->mutable_job() = *std::move(job);
        r->Finish(grpc::Status::OK);
      },
      access_->Origin(*who, std::string(kAction)));
  return r;
}

grpc::ServerUnaryReactor* JobsService::Get(grpc::CallbackServerContext* ctx,
                                           const v1::GetJobRequest* req, v1::Job* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "jobs.get", *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto job = JobFor(ctx, "jobs.get", Permission::kViewJobs, req->id(), "id");
  if (!job.ok()) return Failed(r, ToGrpc(job.status()));
  *resp = std::move(job->job);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* JobsService::List(grpc::CallbackServerContext* ctx,
                                            const v1::ListJobsRequest* req,
                                            v1::ListJobsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "jobs.list", *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, "jobs.list");
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  if (auto bad = TooLong("queue", req->queue(), limits::kMaxFilterLength)) return Failed(r, *bad);
  if (auto bad = TooLong("page_token", req->page_token(), limits::kMaxPageTokenLength)) {
    return Failed(r, *bad);
  }
  JobFilter f;
  f.queue = req->queue();
  if (!f.queue.empty()) {
    Status s = access_->Check(*who, Permission::kViewJobs, "jobs.list", "queue/" + f.queue,
                              access_->QueueResource(f.queue));
    if (!s.ok()) return Failed(r, ToGrpc(s));
  }
  f.within = access_->Viewable(*who);
  if (req->state() != v1::JOB_STATE_UNSPECIFIED) {
    auto st = api::FromProto(req->state());
    if (!st.ok()) return Failed(r, ToGrpc(st.status()));
    f.state = *st;
  }
  auto page = cp_->List(f, req->page_size(), req->page_token());
  if (!page.ok()) return Failed(r, ToGrpc(page.status()));
  for (auto& j : page->jobs) *resp->add_jobs() = std::move(j);
  resp->set_next_page_token(page->next_page_token);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* JobsService::Cancel(grpc::CallbackServerContext* ctx,
                                              const v1::CancelJobRequest* req, v1::Job* resp) {
  auto* r = ctx->DefaultReactor();
  constexpr std::string_view kAction = "jobs.cancel";
  if (Status s = access_->CheckSize(*ctx, kAction, *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto job = JobFor(ctx, kAction, Permission::kCancelJob, req->id(), "id");
  if (!job.ok()) return Failed(r, ToGrpc(job.status()));
  const Identity& who = job->who;
  const std::string object = "job/" + job->job.id();
  if (Status s = FieldLength("reason", req->reason(), limits::kMaxReasonLength); !s.ok()) {
    access_->Failed(who, kAction, object, s);
    return Failed(r, ToGrpc(s));
  }
  cp_->Cancel(
      job->id, req->reason(),
      ReplyWithJob(r, resp, access_, who, kAction, object),
      access_->Origin(who, std::string(kAction), req->reason().substr(0, 200)));
  return r;
}

grpc::ServerWriteReactor<v1::JobEvent>* JobsService::Watch(grpc::CallbackServerContext* ctx,
                                                           const v1::WatchJobsRequest* req) {
  if (Status s = access_->CheckSize(*ctx, "jobs.watch", *req); !s.ok()) {
    return new ErrorWriter<v1::JobEvent>(ToGrpc(s));
  }
  auto who = access_->Authenticate(*ctx, "jobs.watch");
  if (!who.ok()) return new ErrorWriter<v1::JobEvent>(ToGrpc(who.status()));
  if (auto bad = TooLong("queue", req->queue(), limits::kMaxFilterLength)) {
    return new ErrorWriter<v1::JobEvent>(*bad);
  }
  JobFilter f;
  f.queue = req->queue();
  if (!f.queue.empty()) {
    Status s = access_->Check(*who, Permission::kViewJobs, "jobs.watch", "queue/" + f.queue,
                              access_->QueueResource(f.queue));
    if (!s.ok()) return new ErrorWriter<v1::JobEvent>(ToGrpc(s));
  }
  if (!req->job_id().empty()) {
    auto id = ParseJobId(req->job_id(), "job_id");
    if (!id.ok()) return new ErrorWriter<v1::JobEvent>(ToGrpc(id.status()));
    f.job = *id;
    // A job that exists must be viewable; events of one not yet submitted are filtered
    // by `within` below like any other.
    if (auto job = cp_->Get(*id); job.ok()) {
      Status s = access_->Check(*who, Permission::kViewJobs, "jobs.watch",
                                fmt::format("job/{}", *id), access_->JobResource(*job));
      if (!s.ok()) return new ErrorWriter<v1::JobEvent>(ToGrpc(s));
    }
  }
  f.within = access_->Viewable(*who);
  return new WatchStream(cp_, std::move(f));
}

grpc::ServerWriteReactor<v1::LogChunk>* JobsService::Logs(grpc::CallbackServerContext* ctx,
                                                          const v1::LogsRequest* req) {
  if (Status s = access_->CheckSize(*ctx, "jobs.logs", *req); !s.ok()) {
    return new ErrorWriter<v1::LogChunk>(ToGrpc(s));
  }
  auto job = JobFor(ctx, "jobs.logs", Permission::kViewJobs, req->job_id(), "job_id");
  if (!job.ok()) return new ErrorWriter<v1::LogChunk>(ToGrpc(job.status()));
  const JobId id = job->id;
  if (req->offset() < 0) return new ErrorWriter<v1::LogChunk>(Invalid("offset: negative"));
  if (req->rank() < 0) return new ErrorWriter<v1::LogChunk>(Invalid("rank: negative"));
  auto target = cp_->FindLogs(id, req->task_index(), req->attempt());
  if (!target.ok()) return new ErrorWriter<v1::LogChunk>(ToGrpc(target.status()));
  v1::LogsRequest upstream = *req;
  upstream.set_attempt(target->attempt);
  return new LogStream(target->endpoint, target->token,
                       tls_ != nullptr ? tls_->AgentLogsTls(target->node)
                                       : security::ClientTlsOptions{},
                       std::move(upstream));
}

grpc::ServerUnaryReactor* JobsService::ReportCheckpoint(grpc::CallbackServerContext* ctx,
                                                        const v1::ReportCheckpointRequest* req,
                                                        v1::Job* resp) {
  auto* r = ctx->DefaultReactor();
  constexpr std::string_view kAction = "jobs.report_checkpoint";
  if (Status s = access_->CheckSize(*ctx, kAction, *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto job = JobFor(ctx, kAction, Permission::kReportCheckpoint, req->job_id(), "job_id");
  if (!job.ok()) return Failed(r, ToGrpc(job.status()));
  const Identity& who = job->who;
  const std::string object = "job/" + job->job.id();
  Status bad = req->attempt() < 0 ? InvalidArgument("attempt: negative")
                                   : FieldLength("path", req->path(), limits::kMaxPathLength);
  if (!bad.ok()) {
    access_->Failed(who, kAction, object, bad);
    return Failed(r, ToGrpc(bad));
  }
  cp_->ReportCheckpoint(
      job->id, req->attempt(), req->path(),
      ReplyWithJob(r, resp, access_, who, kAction, object),
      access_->Origin(who, std::string(kAction), req->path().substr(0, 200)));
  return r;
}

grpc::ServerUnaryReactor* ClusterService::ChangeNode(
    grpc::CallbackServerContext* ctx, std::string_view action,
    const google::protobuf::MessageLite& req, const std::string& name, const std::string& reason,
    v1::Node* resp, const std::function<Result<v1::Node>(const ChangeOrigin&)>& change) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, action, req); !s.ok()) return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, action);
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  const std::string object = "node/" + name.substr(0, 253);
  Resource res;
  res.describe = "node " + name.substr(0, 253);
  Status allowed = access_->Check(*who, Permission::kManageNodes, action, object, res);
  if (!allowed.ok()) return Failed(r, ToGrpc(allowed));
  Status s = FieldLength("name", name, limits::kMaxNameLength);
  if (s.ok()) s = FieldLength("reason", reason, limits::kMaxReasonLength);
  if (s.ok()) {
    auto node = change(access_->Origin(*who, std::string(action), reason.substr(0, 200)));
    if (node.ok()) {
      *resp = *std::move(node);
    } else {
      s = node.status();
    }
  }
  if (!s.ok()) access_->Failed(*who, action, object, s);
  return Failed(r, ToGrpc(s));
}

grpc::ServerUnaryReactor* ClusterService::DrainNode(grpc::CallbackServerContext* ctx,
                                                    const v1::DrainNodeRequest* req,
                                                    v1::Node* resp) {
  return ChangeNode(
      ctx, "cluster.drain_node", *req, req->name(), req->reason(), resp,
      [&](const ChangeOrigin& origin) { return cp_->Drain(req->name(), req->reason(), origin); });
}

grpc::ServerUnaryReactor* ClusterService::UndrainNode(grpc::CallbackServerContext* ctx,
                                                      const v1::UndrainNodeRequest* req,
                                                      v1::Node* resp) {
  return ChangeNode(ctx, "cluster.undrain_node", *req, req->name(), "", resp,
                    [&](const ChangeOrigin& origin) { return cp_->Undrain(req->name(), origin); });
}

grpc::ServerUnaryReactor* ClusterService::UpdateQueue(grpc::CallbackServerContext* ctx,
                                                      const v1::UpdateQueueRequest* req,
                                                      v1::Queue* resp) {
  auto* r = ctx->DefaultReactor();
  constexpr std::string_view kAction = "cluster.update_queue";
  if (Status s = access_->CheckSize(*ctx, kAction, *req); !s.ok()) return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, kAction);
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  const std::string object = "queue/" + req->name().substr(0, 253);
  // A queue's place in the tree decides who may change it: its parent's queue-admins.
  const QueueTree& tree = cp_->queue_tree();
  Resource res;
  res.queue_path = tree.Find(req->name()) ? tree.Path(req->name())
                                          : tree.PathUnder(req->has_parent() ? req->parent() : "",
                                                           req->name());
  res.describe = "queue " + req->name().substr(0, 253);
  Status allowed = access_->Check(*who, Permission::kUpdateQueue, kAction, object, res);
  if (!allowed.ok()) return Failed(r, ToGrpc(allowed));
  auto q = cp_->UpdateQueue(*req, access_->Origin(*who, std::string(kAction),
                                                   req->ShortDebugString().substr(0, 300)));
  if (!q.ok()) {
    access_->Failed(*who, kAction, object, q.status());
    return Failed(r, ToGrpc(q.status()));
  }
  *resp = *std::move(q);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::ListNodes(grpc::CallbackServerContext* ctx,
                                                    const v1::ListNodesRequest* req,
                                                    v1::ListNodesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "cluster.list_nodes", *req); !s.ok())
    return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, "cluster.list_nodes");
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  Status allowed = access_->Check(*who, Permission::kViewCluster, "cluster.list_nodes", "nodes",
                                  Resource{{}, "", "the nodes"});
  if (!allowed.ok()) return Failed(r, ToGrpc(allowed));
  std::optional<v1::NodeState> state;
  if (req->state() != v1::NODE_STATE_UNSPECIFIED) state = req->state();
  for (auto& n : cp_->Nodes(state)) *resp->add_nodes() = std::move(n);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::ListQueues(grpc::CallbackServerContext* ctx,
                                                     const v1::ListQueuesRequest* req,
                                                     v1::ListQueuesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (Status s = access_->CheckSize(*ctx, "cluster.list_queues", *req); !s.ok())
    return Failed(r, ToGrpc(s));
  auto who = access_->Authenticate(*ctx, "cluster.list_queues");
  if (!who.ok()) return Failed(r, ToGrpc(who.status()));
  // Each tenant sees the queues it may view (their usage is the tenant's business).
  for (auto& q : cp_->Queues()) {
    if (access_->CanView(*who, q.name())) *resp->add_queues() = std::move(q);
  }
  return Failed(r, grpc::Status::OK);
}

grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* AgentService::Connect(
    grpc::CallbackServerContext* ctx) {
  auto who = access_->Authenticate(*ctx, "agent.connect");
  Status s = who.status();
  if (who.ok()) {
    s = access_->Check(*who, Permission::kConnectAgent, "agent.connect", "agents",
                       Resource{{}, "", "this control plane"});
  }
  if (!s.ok()) return new RefusedAgentStream(ToGrpc(s));
  if (tls_ == nullptr) return new AgentStream(cp_, access_, *std::move(who), nullptr, {});
  auto cert = tls_->VerifyAgent(*ctx->auth_context(), ctx->peer());
  if (!cert.ok()) {
    access_->Deny(*who, "agent.connect", "agents", cert.status());
    return new RefusedAgentStream(ToGrpc(cert.status()));
  }
  return new AgentStream(cp_, access_, *std::move(who), tls_, *std::move(cert));
}

}  // namespace baton::server
