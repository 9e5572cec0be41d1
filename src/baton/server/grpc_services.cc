#include "baton/server/grpc_services.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "baton/api/convert.h"
#include "baton/security/tls.h"
#include "baton/server/batond_tls.h"
#include "baton/server/stream_writers.h"

namespace baton::server {
namespace {

constexpr size_t kMaxSpecBytes = 1 << 20;
// A watcher this far behind is cut off rather than buffering without bound.
constexpr size_t kMaxWatchBacklog = 100000;

grpc::Status Invalid(std::string msg) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(msg));
}

// The outbound side of one agent stream: a queue with one write in flight at a time.
// Send may be called from any thread (under the ControlPlane's lock); StartWrite is
// called outside this class's lock so a write completing inline cannot deadlock.
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
      }
    }
    if (start) r_->StartWrite(start);
  }

  void WriteDone(bool ok) {
    const v1::Directive* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.pop_front();
      if (!ok) broken_ = true;
      if (!broken_ && r_ != nullptr && !q_.empty()) {
        next = &q_.front();
      } else {
        writing_ = false;
      }
    }
    if (next) r_->StartWrite(next);
  }

  // Finishes the stream once; later calls are no-ops.
  void Close(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_ || r_ == nullptr) return;
      finished_ = true;
      broken_ = true;
    }
    r_->Finish(status);
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    r_ = nullptr;
  }

 private:
  std::mutex mu_;
  grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* r_;
  std::deque<v1::Directive> q_;
  bool writing_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

