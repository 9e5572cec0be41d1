// The v1 Events gRPC service over a ControlPlane's EventLog (server/events.h): List for
// the recent history, Watch for history-then-live. Callback API, so a watcher costs no
// thread; a watcher that falls more than kMaxEventBacklog events behind is cut off with
// RESOURCE_EXHAUSTED and may watch again from the last sequence it saw.
//
// Thread-safety: stateless apart from the EventLog it reads.
#pragma once

#include <grpcpp/grpcpp.h>

#include "baton/server/events.h"
#include "baton/v1/events.grpc.pb.h"

namespace baton::server {

inline constexpr size_t kMaxEventBacklog = 100000;

class EventsService final : public v1::Events::CallbackService {
 public:
  explicit EventsService(EventLog* log) : log_(log) {}

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const v1::ListEventsRequest* req,
                                 v1::ListEventsResponse* resp) override;
  grpc::ServerWriteReactor<v1::Event>* Watch(grpc::CallbackServerContext* ctx,
                                             const v1::WatchEventsRequest* req) override;

 private:
  EventLog* log_;
};

}  // namespace baton::server
