#include "baton/server/bootstrap_tokens.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "baton/security/pki.h"
#include "baton/security/secret.h"

namespace baton::server {
namespace {

constexpr std::string_view kPrefix = "pki/bootstrap/";
constexpr std::string_view kTokenPrefix = "bjt_";
constexpr size_t kIdHex = 12;
constexpr size_t kSecretHex = 32;

struct Record {
  std::string hash;
  int64_t expires_us = 0;
  int32_t uses_left = 0;
  std::string node_name;
  std::string description;
};

std::string Encode(const Record& r) {
  nlohmann::json j = {{"sha256", r.hash},
                      {"expires_us", r.expires_us},
                      {"uses_left", r.uses_left},
                      {"node_name", r.node_name},
                      {"description", r.description}};
  return j.dump();
}

Result<Record> Decode(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Internal("bootstrap token record: not JSON");
  Record r;
  r.hash = j.value("sha256", "");
  r.expires_us = j.value("expires_us", int64_t{0});
  r.uses_left = j.value("uses_left", 0);
  r.node_name = j.value("node_name", "");
  r.description = j.value("description", "");
  return r;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Result<CreatedBootstrapToken> BootstrapTokens::Create(const BootstrapTokenSpec& spec,
                                                      const WithOps& with) {
  if (spec.ttl <= Duration(0) || spec.ttl > kMaxBootstrapTokenTtl) {
    return InvalidArgument("ttl_seconds: must be within 1 s .. 7 days");
  }
  if (spec.uses < 1 || spec.uses > kMaxBootstrapTokenUses) {
    return InvalidArgument(fmt::format("uses: must be within 1 .. {}", kMaxBootstrapTokenUses));
  }
  if (!spec.node_name.empty()) {
    BATON_RETURN_IF_ERROR(security::ValidateCertName(spec.node_name, "node_name"));
  }
  if (spec.description.size() > 1024) {
    return InvalidArgument("description: longer than 1024 bytes");
  }
  const Time now = clock_->Now();
  // Forget tokens that can no longer be used by anyone.
  if (auto all = store_->List(kPrefix); all.ok()) {
    for (const auto& kv : *all) {
      auto r = Decode(kv.value);
      if (!r.ok() || r->expires_us <= now.time_since_epoch().count()) {
        (void)store_->Delete(kv.key, kv.mod_revision);
      }
    }
  }
  BATON_ASSIGN_OR_RETURN(std::string id, security::RandomHex(kIdHex / 2));
  BATON_ASSIGN_OR_RETURN(std::string secret, security::RandomHex(kSecretHex / 2));
  Record r;
  r.hash = security::Sha256Hex(secret);
  r.expires_us = (now + spec.ttl).time_since_epoch().count();
  r.uses_left = spec.uses;
  r.node_name = spec.node_name;
  r.description = spec.description;
  const std::string key = fmt::format("{}{}", kPrefix, id);
  store::Txn txn;
  txn.compares.push_back({key, store::Compare::kNotExists, 0});
  txn.ops.push_back({store::Op::kPut, key, Encode(r)});
  if (with) {
    for (auto& op : with(id)) txn.ops.push_back(std::move(op));
  }
  auto put = store_->Txn(txn);
  if (!put.ok()) return put.status().WithPrefix("store bootstrap token");
  if (!put->succeeded) return Internal(fmt::format("bootstrap token {}: id taken", id));
  CreatedBootstrapToken out;
  out.token = fmt::format("{}{}.{}", kTokenPrefix, id, secret);
  out.id = id;
  out.expires_at = now + spec.ttl;
  out.uses = spec.uses;
  out.node_name = spec.node_name;
  spdlog::info("pki: bootstrap token {} created ({} use(s), until {} UTC{}{})", id, spec.uses,
               FormatTime(out.expires_at), spec.node_name.empty() ? "" : ", node ", spec.node_name);
  return out;
}

Result<std::string> BootstrapTokens::Consume(std::string_view token, std::string_view node_name,
                                             const WithOps& with) {
  if (!token.starts_with(kTokenPrefix)) {
    return Unauthenticated("bootstrap token: malformed (want bjt_<id>.<secret>)");
  }
  std::string_view rest = token.substr(kTokenPrefix.size());
  const size_t dot = rest.find('.');
  if (dot != kIdHex || rest.size() != kIdHex + 1 + kSecretHex || !IsHex(rest.substr(0, dot)) ||
      !IsHex(rest.substr(dot + 1))) {
    return Unauthenticated("bootstrap token: malformed (want bjt_<id>.<secret>)");
  }
  const std::string id(rest.substr(0, dot));
  const std::string hash = security::Sha256Hex(rest.substr(dot + 1));
  const std::string key = fmt::format("{}{}", kPrefix, id);
  std::lock_guard<std::mutex> lock(mu_);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status().WithPrefix("bootstrap token");
    if (!kv->has_value()) {
      return Unauthenticated(fmt::format("bootstrap token {}: unknown (or expired long ago)", id));
    }
    BATON_ASSIGN_OR_RETURN(Record r, Decode((*kv)->value));
    if (!security::ConstantTimeEquals(r.hash, hash)) {
      return Unauthenticated(fmt::format("bootstrap token {}: wrong secret", id));
    }
    const Time now = clock_->Now();
    if (now.time_since_epoch().count() >= r.expires_us) {
      return Unauthenticated(fmt::format("bootstrap token {}: expired at {} UTC", id,
                                         FormatTime(Time(Duration(r.expires_us)))));
    }
    if (r.uses_left <= 0) {
      return Unauthenticated(fmt::format("bootstrap token {}: already used", id));
    }
    if (!r.node_name.empty() && r.node_name != node_name) {
      return Unauthenticated(
          fmt::format("bootstrap token {}: only for node {}, not {}", id, r.node_name, node_name));
    }
    r.uses_left--;
    store::Txn txn;
    txn.compares.push_back({key, store::Compare::kModRevisionEquals, (*kv)->mod_revision});
    txn.ops.push_back({store::Op::kPut, key, Encode(r)});
    if (with) {
      for (auto& op : with(id)) txn.ops.push_back(std::move(op));
    }
    auto put = store_->Txn(txn);
    if (!put.ok()) return put.status().WithPrefix("bootstrap token");
    if (put->succeeded) return id;
    // Another replica spent a use meanwhile: read it again.
  }
  return Status(StatusCode::kUnavailable,
                fmt::format("bootstrap token {}: too much contention; retry", id));
}

}  // namespace baton::server
