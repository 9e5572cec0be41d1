#include "baton/server/events_service.h"

#include <fmt/format.h>

#include "baton/server/grpc_services.h"
#include "baton/server/stream_writers.h"

namespace baton::server {
namespace {

constexpr size_t kMaxFilterLength = 253;

grpc::Status CheckFilter(const std::string& job_id, const std::string& node) {
  if (job_id.size() > kMaxFilterLength || node.size() > kMaxFilterLength) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("job_id and node: at most {} characters", kMaxFilterLength));
  }
  return grpc::Status::OK;
}

// Streams matching events: the retained ones first, then live ones.
class EventStream final : public QueuedWriter<v1::Event> {
 public:
  EventStream(EventLog* log, EventFilter filter)
      : QueuedWriter(kMaxEventBacklog,
                     fmt::format("events: the client fell more than {} events behind; watch "
                                 "again from the last sequence it saw",
                                 kMaxEventBacklog)),
        log_(log) {
    id_ = log_->Subscribe(std::move(filter), [this](const v1::Event& ev) { Push(ev); });
  }
  void OnDone() override {
    log_->Unsubscribe(id_);
    delete this;
  }

 private:
  EventLog* log_;
  int64_t id_ = 0;
};

}  // namespace

Result<EventFilter> EventsService::FilterFor(grpc::CallbackServerContext* ctx,
                                             std::string_view action,
                                             const google::protobuf::MessageLite& request,
                                             const std::string& job_id, const std::string& node,
                                             int64_t after) {
  BATON_RETURN_IF_ERROR(access_->CheckSize(*ctx, action, request));
  BATON_ASSIGN_OR_RETURN(Identity who, access_->Authenticate(*ctx, action));
  BATON_RETURN_IF_ERROR(access_->Check(who, Permission::kViewCluster, action, "events",
                                       Resource{{}, "", "events"}));
  EventFilter f{job_id, node, after};
  if (auto subtrees = access_->Viewable(who)) {
    const QueueTree* tree = &access_->queues();
    f.queue_visible = [tree, subtrees = *std::move(subtrees)](const std::string& queue) {
      return tree->Within(queue, subtrees);
    };
  }
  return f;
}

grpc::ServerUnaryReactor* EventsService::List(grpc::CallbackServerContext* ctx,
                                              const v1::ListEventsRequest* req,
                                              v1::ListEventsResponse* resp) {
  auto* r = ctx->DefaultReactor();
  auto f = FilterFor(ctx, "events.list", *req, req->job_id(), req->node(), req->after_sequence());
  if (!f.ok()) {
    r->Finish(ToGrpc(f.status()));
    return r;
  }
  grpc::Status bad = CheckFilter(req->job_id(), req->node());
  if (!bad.ok()) {
    r->Finish(bad);
    return r;
  }
  if (req->limit() < 0 || req->after_sequence() < 0) {
    r->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "limit and after_sequence: must not be negative"));
    return r;
  }
  EventLog::Page page = log_->List(*f, static_cast<size_t>(req->limit()));
  for (auto& ev : page.events) *resp->add_events() = std::move(ev);
  resp->set_last_sequence(page.last_sequence);
  resp->set_epoch(log_->epoch());
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerWriteReactor<v1::Event>* EventsService::Watch(grpc::CallbackServerContext* ctx,
                                                          const v1::WatchEventsRequest* req) {
  auto f = FilterFor(ctx, "events.watch", *req, req->job_id(), req->node(), req->after_sequence());
  if (!f.ok()) return new ErrorWriter<v1::Event>(ToGrpc(f.status()));
  grpc::Status bad = CheckFilter(req->job_id(), req->node());
  if (!bad.ok()) return new ErrorWriter<v1::Event>(bad);
  return new EventStream(log_, *std::move(f));
}

}  // namespace baton::server
