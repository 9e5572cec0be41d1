// ServerTarget: the gRPC target for one or several control-plane addresses.
//
// "host:port" is used as is. A comma-separated list ("10.0.0.1:7070,10.0.0.2:7070", for
// HA replicas on etcd) becomes one gRPC target "ipv4:a:p,b:p" with every host resolved to
// IPv4 now: gRPC's default pick_first policy then connects to the first address that
// accepts a connection. Only the leader replica opens its gRPC port (followers do not
// listen), so that is the leader; when it dies the channel tries the list again and
// finds the next leader.
//
// Thread-safety: a pure function (getaddrinfo is thread-safe).
#pragma once

#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton {

// InvalidArgument naming `field` for an empty item, a missing port or an unknown host.
Result<std::string> ServerTarget(std::string_view servers, std::string_view field);

}  // namespace baton
