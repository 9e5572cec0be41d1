#include "baton/server/events_service.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>

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

// Streams matching events: the retained ones first, then live ones, one write in flight.
class EventStream final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  EventStream(EventLog* log, EventFilter filter) : log_(log) {
    id_ = log_->Subscribe(std::move(filter), [this](const v1::Event& ev) { Push(ev); });
  }

  void OnWriteDone(bool ok) override {
    const v1::Event* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.pop_front();
      if (ok && !finished_ && !q_.empty()) {
        next = &q_.front();
      } else {
        writing_ = false;
      }
    }
    if (next) StartWrite(next);
  }
  void OnCancel() override { Close(grpc::Status::CANCELLED); }
  void OnDone() override {
    log_->Unsubscribe(id_);
    delete this;
  }

 private:
  void Push(const v1::Event& ev) {
    const v1::Event* start = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      if (q_.size() >= kMaxEventBacklog) {
        finished_ = true;
        Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            fmt::format("events: the client fell more than {} events behind; "
                                        "watch again from the last sequence it saw",
                                        kMaxEventBacklog)));
        return;
      }
      q_.push_back(ev);
      if (!writing_) {
        writing_ = true;
        start = &q_.front();
      }
    }
    if (start) StartWrite(start);
  }
  void Close(const grpc::Status& s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(s);
  }

  EventLog* log_;
  int64_t id_ = 0;
  std::mutex mu_;
  std::deque<v1::Event> q_;
  bool writing_ = false;
  bool finished_ = false;
};

class ErrorStream final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  explicit ErrorStream(const grpc::Status& s) { Finish(s); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* EventsService::List(grpc::CallbackServerContext* ctx,
                                              const v1::ListEventsRequest* req,
                                              v1::ListEventsResponse* resp) {
  auto* r = ctx->DefaultReactor();
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
  EventFilter f{req->job_id(), req->node(), req->after_sequence()};
  EventLog::Page page = log_->List(f, static_cast<size_t>(req->limit()));
  for (auto& ev : page.events) *resp->add_events() = std::move(ev);
  resp->set_last_sequence(page.last_sequence);
  resp->set_epoch(log_->epoch());
  r->Finish(grpc::Status::OK);
  return r;
}

grpc::ServerWriteReactor<v1::Event>* EventsService::Watch(grpc::CallbackServerContext*,
                                                          const v1::WatchEventsRequest* req) {
  grpc::Status bad = CheckFilter(req->job_id(), req->node());
  if (!bad.ok()) return new ErrorStream(bad);
  return new EventStream(log_, EventFilter{req->job_id(), req->node(), req->after_sequence()});
}

}  // namespace baton::server
