// Trace readers: Philly CSV and baton's JSON lines. See trace.h for the contract.
//
// How it works. Both readers load the whole input into one buffer and walk it line by
// line with pointers, so a row costs no allocation beyond the TraceJob it produces (for
// Philly, the id and queue fit std::string's small buffer). CSV quoting is undone in
// place, since unquoting only ever shrinks a field. Numbers go through std::from_chars,
// which is locale-free and fast. Every row is checked, also rows the filter drops, so a
// bad trace fails the same way whatever the filter.
//
// Bad input. Values quoted in messages are cut to kMaxShownBytes and their control and
// non-ASCII bytes written as \xNN, so a NUL byte, a stray binary blob or a 1 GB line gives
// a short printable message, never a crash.
//
// This file uses only the header-only parts of baton/common (Status, Result, Time) and no
// fmt, so it links even where baton_sim reaches baton_common only through other modules.
#include "baton/sim/trace.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "baton/common/limits.h"

namespace baton::sim {
namespace {

using nlohmann::json;

// Largest number of seconds accepted for a submit time or a duration (about 3,170 years).
// Keeps microsecond counts far from int64 overflow, even for submit + duration.
constexpr double kMaxSeconds = 1e11;
// At most this many bytes of an offending value are echoed in a message.
constexpr size_t kMaxShownBytes = 64;
constexpr int64_t kMaxCount = std::numeric_limits<int32_t>::max();
constexpr int32_t kMaxPriority = 1000;

constexpr const char* kTimestampForms =
    "expected YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS";

// ---------------------------------------------------------------------------------------
// Messages

// Appends `v` with control bytes, backslashes and non-ASCII bytes written as \xNN, cut to
// `max_bytes` of input ("... (N bytes)" says how long it really was).
void AppendEscaped(std::string* out, std::string_view v, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t n = std::min(v.size(), max_bytes);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out->push_back(static_cast<char>(c));
    } else {
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
  if (v.size() > n) out->append("... (" + std::to_string(v.size()) + " bytes)");
}

// An input value as shown in messages: '0', 'abc\x00'.
std::string Shown(std::string_view v) {
  std::string out = "'";
  AppendEscaped(&out, v, kMaxShownBytes);
  out.push_back('\'');
  return out;
}

// A JSON value as shown in messages, in JSON syntax: -5, "x", [1,2].
std::string ShownJson(const json& v) {
  std::string out;
  AppendEscaped(&out, v.dump(-1, ' ', false, json::error_handler_t::replace), kMaxShownBytes);
  return out;
}

// "source:line: field: what", or "source:line: what" when `field` is empty.
Status RowError(std::string_view source, int line, std::string_view field, std::string_view what) {
  std::string m;
  m.append(source).append(":").append(std::to_string(line)).append(": ");
  if (!field.empty()) m.append(field).append(": ");
  m.append(what);
  return InvalidArgument(std::move(m));
}

// ---------------------------------------------------------------------------------------
// Input

// The whole input, refused beyond limits::kMaxTraceBytes.
Result<std::string> ReadAll(std::istream& in, std::string_view source) {
  constexpr std::streamsize kChunk = 1 << 16;
  std::string data;
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr) return InvalidArgument(std::string(source) + ": no input stream");
  for (;;) {
    const size_t old = data.size();
    if (old > limits::kMaxTraceBytes) {
      return InvalidArgument(std::string(source) + ": larger than " +
                             std::to_string(limits::kMaxTraceBytes) + " bytes");
    }
    data.resize(old + kChunk);
    const std::streamsize got = buf->sgetn(data.data() + old, kChunk);
    data.resize(old + static_cast<size_t>(std::max<std::streamsize>(got, 0)));
    if (got <= 0) break;
  }
  return data;
}

// A line longer than limits::kMaxTraceLineBytes is an error naming it.
Status CheckLineLength(std::string_view source, int line, const char* begin, const char* end) {
  const auto length = static_cast<size_t>(end - begin);
  if (length <= limits::kMaxTraceLineBytes) return Status::Ok();
  return InvalidArgument(std::string(source) + ":" + std::to_string(line) + ": the line is " +
                         std::to_string(length) + " bytes; at most " +
                         std::to_string(limits::kMaxTraceLineBytes));
}

// Walks a mutable buffer line by line. Lines end at '\n'; a '\r' just before it is dropped
// (CRLF files), as is a UTF-8 byte-order mark at the very start. Line numbers are 1-based.
class LineCursor {
 public:
  explicit LineCursor(std::string& buf) : p_(buf.data()), end_(buf.data() + buf.size()) {
    if (buf.size() >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
  }

  // Sets [*begin, *end) to the next line; false when the input is used up.
  bool Next(char** begin, char** end) {
    if (p_ == end_) return false;
    ++line_;
    auto* nl = static_cast<char*>(std::memchr(p_, '\n', static_cast<size_t>(end_ - p_)));
    char* stop = nl != nullptr ? nl : end_;
    *begin = p_;
    *end = (stop > p_ && stop[-1] == '\r') ? stop - 1 : stop;
    p_ = nl != nullptr ? nl + 1 : end_;
    return true;
  }
  int line() const { return line_; }

 private:
  char* p_;
  char* end_;
  int line_ = 0;
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits one CSV line into `fields`, views into the line. Unquoted fields are trimmed of
// spaces and tabs. A field that starts with '"' is RFC 4180 quoted ("a,b", "say ""hi""")
// and is unquoted in place; quoted fields may not span lines. Returns nullptr, or what is
// wrong with the line.
const char* SplitCsvLine(char* begin, char* end, std::vector<std::string_view>* fields) {
  fields->clear();
  char* p = begin;
  for (;;) {
    char* q = p;
    while (q < end && IsBlank(*q)) ++q;
    if (q < end && *q == '"') {
      char* w = q;  // write position; never passes the read position r
      char* r = q + 1;
      bool closed = false;
      while (r < end) {
        if (*r != '"') {
          *w++ = *r++;
        } else if (r + 1 < end && r[1] == '"') {
          *w++ = '"';
          r += 2;
        } else {
          ++r;
          closed = true;
          break;
        }
      }
      if (!closed) return "unterminated quoted field";
      while (r < end && IsBlank(*r)) ++r;
      fields->emplace_back(q, static_cast<size_t>(w - q));
      if (r == end) return nullptr;
      if (*r != ',') return "unexpected character after a closing quote";
      p = r + 1;
    } else {
      auto* comma = static_cast<char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
      char* stop = comma != nullptr ? comma : end;
      fields->push_back(Trim(std::string_view(p, static_cast<size_t>(stop - p))));
      if (comma == nullptr) return nullptr;
      p = comma + 1;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Numbers and times

// Seconds as a Duration, rounded to the nearest microsecond. |s| <= kMaxSeconds.
Duration MicrosFromSeconds(double s) { return Duration(std::llround(s * 1e6)); }

// A finite decimal number in from_chars syntax (no '+', no spaces, the whole text).
bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

// A whole number written as "8" or "8.0". Values beyond int64 are clamped (then rejected
// by CheckCount with a "too large" message). False for fractions and junk.
bool ParseWholeNumber(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (p == s.data() + s.size()) {
    if (ec == std::errc()) return true;
    if (ec == std::errc::result_out_of_range) {  // digits only, beyond int64
      *out = s.front() == '-' ? std::numeric_limits<int64_t>::min()
                              : std::numeric_limits<int64_t>::max();
      return true;
    }
  }
  double d = 0;
  if (!ParseDouble(s, &d) || d != std::floor(d)) return false;
  if (d >= 9e18)
    *out = std::numeric_limits<int64_t>::max();
  else if (d <= -9e18)
    *out = std::numeric_limits<int64_t>::min();
  else
    *out = static_cast<int64_t>(d);
  return true;
}

// Why `n` is not a valid GPU or task count, or nullptr if it is.
const char* CheckCount(int64_t n) {
  if (n <= 0) return "must be a positive integer";
  if (n > kMaxCount) return "must be at most 2147483647";
  return nullptr;
}

// Why `s` seconds is not a valid job duration, or nullptr. Sets *out when valid.
const char* CheckDuration(double s, Duration* out) {
  if (!(s > 0)) return "must be > 0";
  if (s > kMaxSeconds) return "must be at most 1e11 seconds";
  *out = MicrosFromSeconds(s);
  if (out->count() <= 0) return "must be at least 1 microsecond";
  return nullptr;
}

// Reads exactly `n` ASCII digits at s[pos].
bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Parses the three accepted forms (see ParseTimestamp). Returns nullptr and sets *out, or
// returns what is wrong.
const char* ParseDateTime(std::string_view s, Time* out) {
  if (s.size() != 10 && s.size() != 19) return kTimestampForms;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ParseDigits(s, 0, 4, &y) || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) || s[7] != '-' ||
      !ParseDigits(s, 8, 2, &d)) {
    return kTimestampForms;
  }
  if (s.size() == 19 &&
      ((s[10] != ' ' && s[10] != 'T') || !ParseDigits(s, 11, 2, &h) || s[13] != ':' ||
       !ParseDigits(s, 14, 2, &mi) || s[16] != ':' || !ParseDigits(s, 17, 2, &sec))) {
    return kTimestampForms;
  }
  using namespace std::chrono;
  if (mo < 1 || mo > 12) return "month must be 01..12";
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return "day out of range for the month";
  if (h > 23) return "hour must be 00..23";
  if (mi > 59) return "minute must be 00..59";
  if (sec > 59) return "second must be 00..59";
  *out = Time(sys_days(ymd)) + hours(h) + minutes(mi) + seconds(sec);
  return nullptr;
}

// Sorts by submit time; equal times keep file order (jobs are appended in line order).
void SortBySubmit(std::vector<TraceJob>* jobs) {
  std::stable_sort(jobs->begin(), jobs->end(),
                   [](const TraceJob& a, const TraceJob& b) { return a.submit < b.submit; });
}

// ---------------------------------------------------------------------------------------
// Philly CSV

// Column positions, found by header name. cluster is optional (queue "" when absent);
// gpu_time and any other column are ignored.
struct PhillyColumns {
  size_t count = 0;  // fields per row
  size_t timestamp = 0, duration = 0, num_gpus = 0;
  std::optional<size_t> cluster;
};

Result<PhillyColumns> ReadPhillyHeader(const std::vector<std::string_view>& names,
                                       std::string_view source, int line) {
  PhillyColumns cols;
  cols.count = names.size();
  std::optional<size_t> ts, dur, gpus;
  struct Wanted {
    std::string_view name;
    std::optional<size_t>* slot;
  };
  const Wanted wanted[] = {
      {"timestamp", &ts}, {"duration", &dur}, {"num_gpus", &gpus}, {"cluster", &cols.cluster}};
  for (size_t i = 0; i < names.size(); ++i) {
    for (const Wanted& w : wanted) {
      if (names[i] != w.name) continue;
      if (w.slot->has_value()) return RowError(source, line, w.name, "duplicate column");
      *w.slot = i;
    }
  }
  for (const Wanted& w : wanted) {
    if (!w.slot->has_value() && w.name != "cluster") {
      return RowError(source, line, w.name,
                      "missing required column (the header needs timestamp, duration and "
                      "num_gpus; cluster is optional)");
    }
  }
  cols.timestamp = *ts;
  cols.duration = *dur;
  cols.num_gpus = *gpus;
  return cols;
}

// Fills `job` from one split row. `line` is the row's 1-based line.
Status PhillyRowToJob(const std::vector<std::string_view>& f, const PhillyColumns& cols,
                      std::string_view source, int line, TraceJob* job) {
  if (f.size() != cols.count) {
    return RowError(source, line, "",
                    "expected " + std::to_string(cols.count) + " fields as in the header, got " +
                        std::to_string(f.size()));
  }
  if (const char* why = ParseDateTime(f[cols.timestamp], &job->submit)) {
    return RowError(source, line, "timestamp",
                    std::string(why) + ", got " + Shown(f[cols.timestamp]));
  }
  double seconds = 0;
  if (!ParseDouble(f[cols.duration], &seconds)) {
    return RowError(source, line, "duration",
                    "must be a finite number of seconds, got " + Shown(f[cols.duration]));
  }
  if (const char* why = CheckDuration(seconds, &job->duration)) {
    return RowError(source, line, "duration",
                    std::string(why) + ", got " + Shown(f[cols.duration]));
  }
  int64_t gpus = 0;
  const char* why =
      ParseWholeNumber(f[cols.num_gpus], &gpus) ? CheckCount(gpus) : "must be a positive integer";
  if (why != nullptr) {
    return RowError(source, line, "num_gpus",
                    std::string(why) + ", got " + Shown(f[cols.num_gpus]));
  }
  job->gpus = static_cast<int32_t>(gpus);
  if (cols.cluster) job->queue.assign(f[*cols.cluster]);
  job->id = std::to_string(line);
  job->line = line;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// JSON lines

constexpr std::string_view kJsonKeys[] = {"id",    "submit_s", "duration_s", "gpus",
                                          "queue", "gpu_type", "priority",   "tasks",
                                          "checkpoint_s"};

// nlohmann's message without its "[json.exception.parse_error.101] " tag, made printable.
std::string JsonMessage(const json::exception& e) {
  std::string_view what = e.what();
  if (!what.empty() && what.front() == '[') {
    if (size_t close = what.find("] "); close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
  }
  std::string out;
  AppendEscaped(&out, what, 240);
  return out;
}

// An integral JSON number (8, or 8.0) as int64, clamped like ParseWholeNumber.
bool JsonWholeNumber(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    *out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  if (!std::isfinite(d) || d != std::floor(d)) return false;
  if (d >= 9e18)
    *out = std::numeric_limits<int64_t>::max();
  else if (d <= -9e18)
    *out = std::numeric_limits<int64_t>::min();
  else
    *out = static_cast<int64_t>(d);
  return true;
}

// Fills `job` from one parsed line. Checks keys, types and ranges; not id uniqueness.
Status JsonToJob(const json& obj, std::string_view source, int line, TraceJob* job) {
  const auto fail = [&](std::string_view field, const char* why, const json& value) {
    return RowError(source, line, field, std::string(why) + ", got " + ShownJson(value));
  };
  if (!obj.is_object()) return fail("", "expected a JSON object", obj);
  for (const auto& item : obj.items()) {
    const std::string& key = item.key();
    if (std::find(std::begin(kJsonKeys), std::end(kJsonKeys), key) == std::end(kJsonKeys)) {
      return RowError(source, line, "",
                      "unknown key " + Shown(key) +
                          " (known keys: id, submit_s, duration_s, gpus, queue, gpu_type, "
                          "priority, tasks)");
    }
  }
  for (std::string_view key : {"id", "submit_s", "duration_s", "gpus"}) {
    if (!obj.contains(key)) return RowError(source, line, key, "required key is missing");
  }

  const json& id = obj["id"];
  if (id.is_string()) {
    job->id = id.get<std::string>();
    if (job->id.empty()) return fail("id", "must not be empty", id);
  } else if (id.is_number_unsigned()) {
    job->id = std::to_string(id.get<uint64_t>());
  } else if (id.is_number_integer()) {
    job->id = std::to_string(id.get<int64_t>());
  } else {
    return fail("id", "must be a string or an integer", id);
  }

  const json& submit = obj["submit_s"];
  if (!submit.is_number()) return fail("submit_s", "must be a number of seconds", submit);
  const double submit_s = submit.get<double>();
  if (!(submit_s >= 0)) return fail("submit_s", "must be >= 0", submit);
  if (submit_s > kMaxSeconds) return fail("submit_s", "must be at most 1e11 seconds", submit);
  job->submit = Time(MicrosFromSeconds(submit_s));

  const json& duration = obj["duration_s"];
  if (!duration.is_number()) {
    return fail("duration_s", "must be a number of seconds", duration);
  }
  if (const char* why = CheckDuration(duration.get<double>(), &job->duration)) {
    return fail("duration_s", why, duration);
  }

  const json& gpus = obj["gpus"];
  int64_t n = 0;
  if (const char* why = JsonWholeNumber(gpus, &n) ? CheckCount(n) : "must be a positive integer") {
    return fail("gpus", why, gpus);
  }
  job->gpus = static_cast<int32_t>(n);

  // Optional keys; null means unset.
  for (auto [key, out] : {std::pair{"queue", &job->queue}, std::pair{"gpu_type", &job->gpu_type}}) {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) continue;
    if (!it->is_string()) return fail(key, "must be a string", *it);
    *out = it->get<std::string>();
  }
  if (const auto it = obj.find("priority"); it != obj.end() && !it->is_null()) {
    if (!JsonWholeNumber(*it, &n) || n < -kMaxPriority || n > kMaxPriority) {
      return fail("priority", "must be an integer in -1000..1000", *it);
    }
    job->priority = static_cast<int32_t>(n);
  }
  if (const auto it = obj.find("tasks"); it != obj.end() && !it->is_null()) {
    if (const char* why = JsonWholeNumber(*it, &n) ? CheckCount(n) : "must be a positive integer") {
      return fail("tasks", why, *it);
    }
    if (job->gpus % n != 0) {
      const std::string why = "must divide gpus (" + std::to_string(job->gpus) + ")";
      return fail("tasks", why.c_str(), *it);
    }
    job->tasks = static_cast<int32_t>(n);
  }
  if (const auto it = obj.find("checkpoint_s"); it != obj.end() && !it->is_null()) {
    Duration every{0};
    if (!it->is_number() || CheckDuration(it->get<double>(), &every) != nullptr) {
      return fail("checkpoint_s", "must be a positive number of seconds", *it);
    }
    job->checkpoint_interval = every;
  }
  job->line = line;
  return Status::Ok();
}

}  // namespace

// -----------------------------------------------------------------------------------------
// Public API

bool TraceFilter::Keep(const TraceJob& job) const {
  if (!queues.empty() && std::find(queues.begin(), queues.end(), job.queue) == queues.end()) {
    return false;
  }
  if (from.has_value() && job.submit < *from) return false;
  if (to.has_value() && job.submit >= *to) return false;
  return true;
}

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kPhillyCsv:
      return "philly-csv";
    case TraceFormat::kJsonl:
      return "jsonl";
  }
  return "unknown";
}

Result<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "philly-csv") return TraceFormat::kPhillyCsv;
  if (name == "jsonl") return TraceFormat::kJsonl;
  return InvalidArgument("unknown trace format " + Shown(name) +
                         "; valid formats: philly-csv, jsonl");
}

