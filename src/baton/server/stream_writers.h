// Server-streaming reactors shared by the gRPC services (callback API).
//
// QueuedWriter: for streams fed from other threads (watch subscriptions). Push queues a
// message and starts a write when none is in flight; each finished write starts the next,
// so at most one write is outstanding, as the callback API requires. No write may follow
// Finish (the call would never reach OnDone): a Close while a StartWrite is being issued
// leaves the Finish to that thread, right after the call. A client that falls
// `max_backlog` messages behind is ended with RESOURCE_EXHAUSTED and `overflow_message`
// instead of buffering without bound. Subclasses subscribe in their constructor and, in
// OnDone, unsubscribe and delete themselves.
//
// ErrorWriter: a stream that only reports an error (bad request arguments).
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace baton::server {

template <typename Msg>
class QueuedWriter : public grpc::ServerWriteReactor<Msg> {
 public:
  void OnWriteDone(bool ok) override {
    const Msg* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      q_.pop_front();
      if (ok && !finished_ && !q_.empty()) {
        next = &q_.front();
        ++starting_;
      } else {
        writing_ = false;
      }
    }
    if (next) Start(next);
  }
  void OnCancel() override { Close(grpc::Status::CANCELLED); }

 protected:
  QueuedWriter(size_t max_backlog, std::string overflow_message)
      : max_backlog_(max_backlog), overflow_message_(std::move(overflow_message)) {}

  // Any thread.
  void Push(const Msg& m) {
    const Msg* start = nullptr;
    bool overflow = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      overflow = q_.size() >= max_backlog_;
      if (!overflow) {
        q_.push_back(m);
        if (!writing_) {
          writing_ = true;
          start = &q_.front();
          ++starting_;
        }
      }
    }
    if (start) Start(start);
    if (overflow) Close(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, overflow_message_));
  }
  // Ends the stream once; later calls do nothing.
  void Close(const grpc::Status& s) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      if (starting_ > 0) {
        pending_finish_ = s;
        return;
      }
    }
    this->Finish(s);
  }

 private:
  // Issues a write reserved under the lock (starting_ counted), then any Finish that a
  // Close left for it.
  void Start(const Msg* m) {
    this->StartWrite(m);
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--starting_ == 0) finish = std::exchange(pending_finish_, std::nullopt);
    }
    if (finish) this->Finish(*finish);
  }

  const size_t max_backlog_;
  const std::string overflow_message_;
  std::mutex mu_;
  std::deque<Msg> q_;  // q_.front() is being written while writing_
  bool writing_ = false;
  bool finished_ = false;
  int starting_ = 0;                            // StartWrite calls reserved and not yet returned
  std::optional<grpc::Status> pending_finish_;  // a Close's, while starting_ > 0
};

template <typename Msg>
class ErrorWriter final : public grpc::ServerWriteReactor<Msg> {
 public:
  explicit ErrorWriter(const grpc::Status& s) { this->Finish(s); }
  void OnDone() override { delete this; }
};

}  // namespace baton::server
