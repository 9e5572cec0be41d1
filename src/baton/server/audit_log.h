// AuditLog: the durable record of every mutating request and every refusal — who
// (user, token), what (action), which object, when, from where (peer) and the outcome.
//
// Append-only: records go to "audit/<time µs, 20 digits>-<run>-<n>" in the Store and are
// never changed or deleted by batond. Two ways in:
//  - Record() builds the store op of a successful change's record; the caller writes it
//    in the SAME transaction as the change (ControlPlane via ChangeOrigin, Principals),
//    so no change is ever durable without its record, crash or not;
//  - Refuse() records a refusal (an authentication or authorization denial, or a change
//    that failed) on its own, asynchronously. Refusals are rate-limited (a token bucket,
//    AuditOptions) so a flood of bad requests cannot fill the store: over the budget they
//    are counted, and the next refusal recorded says how many were left out.
//
// List() reads the records back from the store by time range (buckets of the key's time
// digits, so a query reads only the range it asks for), oldest first, with filters.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/server/group_commit.h"
#include "baton/store/store.h"
#include "baton/v1/auth.pb.h"

namespace baton::server {

struct AuditOptions {
  // Refusals recorded per second on average, and how many may come at once.
  double refusals_per_second = 5;
  double refusal_burst = 200;
};

// One request to record. outcome: "ok", "denied" or "error".
struct AuditEntry {
  std::string user;
  std::string token_id;
  std::string peer;
  std::string action;
  std::string object;
  std::string outcome = "ok";
  std::string detail;
};

class AuditLog {
 public:
  static constexpr int32_t kDefaultList = 1000;
  static constexpr int32_t kMaxList = 10000;

  AuditLog(store::Store* store, const Clock* clock, AuditOptions options = {});
  ~AuditLog();  // writes what Refuse() queued
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // The store op of `e`'s record (time = now); write it with the change it records.
  store::Op Record(const AuditEntry& e);
  // Records a refusal on its own (outcome "denied" or "error"), within the rate limit.
  void Refuse(AuditEntry e);
  // Waits until every refusal queued so far is written (tests, shutdown).
  void Flush();

  // Records matching the request (see auth.proto's ListAuditRequest), oldest first.
  Result<v1::ListAuditResponse> List(const v1::ListAuditRequest& req) const;

  // Refusals left out by the rate limit since start.
  int64_t suppressed() const;

 private:
  std::string NextKey(Time now, v1::AuditRecord* rec);

  store::Store* store_;
  const Clock* clock_;
  const AuditOptions options_;
  std::string run_;  // random per process: keys stay unique across restarts and replicas
  mutable std::mutex mu_;
  uint64_t counter_ = 0;
  double budget_;
  Time refilled_;
  int64_t pending_suppressed_ = 0;
  int64_t suppressed_ = 0;
  GroupCommitter refusals_;
};

inline constexpr std::string_view kAuditPrefix = "audit/";

}  // namespace baton::server
