#include "baton/server/events.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <cctype>

namespace baton::server {

bool EventFilter::Matches(const v1::Event& ev) const {
  if (ev.sequence() <= after_sequence) return false;
  if (!job_id.empty() && ev.job_id() != job_id) return false;
  if (!node.empty() && ev.node() != node) return false;
  if (queue_visible && !ev.job_id().empty() && !queue_visible(ev.queue())) return false;
  return true;
}

namespace {

std::string NewEpoch() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return fmt::format("{:x}", us);
}

}  // namespace

EventLog::EventLog(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 1)), epoch_(NewEpoch()) {}

void EventLog::Append(v1::Event ev, Time when) {
  *ev.mutable_time() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count());
  std::lock_guard<std::mutex> lock(mu_);
  ev.set_sequence(next_sequence_++);
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(ev));
  const v1::Event& stored = events_.back();
  for (const auto& [id, sub] : subscribers_) {
    if (sub.first.Matches(stored)) sub.second(stored);
  }
}

EventLog::Page EventLog::List(const EventFilter& filter, size_t limit) const {
  if (limit == 0) limit = 1000;
  limit = std::min(limit, kMaxList);
  Page page;
  std::lock_guard<std::mutex> lock(mu_);
  page.last_sequence = next_sequence_ - 1;
  // Walk from the newest back, so "the newest `limit`" costs only what it returns when
  // the filter matches most events.
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (it->sequence() <= filter.after_sequence) break;
    if (!filter.Matches(*it)) continue;
    page.events.push_back(*it);
    if (page.events.size() == limit) break;
  }
  std::reverse(page.events.begin(), page.events.end());
  return page;
}

int64_t EventLog::Subscribe(EventFilter filter, Subscriber fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (filter.after_sequence >= 0) {
    for (const v1::Event& ev : events_) {
      if (filter.Matches(ev)) fn(ev);
    }
  }
  filter.after_sequence = std::max<int64_t>(filter.after_sequence, next_sequence_ - 1);
  const int64_t id = next_subscriber_++;
  subscribers_.emplace(id, std::make_pair(std::move(filter), std::move(fn)));
  return id;
}

void EventLog::Unsubscribe(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.erase(id);
}

int64_t EventLog::last_sequence() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_sequence_ - 1;
}

std::string EventTypeName(v1::EventType type) {
  std::string name = v1::EventType_Name(type);
  constexpr std::string_view kPrefix = "EVENT_TYPE_";
  if (name.rfind(kPrefix, 0) == 0) name = name.substr(kPrefix.size());
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return name;
}

}  // namespace baton::server
