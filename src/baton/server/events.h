// EventLog: the control plane's bounded recent history of job and node events
// (v1::Event: scheduled, started, preempted, restarted, failed, node lost, ... and why).
//
// What it is: an in-memory ring of the newest `capacity` events, numbered 1, 2, 3, ...
// within one control-plane run (the `epoch` names the run), plus subscribers that hear of
// each event as it is appended. It is not durable: the durable truth of a job is its record
// in the store; events say in order what was decided and why, for people and dashboards.
// After a restart the history starts over (the control plane appends a
// CONTROL_PLANE_STARTED event first).
//
// Not responsible for: deciding what is an event (the ControlPlane calls Append at each
// lifecycle transition), transport (grpc_services, http_api), access rules.
//
// Thread-safety: every method may be called from any thread. Subscriber callbacks run on
// the appending thread with the log's lock held; they must be quick, must not block, and
// must not call back into the EventLog.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "baton/common/time.h"
#include "baton/v1/events.pb.h"

namespace baton::server {

// Which events a reader wants; empty fields match everything.
struct EventFilter {
  std::string job_id;
  // Node events of this node and job events that name it.
  std::string node;
  // Only events with a larger sequence.
  int64_t after_sequence = 0;
  // Job events only of the queues this accepts (tenant isolation, access.h); unset = all.
  // Called with the log's lock held: must be quick and must not call into the EventLog.
  std::function<bool(const std::string& queue)> queue_visible;

  bool Matches(const v1::Event& ev) const;
};

class EventLog {
 public:
  // Events kept by default: about 200 bytes each, so roughly 10 MB.
  static constexpr size_t kDefaultCapacity = 50000;
  // Most events one List returns.
  static constexpr size_t kMaxList = 10000;

  explicit EventLog(size_t capacity = kDefaultCapacity);
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Stamps `ev` with the next sequence and `when`, keeps it (dropping the oldest past
  // capacity) and hands it to every subscriber whose filter matches.
  void Append(v1::Event ev, Time when);

  struct Page {
    std::vector<v1::Event> events;  // oldest first
    int64_t last_sequence = 0;      // newest sequence appended so far (matching or not)
  };
  // The newest `limit` (0 = 1000, capped at kMaxList) retained events matching `filter`.
  Page List(const EventFilter& filter, size_t limit) const;

  using Subscriber = std::function<void(const v1::Event&)>;
  // Calls `fn` with every retained event matching `filter` (after_sequence < 0: none),
  // then with each new matching event, until Unsubscribe. Returns the subscription id.
  int64_t Subscribe(EventFilter filter, Subscriber fn);
  void Unsubscribe(int64_t id);

  int64_t last_sequence() const;
  // Names this run of the log (hex of its creation time in microseconds).
  const std::string& epoch() const { return epoch_; }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  const std::string epoch_;
  mutable std::mutex mu_;
  std::deque<v1::Event> events_;
  int64_t next_sequence_ = 1;
  std::map<int64_t, std::pair<EventFilter, Subscriber>> subscribers_;
  int64_t next_subscriber_ = 1;
};

// "job-scheduled", "node-lost", ... (the enum name, lower case, without EVENT_TYPE_).
std::string EventTypeName(v1::EventType type);

}  // namespace baton::server
