// What authentication and auditing cost per request, in isolation (batond does this on
// every call): SHA-256 of a token's secret, a whole Principals::Authenticate (parse, hash,
// look up, constant-time compare, build the identity), an authorization decision, and
// building one audit record. bench/results/auth_bench.md records runs.
#include <benchmark/benchmark.h>

#include "baton/auth/secret.h"
#include "baton/auth/token.h"
#include "baton/server/audit_log.h"
#include "baton/server/authz.h"
#include "baton/server/principals.h"
#include "baton/store/memory/memory_store.h"

namespace {

using namespace baton;

void BM_Sha256OfASecret(benchmark::State& state) {
  const std::string secret = auth::GenerateToken().value().secret;
  for (auto _ : state) benchmark::DoNotOptimize(auth::Sha256Hex(secret));
}
BENCHMARK(BM_Sha256OfASecret);

// With `users` users holding 2 tokens each in the cache.
void BM_Authenticate(benchmark::State& state) {
  store::MemoryStore store;
  SystemClock clock;
  server::Principals p(&store, &clock);
  std::string token;
  for (int i = 0; i < state.range(0); ++i) {
    const std::string user = "user" + std::to_string(i);
    v1::RoleBinding b;
    b.set_role(v1::ROLE_SUBMITTER);
    b.set_queue("team-" + std::to_string(i));
    (void)p.CreateUser(user, {b}, "", nullptr);
    (void)p.CreateToken(user, "", 0, "", nullptr);
    token = p.CreateToken(user, "", 0, "", nullptr).value().secret;
  }
  for (auto _ : state) {
    auto who = p.Authenticate(token);
    if (!who.ok()) state.SkipWithError("refused");
    benchmark::DoNotOptimize(who);
  }
}
BENCHMARK(BM_Authenticate)->Arg(10)->Arg(10000);

void BM_DecideSubmit(benchmark::State& state) {
  server::Identity who;
  who.user = "alice";
  for (int i = 0; i < 8; ++i) {
    v1::RoleBinding b;
    b.set_role(v1::ROLE_VIEWER);
    b.set_queue("q" + std::to_string(i));
    who.bindings.push_back(b);
  }
  v1::RoleBinding b;
  b.set_role(v1::ROLE_SUBMITTER);
  b.set_queue("team-a");
  who.bindings.push_back(b);
  server::Resource r{{"research", "team-a"}, "", "queue team-a"};
  for (auto _ : state)
    benchmark::DoNotOptimize(server::Decide(who, server::Permission::kSubmit, r));
}
BENCHMARK(BM_DecideSubmit);

void BM_AuditRecord(benchmark::State& state) {
  store::MemoryStore store;
  SystemClock clock;
  server::AuditLog log(&store, &clock);
  server::AuditEntry e;
  e.user = "alice";
  e.token_id = "0123456789abcdef";
  e.peer = "ipv4:10.0.0.17:53211";
  e.action = "jobs.submit";
  e.object = "job/123456";
  for (auto _ : state) benchmark::DoNotOptimize(log.Record(e));
}
BENCHMARK(BM_AuditRecord);

}  // namespace

BENCHMARK_MAIN();
