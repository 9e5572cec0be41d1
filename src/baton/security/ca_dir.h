// batond's PKI directory (default <data-dir>/pki; docs/tls.md):
//
//   ca.crt             the CA bundle that clients and agents trust (0644)
//   ca.key             the CA's private key (0600); not written when the operator's CA key
//                      is given by path (--tls-ca-key), which is then read from there
//   server.crt/.key    batond's serving certificate (chain: leaf + CA bundle), issued anew
//                      at every start for the configured hosts
//   admin.crt/.key     a user certificate named "admin" for the operator (mutual TLS; it
//                      may create bootstrap tokens), issued when missing or past 2/3 of
//                      its life
//
// A CA is generated on the first start when none is given and the directory holds none
// (may_generate). HA replicas (etcd) must share one CA: they get may_generate = false
// and need the operator's CA files (or copies of ca.crt/ca.key in each replica's dir).
//
// Thread-safety: OpenCaDir is not safe against itself on one directory (batond's LOCK
// file or the election keeps one writer).
#pragma once

#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/pki.h"

namespace baton::security {

struct CaDirOptions {
  std::string dir;
  std::string ca_cert_file;  // the operator's CA (both or neither)
  std::string ca_key_file;
  bool may_generate = true;
  // SANs of the server certificate besides localhost, 127.0.0.1 and ::1.
  std::vector<std::string> hosts;
  std::string server_name = "batond";
  Duration ca_validity = Seconds(int64_t{10} * 365 * 24 * 3600);
  Duration server_validity = Seconds(365 * 24 * 3600);
  Duration admin_validity = Seconds(365 * 24 * 3600);
};

struct ServerPki {
  CertificateAuthority ca;
  Issued server;  // cert_pem: leaf followed by the CA bundle
  std::string ca_file;
  std::string server_cert_file;
  std::string server_key_file;
  std::string admin_cert_file;
  std::string admin_key_file;
  bool generated = false;  // the CA was made on this start
};

Result<ServerPki> OpenCaDir(const CaDirOptions& options, Time now);

}  // namespace baton::security