Result<Time> ParseTimestamp(std::string_view text) {
  Time t;
  if (const char* why = ParseDateTime(text, &t)) {
    return InvalidArgument("invalid timestamp " + Shown(text) + ": " + why + " (UTC)");
  }
  return t;
}

Result<std::vector<TraceJob>> ReadPhillyCsv(std::istream& in, std::string_view source,
                                            const TraceFilter& filter) {
  BATON_ASSIGN_OR_RETURN(std::string data, ReadAll(in, source));
  std::vector<TraceJob> jobs;
  jobs.reserve(static_cast<size_t>(std::count(data.begin(), data.end(), '\n')));
  LineCursor lines(data);
  std::vector<std::string_view> fields;
  std::optional<PhillyColumns> cols;
  char* begin = nullptr;
  char* end = nullptr;
  while (lines.Next(&begin, &end)) {
    BATON_RETURN_IF_ERROR(CheckLineLength(source, lines.line(), begin, end));
    if (Trim(std::string_view(begin, static_cast<size_t>(end - begin))).empty()) continue;
    if (const char* why = SplitCsvLine(begin, end, &fields)) {
      return RowError(source, lines.line(), "", why);
    }
    if (!cols) {  // the first non-blank line is the header
      BATON_ASSIGN_OR_RETURN(cols, ReadPhillyHeader(fields, source, lines.line()));
      continue;
    }
    TraceJob job;
    BATON_RETURN_IF_ERROR(PhillyRowToJob(fields, *cols, source, lines.line(), &job));
    if (filter.Keep(job)) jobs.push_back(std::move(job));
  }
  if (!cols) {
    return InvalidArgument(std::string(source) +
                           ": empty input; expected a header line such as "
                           "'timestamp,duration,num_gpus,gpu_time,cluster'");
  }
  SortBySubmit(&jobs);
  return jobs;
}

