#include "baton/server/cert_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace baton::server {
namespace {

constexpr std::string_view kIssued = "pki/issued/";
constexpr std::string_view kRevoked = "pki/revoked/";

int64_t Us(Time t) { return t.time_since_epoch().count(); }
Time FromUs(int64_t us) { return Time(Duration(us)); }

std::string Encode(const CertRecord& r) {
  nlohmann::json j = {{"kind", std::string(security::PeerKindName(r.kind))},
                      {"name", r.name},
                      {"issued_us", Us(r.issued_at)},
                      {"not_after_us", Us(r.not_after)}};
  if (r.revoked) {
    j["revoked_us"] = Us(r.revoked_at);
    j["by"] = r.revoked_by;
    j["reason"] = r.reason;
  }
  return j.dump();
}

std::optional<CertRecord> Decode(std::string_view key, const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  CertRecord r;
  r.serial = std::string(key.substr(key.rfind('/') + 1));
  const std::string kind = j.value("kind", "");
  if (kind == security::PeerKindName(security::PeerKind::kUser)) {
    r.kind = security::PeerKind::kUser;
  } else if (kind == security::PeerKindName(security::PeerKind::kControlPlane)) {
    r.kind = security::PeerKind::kControlPlane;
  }
  r.name = j.value("name", "");
  r.issued_at = FromUs(j.value("issued_us", int64_t{0}));
  r.not_after = FromUs(j.value("not_after_us", int64_t{0}));
  r.revoked = j.contains("revoked_us");
  r.revoked_at = FromUs(j.value("revoked_us", int64_t{0}));
  r.revoked_by = j.value("by", "");
  r.reason = j.value("reason", "");
  return r;
}

std::string Whose(const CertRecord& r) {
  return fmt::format("{} {}'s certificate (serial {})", security::PeerKindName(r.kind), r.name,
                     r.serial);
}

}  // namespace

Result<std::string> NormalizeSerial(std::string_view serial, std::string_view field) {
  std::string out;
  for (char c : serial) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return InvalidArgument(fmt::format("{}: '{}' is not a hex serial number", field, serial));
    }
    if (out.empty() && c == '0') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (out.empty()) {
    if (serial.find('0') == std::string_view::npos) {
      return InvalidArgument(fmt::format("{}: empty", field));
    }
    return std::string(1, '0');
  }
  if (out.size() > 64) return InvalidArgument(fmt::format("{}: longer than 64 hex digits", field));
  // Whole bytes, as OpenSSL's BN_bn2hex writes serials (CertInfo::serial): "5F3" -> "05F3".
  if (out.size() % 2 == 1) out.insert(out.begin(), '0');
  return out;
}

store::Op CertRegistry::IssuedOp(const CertRecord& issued) const {
  store::Op op;
  op.key = fmt::format("{}{}", kIssued, issued.serial);
  CertRecord r = issued;
  r.revoked = false;
  op.value = Encode(r);
  return op;
}

Status CertRegistry::RecordIssued(const CertRecord& issued, std::vector<store::Op> with) {
  store::Txn txn;
  txn.ops.push_back(IssuedOp(issued));
  for (auto& op : with) txn.ops.push_back(std::move(op));
  auto done = store_->Txn(txn);
  if (!done.ok()) return done.status().WithPrefix("record the issued certificate");
  return Status::Ok();
}

Status CertRegistry::Refresh(bool force) {
  const Time now = clock_->Now();
  {
    std::shared_lock lock(mu_);
    if (!force && loaded_once_ && now - loaded_ < refresh_) return Status::Ok();
  }
  auto all = store_->List(kRevoked);
  if (!all.ok()) return all.status().WithPrefix("revoked certificates");
  std::unordered_map<std::string, CertRecord> revoked;
  for (const auto& kv : *all) {
    if (auto r = Decode(kv.key, kv.value)) revoked.emplace(r->serial, std::move(*r));
  }
  std::unique_lock lock(mu_);
  revoked_ = std::move(revoked);
  loaded_ = now;
  loaded_once_ = true;
  return Status::Ok();
}

Result<security::CertIdentity> CertRegistry::VerifyPeer(const grpc::AuthContext& ctx,
                                                        const security::CertVerifier& verifier,
                                                        Time now) {
  BATON_ASSIGN_OR_RETURN(security::CertIdentity id, security::VerifyPeer(ctx, verifier, now));
  BATON_RETURN_IF_ERROR(CheckNotRevoked(id));
  return id;
}

Status CertRegistry::CheckNotRevoked(const security::CertIdentity& cert) {
  if (Status s = Refresh(false); !s.ok()) {
    // Fail closed: a store that cannot say is not a yes.
    return Status(StatusCode::kUnavailable, s.message());
  }
  std::shared_lock lock(mu_);
  auto it = revoked_.find(cert.serial);
  if (it == revoked_.end()) return Status::Ok();
  const CertRecord& r = it->second;
  return Unauthenticated(fmt::format("{} {}'s certificate (serial {}) was revoked at {} UTC by {}{}{}",
                                     security::PeerKindName(cert.kind), cert.name, cert.serial,
                                     FormatTime(r.revoked_at), r.revoked_by,
                                     r.reason.empty() ? "" : ": ", r.reason));
}

