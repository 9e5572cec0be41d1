#include "baton/cli/up_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "baton/agent/gpu/nvml_gpu_discovery.h"
#include "baton/agent/grpc_agent.h"
#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/server/batond.h"

namespace baton::cli {
namespace {

std::string DefaultDataDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return fmt::format("{}/baton", x);
  if (const char* h = std::getenv("HOME"); h && *h) return fmt::format("{}/.local/state/baton", h);
  return "/tmp/baton";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "local";
  std::string name(buf);
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) c = '-';
  }
  return name;
}

// Points the CLI at this control plane: saves its address and the admin token in the
// credentials file, unless that file is someone else's (another server). Returns what
// it did, for the banner.
std::string ConfigureCli(const std::string& api, const std::string& admin_token_file,
                         const std::string& ca_file) {
  auto token = auth::ReadTokenFile(admin_token_file);
  if (!token.ok()) return fmt::format("cannot read the admin token: {}", token.status().message());
  const std::string path = auth::CredentialsPath();
  auto existing = auth::LoadCredentials(path);
  if (existing.ok() && existing->has_value() && (*existing)->server != api) {
    return fmt::format("left {} alone (it is for {}); to use this cluster: baton login --server "
                       "{} --token-file {}",
                       path, (*existing)->server, api, admin_token_file);
  }
  Status s = auth::SaveCredentials(path, {api, *token, ca_file});
  if (!s.ok()) return s.message();
  return fmt::format("the CLI is logged in as admin (credentials in {}{})", path,
                     ca_file.empty() ? "" : ", trusting the CA " + ca_file);
}

// Restores the signal mask RunUp changed, whichever way it returns.
struct MaskGuard {
  sigset_t old;
  ~MaskGuard() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

}  // namespace

CLI::App* AddUpCommand(CLI::App& app, UpFlags& flags) {
  CLI::App* up = app.add_subcommand(
      "up", "Start a control plane and a local agent on this machine (Ctrl-C stops both)");
  up->add_option("--fake-gpus", flags.fake_gpus,
                 "Made-up GPUs for the local agent, e.g. 8xH100 (default: NVML, else 8xH100)");
  up->add_option("--data-dir", flags.data_dir,
                 "State directory (default $XDG_STATE_HOME/baton or ~/.local/state/baton)");
  up->add_option("--listen", flags.listen, "gRPC address")->capture_default_str();
  up->add_option("--http", flags.http, "HTTP address (/metrics, /healthz)")->capture_default_str();
  up->add_option("--policy", flags.policy, "Scheduling policy")->capture_default_str();
  up->add_option("--name", flags.name, "Node name of the local agent (default: host name)");
  up->add_option("--task-user", flags.task_user,
                 "User (name or uid) tasks run as when run by root (default: nobody)");
  up->add_flag("--map-users", flags.map_users,
               "Run a job's tasks as the local account named like its submitter");
  up->add_flag("--allow-root-tasks", flags.allow_root_tasks, "Allow tasks to run as root");
  up->add_flag("--plaintext", flags.plaintext,
               "Serve gRPC and HTTP without TLS (default: TLS with a local CA in "
               "<data-dir>/pki, which the CLI is set up to trust)");
  return up;
}

