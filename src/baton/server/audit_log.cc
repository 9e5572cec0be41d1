#include "baton/server/audit_log.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "baton/auth/secret.h"

namespace baton::server {
namespace {

using google::protobuf::util::TimeUtil;

constexpr size_t kTimeDigits = 20;
constexpr size_t kMaxField = 512;
// The narrowest time bucket List reads with one store List: 10^8 µs = 100 s.
constexpr int kMinBucketDigits = 8;
constexpr int64_t kMaxBuckets = 2000;

std::string Clip(std::string s) {
  if (s.size() > kMaxField) s.resize(kMaxField);
  return s;
}

int64_t Pow10(int n) {
  int64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

}  // namespace

AuditLog::AuditLog(store::Store* store, const Clock* clock, AuditOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      budget_(options.refusal_burst),
      refilled_(clock->Now()),
      refusals_(store, 1024) {
  auto r = auth::RandomHex(4);
  run_ = r.ok() ? *r : "00000000";
}

AuditLog::~AuditLog() { refusals_.Flush(); }

std::string AuditLog::NextKey(Time now, v1::AuditRecord* rec) {
  const int64_t us = std::max<int64_t>(0, now.time_since_epoch().count());
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = ++counter_;
  }
  std::string id = fmt::format("{:0{}}-{}-{:08}", us, kTimeDigits, run_, n);
  rec->set_id(id);
  *rec->mutable_time() = TimeUtil::MicrosecondsToTimestamp(us);
  return std::string(kAuditPrefix) + id;
}

store::Op AuditLog::Record(const AuditEntry& e) {
  v1::AuditRecord rec;
  store::Op op;
  op.type = store::Op::kPut;
  op.key = NextKey(clock_->Now(), &rec);
  rec.set_user(Clip(e.user));
  rec.set_token_id(Clip(e.token_id));
  rec.set_peer(Clip(e.peer));
  rec.set_action(Clip(e.action));
  rec.set_object(Clip(e.object));
  rec.set_outcome(e.outcome);
  rec.set_detail(Clip(e.detail));
  op.value = rec.SerializeAsString();
  return op;
}

void AuditLog::Refuse(AuditEntry e) {
  const Time now = clock_->Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const double elapsed = std::max(0.0, ToSeconds(now - refilled_));
    refilled_ = std::max(refilled_, now);
    budget_ = std::min(options_.refusal_burst, budget_ + elapsed * options_.refusals_per_second);
    if (budget_ < 1) {
      ++pending_suppressed_;
      ++suppressed_;
      return;
    }
    budget_ -= 1;
    if (pending_suppressed_ > 0) {
      e.detail += fmt::format(" [{} earlier refusal(s) not recorded: over the audit rate limit]",
                              pending_suppressed_);
      pending_suppressed_ = 0;
    }
  }
  store::Op op = Record(e);
  refusals_.Put(std::move(op.key), std::move(op.value), [](const Status& s) {
    if (!s.ok()) spdlog::error("audit: cannot record a refusal: {}", s.message());
  });
}

void AuditLog::Flush() { refusals_.Flush(); }

int64_t AuditLog::suppressed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressed_;
}

Result<v1::ListAuditResponse> AuditLog::List(const v1::ListAuditRequest& req) const {
  if (req.limit() < 0 || req.limit() > kMaxList) {
    return InvalidArgument(fmt::format("limit: must be between 0 and {}", kMaxList));
  }
  const int64_t now_us = clock_->Now().time_since_epoch().count();
  auto micros = [](const google::protobuf::Timestamp& ts) {
    return TimeUtil::TimestampToMicroseconds(ts);
  };
  const int64_t until = req.has_until() ? micros(req.until()) : now_us + 1;
  const int64_t since = req.has_since() ? micros(req.since()) : now_us - int64_t{86400} * 1000000;
  if (since < 0 || until < 0) return InvalidArgument("since, until: must not be before 1970");
  if (since >= until) return v1::ListAuditResponse();
  const size_t limit = req.limit() == 0 ? kDefaultList : static_cast<size_t>(req.limit());
  std::string after;  // the page token: the key of the last record returned
  if (!req.page_token().empty()) {
    if (req.page_token().size() > 64 || req.page_token().find('/') != std::string::npos) {
      return InvalidArgument("page_token: not a token from Audit.List");
    }
    after = std::string(kAuditPrefix) + req.page_token();
  }
  // Buckets: keys share their first (20 - d) time digits per 10^d µs.
  int d = kMinBucketDigits;
  while ((until - since) / Pow10(d) > kMaxBuckets && d < static_cast<int>(kTimeDigits)) ++d;
  const int64_t width = Pow10(d);
  v1::ListAuditResponse resp;
  for (int64_t b = since / width; b <= (until - 1) / width; ++b) {
    const std::string prefix =
        fmt::format("{}{:0{}}", kAuditPrefix, b, static_cast<int>(kTimeDigits) - d);
    if (!after.empty() && prefix + "~" < after) continue;  // wholly before the page token
    BATON_ASSIGN_OR_RETURN(auto kvs, store_->List(prefix));
    for (const auto& kv : kvs) {
      if (!after.empty() && kv.key <= after) continue;
      v1::AuditRecord rec;
      if (!rec.ParseFromString(kv.value)) continue;
      const int64_t t = micros(rec.time());
      if (t < since || t >= until) continue;
      if (!req.user().empty() && rec.user() != req.user()) continue;
      if (!req.action().empty() && rec.action() != req.action()) continue;
      if (!req.outcome().empty() && rec.outcome() != req.outcome()) continue;
      if (static_cast<size_t>(resp.records_size()) == limit) {
        resp.set_next_page_token(resp.records(resp.records_size() - 1).id());
        return resp;
      }
      *resp.add_records() = std::move(rec);
    }
  }
  return resp;
}

}  // namespace baton::server
