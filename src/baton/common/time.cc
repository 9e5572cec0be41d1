#include "baton/common/time.h"

#include <cmath>

#include <fmt/format.h>

namespace baton {

Duration SecondsF(double s) { return Duration(std::llround(s * 1e6)); }
double ToSeconds(Duration d) { return static_cast<double>(d.count()) / 1e6; }
double ToSeconds(Time t) { return ToSeconds(t.time_since_epoch()); }

std::string FormatTime(Time t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto days = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd(days);
  std::chrono::hh_mm_ss hms(secs - days);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::string FormatDuration(Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  const char* sign = s < 0 ? "-" : "";
  if (s < 0) s = -s;
  if (s < 60) return fmt::format("{}{}s", sign, s);
  if (s < 3600) return fmt::format("{}{}m{:02d}s", sign, s / 60, s % 60);
  if (s < 86400) return fmt::format("{}{}h{:02d}m", sign, s / 3600, (s % 3600) / 60);
  return fmt::format("{}{}d{:02d}h", sign, s / 86400, (s % 86400) / 3600);
}

Time SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

Time MonotonicClock::Now() const {
  return Time(std::chrono::duration_cast<Duration>(
      std::chrono::steady_clock::now().time_since_epoch()));
}

}  // namespace baton
