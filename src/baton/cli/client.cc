#include "baton/cli/client.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "baton/auth/credentials.h"
#include "baton/common/quantity.h"
#include "baton/common/server_target.h"

namespace baton::cli {

std::string ResolveServer(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("BATON_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  if (std::string saved = auth::CredentialsServer(); !saved.empty()) return saved;
  return std::string(kDefaultServer);
}

void AddTlsFlags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("--ca-file", f.ca_file,
                  "TLS: the cluster CA to trust for batond, e.g. batond's <tls-dir>/ca.crt "
                  "(default: $BATON_CA_FILE, else the credentials file's; none = plaintext)");
  cmd->add_option("--cert-file", f.cert_file,
                  "TLS: a client certificate from the cluster CA (default: $BATON_CERT_FILE)");
  cmd->add_option("--key-file", f.key_file,
                  "TLS: the client certificate's key (default: $BATON_KEY_FILE)");
}

void AddClientFlags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("--server", f.server,
                  "Control plane address host:port, or every HA replica's, comma-separated "
                  "(default: $BATON_SERVER, the credentials file's, else 127.0.0.1:7070)");
  cmd->add_option("--token", f.token,
                  "API token (default: $BATON_TOKEN, else the one `baton login` saved)");
  cmd->add_option("--output,-o", f.output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  AddTlsFlags(cmd, f);
}

namespace {
std::string FlagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = std::getenv(env);
  return v != nullptr ? std::string(v) : std::string();
}
}  // namespace

std::string ResolveCaFile(const ClientFlags& flags) {
  std::string ca_file = FlagOrEnv(flags.ca_file, "BATON_CA_FILE");
  if (ca_file.empty()) ca_file = auth::CredentialsCaFile();
  return ca_file;
}

Result<security::ClientTlsOptions> ResolveTls(const ClientFlags& flags) {
  return security::ClientTlsOptions::FromFiles(ResolveCaFile(flags),
                                               FlagOrEnv(flags.cert_file, "BATON_CERT_FILE"),
                                               FlagOrEnv(flags.key_file, "BATON_KEY_FILE"));
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Connect(const ClientFlags& flags) {
  BATON_ASSIGN_OR_RETURN(security::ClientTlsOptions tls, ResolveTls(flags));
  return Connect(ResolveServer(flags.server), kConnectTimeout, auth::ResolveToken(flags.token),
                 tls);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Connect(
    const std::string& address, std::chrono::milliseconds timeout, const std::string& token,
    const security::ClientTlsOptions& tls) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->address_ = address;
  // Several addresses (HA replicas): connect to the one that listens, the leader.
  BATON_ASSIGN_OR_RETURN(std::string target, ServerTarget(address, "--server"));
  cp->channel_ = security::MakeClientChannel(target, tls, {}, token);
  cp->jobs_ = v1::Jobs::NewStub(cp->channel_);
  cp->cluster_ = v1::Cluster::NewStub(cp->channel_);

  // Wait for READY, but give up at the first TRANSIENT_FAILURE: a refused connection
  // should fail at once rather than after the whole timeout of reconnect back-offs.
  const auto deadline = std::chrono::system_clock::now() + timeout;
  grpc_connectivity_state state = cp->channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
         state != GRPC_CHANNEL_SHUTDOWN) {
    if (!cp->channel_->WaitForStateChange(state, deadline)) break;
    state = cp->channel_->GetState(/*try_to_connect=*/true);
  }
  if (state == GRPC_CHANNEL_READY) return cp;

  // The channel knows why it failed but only says so to a call: a fail-fast call on a
  // failed channel returns UNAVAILABLE with the last connection error.
  grpc::ClientContext probe;
  probe.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  v1::ListQueuesResponse ignored;
  const grpc::Status s = cp->cluster_->ListQueues(&probe, v1::ListQueuesRequest(), &ignored);
  // It came up just now (an answer, even a refusal, means the server is there).
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
      s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return cp;
  }
  std::string why = s.error_message();
  if (state != GRPC_CHANNEL_TRANSIENT_FAILURE || why.empty()) {
    why = fmt::format("no connection within {}", FormatDuration(timeout));
  }
  if (!tls.enabled()) {
    why += " (if batond serves TLS, give --ca-file or $BATON_CA_FILE)";
  }
  return Status(StatusCode::kUnavailable,
                fmt::format("cannot reach the control plane at {}: {}", address, why));
}

bool ControlPlane::IsUnreachable(const grpc::Status& status) const {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
}

