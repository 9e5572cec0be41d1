// The `baton` client commands' connection to the control plane (batond) and the helpers
// that render v1 API objects for people (tables, ages, lower-case states) and for
// programs (protobuf JSON with the proto's own field names).
//
// Not responsible for: parsing command lines or deciding exit codes (client_commands.h).
// Thread-safety: ControlPlane's stubs may be used from several threads at once (gRPC
// stubs are thread-safe); the rendering helpers are free functions over values.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/security/tls.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::cli {

// Where the client looks for batond when neither --server nor BATON_SERVER says.
inline constexpr std::string_view kDefaultServer = "127.0.0.1:7070";
// How long connecting may take before the command gives up.
inline constexpr std::chrono::seconds kConnectTimeout{5};
// Deadline for each unary call once connected.
inline constexpr std::chrono::seconds kCallTimeout{30};

// Options every client command takes.
struct ClientFlags {
  std::string server;              // empty = $BATON_SERVER, the credentials file's, default
  std::string token;               // empty = $BATON_TOKEN, else the credentials file's
  std::string output = "table";    // "table" or "json"
  // TLS (docs/tls.md): the CA to trust for batond (empty = $BATON_CA_FILE, else
  // plaintext), and an optional client certificate (mTLS; $BATON_CERT_FILE/_KEY_FILE).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool json() const { return output == "json"; }
};

// Adds --ca-file, --cert-file and --key-file to a command.
void AddTlsFlags(CLI::App* cmd, ClientFlags& flags);
// The TLS of the flags, each file from its flag, else its environment variable, else (the
// CA) the credentials file's (`baton login`, `baton up`). Plaintext when no CA file is
// named; errors name the flag.
// The CA file a client trusts: --ca-file, else $BATON_CA_FILE, else the credentials
// file's ("" = plaintext).
std::string ResolveCaFile(const ClientFlags& flags);
Result<security::ClientTlsOptions> ResolveTls(const ClientFlags& flags);

// The address to dial: the flag, else $BATON_SERVER, else the credentials file's (`baton
// login`, `baton up`; auth/credentials.h), else kDefaultServer.
std::string ResolveServer(const std::string& flag);
// Adds --server, --token, --output and the TLS flags to a command.
void AddClientFlags(CLI::App* cmd, ClientFlags& flags);

// A connected client of batond's Jobs and Cluster services.
class ControlPlane {
 public:
  // Dials `address` and waits up to `timeout` for the connection. Unavailable with
  // "cannot reach the control plane at ADDR: <gRPC's reason>" if it does not come up.
  // Every call carries `token` ("authorization: Bearer <token>"; none when empty).
  static Result<std::unique_ptr<ControlPlane>> Connect(
      const std::string& address, std::chrono::milliseconds timeout = kConnectTimeout,
      const std::string& token = "", const security::ClientTlsOptions& tls = {});
  // Connect with the flags' server, token and TLS, each resolved as ResolveServer,
  // auth::ResolveToken and ResolveTls say.
  static Result<std::unique_ptr<ControlPlane>> Connect(const ClientFlags& flags);

  v1::Jobs::Stub& jobs() { return *jobs_; }
  v1::Cluster::Stub& cluster() { return *cluster_; }
  // The connection, for services with stubs of their own (events_command.h).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const std::string& address() const { return address_; }

  // Describes a failed call for people. A lost connection reads "cannot reach the
  // control plane at ADDR: message"; anything else "CODE: message" (the caller prefixes
  // the command).
  std::string Describe(const grpc::Status& status) const;
  // Whether `status` means the control plane itself could not be reached: UNAVAILABLE
  // while the channel is not connected. UNAVAILABLE on a live connection came from the
  // server (e.g. a node's agent is down while reading logs) and is reported as such.
  bool IsUnreachable(const grpc::Status& status) const;

 private:
  ControlPlane() = default;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Jobs::Stub> jobs_;
  std::unique_ptr<v1::Cluster::Stub> cluster_;
};

// Gives a unary call the standard deadline.
void SetCallDeadline(grpc::ClientContext& ctx);

// "INVALID_ARGUMENT", "NOT_FOUND", ...
std::string_view GrpcCodeName(grpc::StatusCode code);

// Job states as people type and read them: "pending", "running", "succeeded", ...
std::string JobStateName(v1::JobState state);
// The inverse of JobStateName; nullopt for anything else.
std::optional<v1::JobState> ParseJobState(std::string_view name);
// Every name ParseJobState accepts, in lifecycle order.
std::vector<std::string> JobStateNames();
bool IsTerminal(v1::JobState state);
// "ready", "not-ready", "lost", "drained".
std::string NodeStateName(v1::NodeState state);

// A proto timestamp on baton's timeline; nullopt when unset (all zero).
std::optional<Time> FromTimestamp(const google::protobuf::Timestamp& ts);
// "3m12s" since `ts`, or "-" when unset.
std::string FormatAge(const google::protobuf::Timestamp& ts, Time now);
// "2026-11-21 03:04:05" (UTC), or "-" when unset.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
// Total GPUs a job asks for: tasks x gpus_per_task, wire defaults applied ("16", "0.5";
// MIG jobs: instances and profile, "2x1g.10gb").
std::string JobGpus(const v1::JobSpec& spec);
// "node-a:0,1,2,3"; "node-a:-" for a task without GPUs.
std::string FormatAssignment(const v1::TaskAssignment& assignment);
// What a GPU is split into, for `baton nodes`: its MIG instances ("3g.40gb,1g.10gb*", *
// marks one a job holds; "MIG, no instances"), or the share fractional tasks hold
// ("0.5 shared"); "" for a GPU used whole or free.
std::string GpuPartitions(const v1::Gpu& gpu);
// The exit status `baton wait` reports for a terminal job: 0 succeeded; failed: the last
// attempt's exit code if it is 1..255, else 1; cancelled: 130. Non-terminal: 1.
int JobExitStatus(const v1::Job& job);

// One protobuf JSON object on one line, field names as in the .proto, every field shown.
std::string ToJson(const google::protobuf::Message& message);

// A plain text table: a header and rows, columns padded to their widest cell and two
// spaces apart; empty cells print as "-"; no trailing spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

}  // namespace baton::cli