Result<std::vector<CertRecord>> CertRegistry::Revoke(
    const RevokeTarget& target, const std::string& by, const std::string& reason,
    const std::function<std::vector<store::Op>(const std::string&)>& audit) {
  const int given = !target.node_name.empty() + !target.serial.empty() +
                    !target.certificate_pem.empty();
  if (given != 1) {
    return InvalidArgument("give exactly one of node_name, serial and certificate_pem");
  }
  if (reason.size() > 1024) return InvalidArgument("reason: longer than 1024 bytes");
  const Time now = clock_->Now();
  std::lock_guard<std::mutex> write(write_mu_);

  // What the target names, with the store state each candidate was read at.
  std::vector<CertRecord> candidates;
  std::string object;
  if (!target.node_name.empty()) {
    BATON_RETURN_IF_ERROR(security::ValidateCertName(target.node_name, "node_name"));
    object = fmt::format("node/{}", target.node_name);
    BATON_ASSIGN_OR_RETURN(std::vector<CertRecord> all, List(target.node_name));
    for (auto& r : all) {
      if (r.kind == security::PeerKind::kNode && r.name == target.node_name) {
        candidates.push_back(std::move(r));
      }
    }
    if (candidates.empty()) {
      return NotFound(fmt::format(
          "node {} holds no unexpired certificate issued by this control plane", target.node_name));
    }
  } else if (!target.serial.empty()) {
    BATON_ASSIGN_OR_RETURN(std::string serial, NormalizeSerial(target.serial, "serial"));
    object = fmt::format("certificate/{}", serial);
    for (std::string_view prefix : {kRevoked, kIssued}) {
      auto kv = store_->Get(fmt::format("{}{}", prefix, serial));
      if (!kv.ok()) return kv.status().WithPrefix("certificates");
      if (kv->has_value()) {
        if (auto r = Decode((*kv)->key, (*kv)->value)) {
          candidates.push_back(std::move(*r));
          break;
        }
      }
    }
    if (candidates.empty()) {
      return NotFound(fmt::format(
          "serial: no certificate {} issued by this control plane (for one signed offline, "
          "give the certificate itself: baton cert revoke --certificate FILE)",
          serial));
    }
  } else {
    auto id = security::IdentityOf(target.certificate_pem);
    if (!id.ok()) return id.status().WithPrefix("certificate_pem");
    CertRecord r;
    r.serial = id->serial;
    r.kind = id->kind;
    r.name = id->name;
    r.not_after = id->not_after;
    object = fmt::format("certificate/{}", r.serial);
    if (auto kv = store_->Get(fmt::format("{}{}", kRevoked, r.serial)); kv.ok() && kv->has_value()) {
      if (auto old = Decode((*kv)->key, (*kv)->value)) r = std::move(*old);
    }
    candidates.push_back(std::move(r));
  }

  std::vector<CertRecord> revoked;
  store::Txn txn;
  bool expired = false;
  for (CertRecord& r : candidates) {
    if (r.revoked) continue;
    if (r.not_after <= now) {
      expired = true;
      continue;
    }
    r.revoked = true;
    r.revoked_at = now;
    r.revoked_by = by;
    r.reason = reason;
    txn.compares.push_back({fmt::format("{}{}", kRevoked, r.serial), store::Compare::kNotExists, 0});
    txn.ops.push_back({store::Op::kPut, fmt::format("{}{}", kRevoked, r.serial), Encode(r)});
    revoked.push_back(r);
  }
  if (revoked.empty()) {
    if (expired) {
      return FailedPrecondition(
          fmt::format("{}: has expired already; an expired certificate is refused anyway",
                      Whose(candidates.front())));
    }
    return FailedPrecondition(fmt::format("{}: revoked already at {} UTC by {}",
                                          Whose(candidates.front()),
                                          FormatTime(candidates.front().revoked_at),
                                          candidates.front().revoked_by));
  }
  for (auto& op : audit(object)) txn.ops.push_back(std::move(op));
  auto done = store_->Txn(txn);
  if (!done.ok()) return done.status().WithPrefix("revoke");
  if (!done->succeeded) {
    return Status(StatusCode::kUnavailable,
                  "revoke: another replica revoked one of these certificates meanwhile; retry");
  }
  BATON_RETURN_IF_ERROR(Refresh(true));
  return revoked;
}

Result<std::vector<CertRecord>> CertRegistry::List(std::string_view name) {
  const Time now = clock_->Now();
  std::unordered_map<std::string, CertRecord> by_serial;
  for (std::string_view prefix : {kIssued, kRevoked}) {
    auto all = store_->List(prefix);
    if (!all.ok()) return all.status().WithPrefix("certificates");
    for (const auto& kv : *all) {
      auto r = Decode(kv.key, kv.value);
      if (r && r->not_after <= now) {
        // Expired: refused anyway, so the record has done its job.
        (void)store_->Delete(kv.key, kv.mod_revision);
        continue;
      }
      if (!r || (!name.empty() && r->name != name)) continue;
      auto [it, fresh] = by_serial.emplace(r->serial, *r);
      if (!fresh && r->revoked) {
        // The revocation record wins, keeping the issue time only the other one knows.
        const Time issued = it->second.issued_at;
        it->second = std::move(*r);
        if (it->second.issued_at == Time{}) it->second.issued_at = issued;
      }
    }
  }
  std::vector<CertRecord> out;
  out.reserve(by_serial.size());
  for (auto& [serial, r] : by_serial) out.push_back(std::move(r));
  std::sort(out.begin(), out.end(), [](const CertRecord& a, const CertRecord& b) {
    return std::tie(a.name, a.issued_at, a.serial) < std::tie(b.name, b.issued_at, b.serial);
  });
  return out;
}

}  // namespace baton::server
