// Time for baton: a microsecond timeline and the Clock seam.
//
// Time is std::chrono microseconds since the Unix epoch. The scheduler core never reads
// a clock: drivers pass `now` in. Servers use SystemClock; the simulator and tests use
// ManualClock and advance it explicitly (no sleeps for synchronisation).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace baton {

using Duration = std::chrono::microseconds;
using Time = std::chrono::sys_time<Duration>;

constexpr Duration Seconds(int64_t s) { return std::chrono::seconds(s); }
// Rounds to the nearest microsecond.
Duration SecondsF(double s);
double ToSeconds(Duration d);
double ToSeconds(Time t);
constexpr Time TimeFromSeconds(int64_t s) { return Time(std::chrono::seconds(s)); }

// "2017-10-09 07:01:55" (UTC; fractional seconds dropped).
std::string FormatTime(Time t);
// A compact duration for people: "42s", "3m12s", "5h02m", "3d04h".
std::string FormatDuration(Duration d);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
};

// The machine's real-time clock.
class SystemClock final : public Clock {
 public:
  Time Now() const override;
};

// A clock that never jumps: the machine's monotonic clock, shown on the Time axis (its
// epoch is arbitrary, so its readings are for measuring intervals, not for people).
// For timeouts that a wall-clock step must not fire early or hold back (the agent's
// orphan grace).
class MonotonicClock final : public Clock {
 public:
  Time Now() const override;
};

// A clock that moves only when told to. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = Time{}) : now_(start) {}
  Time Now() const override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(Time t) { now_ = t; }

 private:
  Time now_;
};

}  // namespace baton
