// ChangeOrigin: who asked for a change the ControlPlane makes, and the audit record that
// must be written in the same store transaction as the change (audit_log.h).
//
// Thread-safety: a value; `audit` is called under the ControlPlane's lock and must be
// quick and must not call back into the ControlPlane.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "baton/store/store.h"

namespace baton::server {

struct ChangeOrigin {
  // The authenticated user ("" = an internal caller or a test).
  std::string user;
  // The store op recording the change of `object` ("job/42", "node/n1"); empty = the
  // change is not audited (internal callers, tests).
  std::function<store::Op(const std::string& object)> audit;

  std::optional<store::Op> AuditOp(const std::string& object) const {
    if (!audit) return std::nullopt;
    return audit(object);
  }
};

}  // namespace baton::server
