// The client side of authentication: where `baton`, the SDK and the agents find their
// token, and gRPC channels that send it with every call.
//
// A client's token is, in this order: the --token flag, $BATON_TOKEN, the credentials
// file. The credentials file ($XDG_CONFIG_HOME/baton/credentials, else
// ~/.config/baton/credentials; $BATON_CREDENTIALS overrides the path) is written by
// `baton login` and `baton up`, mode 0600, as JSON: {"server": "host:port", "token":
// "baton_...", "ca_file": "/path/ca.crt"}. Its server is the default address when neither
// --server nor $BATON_SERVER is given; its ca_file (optional) the CA a client trusts for
// TLS when neither --ca-file nor $BATON_CA_FILE is given. The Python SDK reads the same file (python/baton/auth.py).
//
// Thread-safety: free functions; the channels are thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "baton/common/status.h"

namespace baton::auth {

struct Credentials {
  std::string server;  // "" = none recorded
  std::string token;
  std::string ca_file;  // "" = none recorded (plaintext unless the client says otherwise)
};

// $BATON_CREDENTIALS, else $XDG_CONFIG_HOME/baton/credentials, else
// $HOME/.config/baton/credentials ("" when none of them is set).
std::string CredentialsPath();
// The file's credentials; nullopt when it does not exist. InvalidArgument naming the file
// when it is not what `baton login` writes.
Result<std::optional<Credentials>> LoadCredentials(const std::string& path);
// Writes the file 0600 (creating ~/.config/baton 0700 when missing).
Status SaveCredentials(const std::string& path, const Credentials& credentials);

// The token a client uses: `flag`, else $BATON_TOKEN, else the credentials file's ("" =
// none). A broken credentials file is ignored here (LoadCredentials reports it).
std::string ResolveToken(const std::string& flag);
// The server a client dials when neither --server nor $BATON_SERVER says: the credentials
// file's ("" = none).
std::string CredentialsServer();
// The CA file recorded in the credentials file ("" = none).
std::string CredentialsCaFile();

// A channel to `target` whose every call carries "authorization: Bearer <token>"; no
// header when `token` is empty (the server then answers UNAUTHENTICATED). `transport`:
// the channel's credentials, plaintext when null; baton code passes TLS through
// security::MakeClientChannel (docs/tls.md).
std::shared_ptr<grpc::Channel> CreateChannel(
    const std::string& target, const std::string& token, const grpc::ChannelArguments& args = {},
    std::shared_ptr<grpc::ChannelCredentials> transport = nullptr);

// The metadata key and the value for `token`.
inline constexpr char kAuthorizationHeader[] = "authorization";
std::string BearerValue(const std::string& token);

}  // namespace baton::auth