std::string ControlPlane::Describe(const grpc::Status& status) const {
  if (IsUnreachable(status)) {
    return fmt::format("cannot reach the control plane at {}: {}", address_,
                       status.error_message());
  }
  return fmt::format("{}: {}", GrpcCodeName(status.error_code()), status.error_message());
}

void SetCallDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN";
  }
}

namespace {

constexpr std::pair<v1::JobState, std::string_view> kJobStates[] = {
    {v1::JOB_STATE_PENDING, "pending"},     {v1::JOB_STATE_SCHEDULED, "scheduled"},
    {v1::JOB_STATE_STARTING, "starting"},   {v1::JOB_STATE_RUNNING, "running"},
    {v1::JOB_STATE_SUCCEEDED, "succeeded"}, {v1::JOB_STATE_FAILED, "failed"},
    {v1::JOB_STATE_CANCELLED, "cancelled"},
};

}  // namespace

std::string JobStateName(v1::JobState state) {
  for (const auto& [s, name] : kJobStates) {
    if (s == state) return std::string(name);
  }
  return "unknown";
}

std::optional<v1::JobState> ParseJobState(std::string_view name) {
  for (const auto& [s, n] : kJobStates) {
    if (n == name) return s;
  }
  return std::nullopt;
}

std::vector<std::string> JobStateNames() {
  std::vector<std::string> names;
  for (const auto& [s, n] : kJobStates) names.emplace_back(n);
  return names;
}

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

std::string NodeStateName(v1::NodeState state) {
  switch (state) {
    case v1::NODE_STATE_READY: return "ready";
    case v1::NODE_STATE_NOT_READY: return "not-ready";
    case v1::NODE_STATE_LOST: return "lost";
    case v1::NODE_STATE_DRAINED: return "drained";
    default: return "unknown";
  }
}

std::optional<Time> FromTimestamp(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return std::nullopt;
  return Time(Duration(ts.seconds() * 1'000'000 + ts.nanos() / 1000));
}

std::string FormatAge(const google::protobuf::Timestamp& ts, Time now) {
  auto t = FromTimestamp(ts);
  if (!t) return "-";
  return FormatDuration(std::max(Duration(0), now - *t));
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  auto t = FromTimestamp(ts);
  return t ? FormatTime(*t) : "-";
}

std::string JobGpus(const v1::JobSpec& spec) {
  const int64_t tasks = spec.tasks() > 0 ? spec.tasks() : 1;
  auto per_task = spec.gpus_per_task().empty() ? Result<Quantity>(Quantity::Whole(1))
                                               : Quantity::Parse(spec.gpus_per_task());
  if (!per_task.ok()) return "?";
  const std::string total = (*per_task * tasks).ToString();
  return spec.mig_profile().empty() ? total : fmt::format("{}x{}", total, spec.mig_profile());
}

std::string FormatAssignment(const v1::TaskAssignment& a) {
  std::vector<std::string> gpus;
  for (int i = 0; i < a.gpu_indices_size(); ++i) {
    gpus.push_back(i < a.mig_devices_size()
                       ? fmt::format("{}({})", a.gpu_indices(i), a.mig_devices(i))
                       : std::to_string(a.gpu_indices(i)));
  }
  return fmt::format("{}:{}", a.node(), gpus.empty() ? "-" : fmt::format("{}", fmt::join(gpus, ",")));
}

std::string GpuPartitions(const v1::Gpu& gpu) {
  if (gpu.mig_enabled()) {
    if (gpu.mig_instances().empty()) return "MIG, no instances";
    std::vector<std::string> parts;
    for (const v1::MigInstance& m : gpu.mig_instances()) {
      parts.push_back(m.profile() + (m.job_id().empty() ? "" : "*"));
    }
    return fmt::format("{}", fmt::join(parts, ","));
  }
  if (!gpu.shared().empty()) return gpu.shared() + " shared";
  return "";
}

int JobExitStatus(const v1::Job& job) {
  switch (job.state()) {
    case v1::JOB_STATE_SUCCEEDED:
      return 0;
    case v1::JOB_STATE_CANCELLED:
      return 130;
    case v1::JOB_STATE_FAILED: {
      if (job.attempts().empty()) return 1;
      const int32_t code = job.attempts(job.attempts_size() - 1).exit_code();
      return code >= 1 && code <= 255 ? code : 1;
    }
    default:
      return 1;
  }
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = false;
  std::string json;
  // Only fails for messages holding an Any of an unknown type; v1 has none.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    return "{}";
  }
  return json;
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  for (auto& cell : row) {
    if (cell.empty()) cell = "-";
  }
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

}  // namespace baton::cli
