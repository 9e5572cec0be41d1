// The v1 Events gRPC service over a ControlPlane's EventLog (server/events.h): List for
// the recent history, Watch for history-then-live. Callback API, so a watcher costs no
// thread; a watcher that falls more than kMaxEventBacklog events behind is cut off with
// RESOURCE_EXHAUSTED and may watch again from the last sequence it saw.
//
// Callers are authenticated (access.h); job events of queues the caller may not view are
// left out (node events are everyone's).
//
// Thread-safety: stateless apart from the EventLog and Access it uses.
#pragma once

#include <grpcpp/grpcpp.h>

#include "baton/server/access.h"
#include "baton/server/events.h"
#include "baton/v1/events.grpc.pb.h"

namespace baton::server {

inline constexpr size_t kMaxEventBacklog = 100000;

class EventsService final : public v1::Events::CallbackService {
 public:
  EventsService(EventLog* log, Access* access) : log_(log), access_(access) {}

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const v1::ListEventsRequest* req,
                                 v1::ListEventsResponse* resp) override;
  grpc::ServerWriteReactor<v1::Event>* Watch(grpc::CallbackServerContext* ctx,
                                             const v1::WatchEventsRequest* req) override;

 private:
  // Checks the request's size, authenticates the call and builds its filter (tenant rules
  // included).
  Result<EventFilter> FilterFor(grpc::CallbackServerContext* ctx, std::string_view action,
                                const google::protobuf::MessageLite& request,
                                const std::string& job_id, const std::string& node, int64_t after);
  EventLog* log_;
  Access* access_;
};

}  // namespace baton::server