class AgentStream final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive> {
 public:
  // With `tls`: `cert` is the verified node certificate the stream is bound to.
  AgentStream(ControlPlane* cp, const BatondTls* tls, security::CertIdentity cert)
      : cp_(cp), tls_(tls), cert_(std::move(cert)), sink_(std::make_shared<StreamSink>(this)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      sink_->Close(grpc::Status::OK);
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
      auto session = cp_->RegisterAgent(in_.register_(), sink_);
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
  LogStream(std::string endpoint, security::ClientTlsOptions tls, v1::LogsRequest req) {
    std::thread([this, endpoint = std::move(endpoint), tls = std::move(tls),
                 req = std::move(req)] { Pump(endpoint, tls, req); })
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
  void Pump(const std::string& endpoint, const security::ClientTlsOptions& tls,
            const v1::LogsRequest& req) {
    auto channel = security::MakeClientChannel(endpoint, tls);
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

grpc::ServerUnaryReactor* JobsService::Submit(grpc::CallbackServerContext* ctx,
                                              const v1::SubmitRequest* req,
                                              v1::SubmitResponse* resp) {
  auto* r = ctx->DefaultReactor();
  if (!req->has_spec()) return Failed(r, Invalid("spec: missing"));
  if (req->spec().ByteSizeLong() > kMaxSpecBytes) {
    return Failed(r, Invalid(fmt::format("spec: larger than {} bytes", kMaxSpecBytes)));
  }
  auto spec = api::FromProto(req->spec());
  if (!spec.ok()) return Failed(r, ToGrpc(spec.status()));
  cp_->Submit(*std::move(spec), [r, resp](Result<v1::Job> job) {
    if (!job.ok()) {
      r->Finish(ToGrpc(job.status()));
      return;
    }
    *resp->mutable_job() = *std::move(job);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* JobsService::Get(grpc::CallbackServerContext* ctx,
                                           const v1::GetJobRequest* req, v1::Job* resp) {
  auto* r = ctx->DefaultReactor();
  auto id = ParseJobId(req->id(), "id");
  if (!id.ok()) return Failed(r, ToGrpc(id.status()));
  auto job = cp_->Get(*id);
  if (!job.ok()) return Failed(r, ToGrpc(job.status()));
  *resp = *std::move(job);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* JobsService::List(grpc::CallbackServerContext* ctx,
                                            const v1::ListJobsRequest* req,
                                            v1::ListJobsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  JobFilter f;
  f.queue = req->queue();
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
  auto id = ParseJobId(req->id(), "id");
  if (!id.ok()) return Failed(r, ToGrpc(id.status()));
  if (req->reason().size() > 1024) return Failed(r, Invalid("reason: longer than 1024 bytes"));
  cp_->Cancel(*id, req->reason(), [r, resp](Result<v1::Job> job) {
    if (!job.ok()) {
      r->Finish(ToGrpc(job.status()));
      return;
    }
    *resp = *std::move(job);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerWriteReactor<v1::JobEvent>* JobsService::Watch(grpc::CallbackServerContext*,
                                                           const v1::WatchJobsRequest* req) {
  JobFilter f;
  f.queue = req->queue();
  if (!req->job_id().empty()) {
    auto id = ParseJobId(req->job_id(), "job_id");
    if (!id.ok()) return new ErrorWriter<v1::JobEvent>(ToGrpc(id.status()));
    f.job = *id;
  }
  return new WatchStream(cp_, std::move(f));
}

grpc::ServerWriteReactor<v1::LogChunk>* JobsService::Logs(grpc::CallbackServerContext*,
                                                          const v1::LogsRequest* req) {
  auto id = ParseJobId(req->job_id(), "job_id");
  if (!id.ok()) return new ErrorWriter<v1::LogChunk>(ToGrpc(id.status()));
  if (req->offset() < 0) return new ErrorWriter<v1::LogChunk>(Invalid("offset: negative"));
  if (req->rank() < 0) return new ErrorWriter<v1::LogChunk>(Invalid("rank: negative"));
  auto target = cp_->FindLogs(*id, req->task_index(), req->attempt());
  if (!target.ok()) return new ErrorWriter<v1::LogChunk>(ToGrpc(target.status()));
  v1::LogsRequest upstream = *req;
  upstream.set_attempt(target->attempt);
  return new LogStream(target->endpoint,
                       tls_ != nullptr ? tls_->AgentLogsTls(target->node)
                                       : security::ClientTlsOptions{},
                       std::move(upstream));
}

grpc::ServerUnaryReactor* JobsService::ReportCheckpoint(grpc::CallbackServerContext* ctx,
                                                        const v1::ReportCheckpointRequest* req,
                                                        v1::Job* resp) {
  auto* r = ctx->DefaultReactor();
  auto id = ParseJobId(req->job_id(), "job_id");
  if (!id.ok()) return Failed(r, ToGrpc(id.status()));
  if (req->attempt() < 0) return Failed(r, Invalid("attempt: negative"));
  cp_->ReportCheckpoint(*id, req->attempt(), req->path(), [r, resp](Result<v1::Job> job) {
    if (!job.ok()) {
      r->Finish(ToGrpc(job.status()));
      return;
    }
    *resp = *std::move(job);
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* ClusterService::DrainNode(grpc::CallbackServerContext* ctx,
                                                    const v1::DrainNodeRequest* req,
                                                    v1::Node* resp) {
  auto* r = ctx->DefaultReactor();
  if (req->reason().size() > 1024) return Failed(r, Invalid("reason: longer than 1024 bytes"));
  auto node = cp_->Drain(req->name(), req->reason());
  if (!node.ok()) return Failed(r, ToGrpc(node.status()));
  *resp = *std::move(node);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::UndrainNode(grpc::CallbackServerContext* ctx,
                                                      const v1::UndrainNodeRequest* req,
                                                      v1::Node* resp) {
  auto* r = ctx->DefaultReactor();
  auto node = cp_->Undrain(req->name());
  if (!node.ok()) return Failed(r, ToGrpc(node.status()));
  *resp = *std::move(node);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::ListNodes(grpc::CallbackServerContext* ctx,
                                                    const v1::ListNodesRequest* req,
                                                    v1::ListNodesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  std::optional<v1::NodeState> state;
  if (req->state() != v1::NODE_STATE_UNSPECIFIED) state = req->state();
  for (auto& n : cp_->Nodes(state)) *resp->add_nodes() = std::move(n);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::ListQueues(grpc::CallbackServerContext* ctx,
                                                     const v1::ListQueuesRequest*,
                                                     v1::ListQueuesResponse* resp) {
  auto* r = ctx->DefaultReactor();
  for (auto& q : cp_->Queues()) *resp->add_queues() = std::move(q);
  return Failed(r, grpc::Status::OK);
}

grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* AgentService::Connect(
    grpc::CallbackServerContext* ctx) {
  if (tls_ == nullptr) return new AgentStream(cp_, nullptr, {});
  auto cert = tls_->VerifyAgent(*ctx->auth_context(), ctx->peer());
  if (!cert.ok()) return new RefusedAgentStream(ToGrpc(cert.status()));
  return new AgentStream(cp_, tls_, *std::move(cert));
}

}  // namespace baton::server