Result<std::vector<TraceJob>> ReadJsonlTrace(std::istream& in, std::string_view source,
                                             const TraceFilter& filter) {
  BATON_ASSIGN_OR_RETURN(std::string data, ReadAll(in, source));
  std::vector<TraceJob> jobs;
  // Where each id was first seen, to name both lines of a duplicate. Only looked up,
  // never iterated, so its order cannot leak into results.
  std::unordered_map<std::string, int> id_lines;
  LineCursor lines(data);
  char* begin = nullptr;
  char* end = nullptr;
  while (lines.Next(&begin, &end)) {
    const int line = lines.line();
    BATON_RETURN_IF_ERROR(CheckLineLength(source, line, begin, end));
    const std::string_view text = Trim(std::string_view(begin, static_cast<size_t>(end - begin)));
    if (text.empty() || text.front() == '#') continue;
    // nlohmann stops at a NUL byte as if the input ended there; refuse it instead.
    if (text.find('\0') != std::string_view::npos) {
      return RowError(source, line, "", "invalid JSON: line contains a NUL byte");
    }
    json obj;
    try {
      obj = json::parse(text);
    } catch (const json::exception& e) {
      return RowError(source, line, "", "invalid JSON: " + JsonMessage(e));
    }
    TraceJob job;
    BATON_RETURN_IF_ERROR(JsonToJob(obj, source, line, &job));
    const auto [it, inserted] = id_lines.emplace(job.id, line);
    if (!inserted) {
      return RowError(source, line, "id",
                      "duplicate id " + Shown(job.id) + " (first on line " +
                          std::to_string(it->second) + ", again on line " + std::to_string(line) +
                          ")");
    }
    if (filter.Keep(job)) jobs.push_back(std::move(job));
  }
  SortBySubmit(&jobs);
  return jobs;
}

Result<std::vector<TraceJob>> ReadTraceFile(const std::string& path, TraceFormat format,
                                            const TraceFilter& filter) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) return NotFound("trace file not found: " + path);
  if (std::filesystem::is_directory(st)) {
    return InvalidArgument("trace file " + path + " is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return InvalidArgument("cannot open trace file " + path + ": " + std::strerror(errno));
  }
  switch (format) {
    case TraceFormat::kPhillyCsv:
      return ReadPhillyCsv(in, path, filter);
    case TraceFormat::kJsonl:
      return ReadJsonlTrace(in, path, filter);
  }
  return Internal("unhandled trace format");
}

}  // namespace baton::sim