int RunUp(const UpFlags& flags, std::ostream& out, std::ostream& err) {
  // Every thread started below inherits a mask with SIGINT/SIGTERM blocked, so only the
  // sigwait at the end sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  MaskGuard guard;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &guard.old);

  const std::string data_dir = flags.data_dir.empty() ? DefaultDataDir() : flags.data_dir;
  server::BatondOptions bo;
  bo.data_dir = data_dir;
  bo.listen = flags.listen;
  bo.http_listen = flags.http;
  bo.control_plane.policy = flags.policy;
  // TLS by default: batond makes its CA (kept in <data-dir>/pki) and a one-use bootstrap
  // token the local agent joins with (docs/tls.md).
  bo.tls.enabled = !flags.plaintext;
  const std::string join_token_file = data_dir + "/pki/local-agent.join";
  if (bo.tls.enabled) {
    bo.tls.bootstrap_token_file = join_token_file;
    bo.tls.bootstrap_token.uses = 1;
    bo.tls.bootstrap_token.node_name = flags.name.empty() ? HostName() : flags.name;
  }
  auto batond = server::Batond::Start(bo);
  if (!batond.ok()) {
    err << "baton up: " << batond.status().message() << "\n";
    return 1;
  }

  // Secure by default even here: the local agent and the CLI use the bootstrap tokens
  // batond wrote on its first start (docs/security.md).
  auto agent_token = auth::ReadTokenFile(data_dir + "/agent.token");
  if (!agent_token.ok()) {
    err << "baton up: agent token: " << agent_token.status().message() << "\n";
    return 1;
  }
  agent::AgentProcessOptions ao;
  ao.token = *agent_token;
  ao.server = (*batond)->grpc_address();
  ao.name = flags.name.empty() ? HostName() : flags.name;
  ao.data_dir = data_dir + "/agent";
  ao.address = "127.0.0.1";
  ao.log_listen = "127.0.0.1:0";
  ao.fake_gpus = flags.fake_gpus;
  ao.task_user = {flags.task_user, flags.map_users, flags.allow_root_tasks};
  std::string ca_file;
  if (server::BatondTls* tls = (*batond)->tls()) {
    ca_file = tls->pki().ca_file;
    ao.ca_file = ca_file;
    auto join = auth::ReadSecretFile(join_token_file);
    if (!join.ok()) {
      err << "baton up: the local agent's bootstrap token: " << join.status().message() << "\n";
      return 1;
    }
    ao.bootstrap_token = *join;
  }
  std::string gpu_note;
  if (ao.fake_gpus.empty()) {
    agent::NvmlGpuDiscovery nvml;
    auto inv = nvml.Discover();
    if (!inv.ok() || inv->gpus.empty()) {
      ao.fake_gpus = "8xH100";
      gpu_note = fmt::format(" (no NVML GPU found{}; using 8 fake H100s)",
                             inv.ok() ? "" : ": " + inv.status().message());
    } else {
      gpu_note = fmt::format(" ({} GPU(s) from NVML)", inv->gpus.size());
    }
  } else {
    gpu_note = fmt::format(" (fake GPUs {})", ao.fake_gpus);
  }
  Status agent_status;
  std::jthread agent_thread([&](std::stop_token st) {
    agent_status = agent::RunAgentProcess(ao, st);
  });

  const std::string api = (*batond)->grpc_address();
  out << "baton up: control plane (gRPC) at " << api << ", state in " << data_dir << "\n";
  if ((*batond)->http_port()) {
    const char* scheme = ca_file.empty() ? "http" : "https";
    out << "baton up: metrics at " << scheme << "://127.0.0.1:" << (*batond)->http_port()
        << "/metrics, health at /healthz\n";
    out << "baton up: dashboard at " << scheme << "://127.0.0.1:" << (*batond)->http_port()
        << "/\n";
  }
  if (!ca_file.empty()) {
    out << "baton up: TLS with a local CA " << ca_file
        << " (browsers and other clients: trust it, or --plaintext)\n";
  }
  out << "baton up: local agent '" << ao.name << "'" << gpu_note << "\n";
  out << "baton up: " << ConfigureCli(api, data_dir + "/admin.token", ca_file) << "\n";
  out << "baton up: admin token in " << data_dir << "/admin.token (the dashboard asks for it)\n";
  out << "baton up: try `baton run --wait -- echo hello`; Ctrl-C stops\n";
  out.flush();

  int sig = 0;
  sigwait(&stop_signals, &sig);
  out << "baton up: stopping (signal " << sig << ")\n";
  out.flush();
  agent_thread.request_stop();
  agent_thread.join();
  (*batond)->Shutdown();
  if (!agent_status.ok()) {
    err << "baton up: agent: " << agent_status.message() << "\n";
    return 1;
  }
  out << "baton up: stopped\n";
  return 0;
}

}  // namespace baton::cli
