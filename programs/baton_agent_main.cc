// baton-agent: the node agent. Connects to the control plane (batond) and runs the tasks
// it is told to; or, with --simulate N, runs N simulated agents in one process.
// The work is done by baton::agent::RunAgentProcess (src/baton/agent/grpc_agent.h).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <absl/synchronization/mutex.h>
#include <spdlog/spdlog.h>

#include "baton/agent/grpc_agent.h"
#include "baton/auth/token.h"

int main(int argc, char** argv) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's locks) runs
  // deadlock-cycle detection, a graph lookup per lock: about 3% of batond's CPU and 8% of
  // a 1,000-agent simulator's (perf, bench/results/tls.md). baton's own locks are
  // std::mutex; gRPC's lock order is gRPC's to check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  baton::agent::AgentProcessOptions o;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) o.name = host;
  int orphan_grace_s = 600;

  CLI::App app{"baton-agent: baton's node agent"};
  app.add_option("--server", o.server,
                 "control plane address host:port (HA replicas: all of them, comma-separated)")
      ->required();
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "file with the agent's API token (batond writes one on its first start: "
                 "<data dir>/agent.token)")
      ->required();
  app.add_option("--name", o.name, "node name (default: hostname)");
  app.add_option("--fake-gpus", o.fake_gpus, "made-up GPUs instead of NVML, e.g. 8xH100");
  app.add_option("--simulate", o.simulate, "run N simulated agents named <name>-<i>");
  app.add_option("--sim-streams-per-connection", o.streams_per_connection,
                 "simulated agents sharing one connection (plaintext only; 1 = one each, like "
                 "real agents)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "task logs etc. (default /tmp/baton-agent-<name>)");
  app.add_option("--address", o.address, "address other nodes reach this one at");
  app.add_option("--rack", o.rack, "rack label for topology-aware placement");
  app.add_option("--log-listen", o.log_listen, "AgentLogs listen address (host:port)");
  app.add_option("--orphan-grace-s", orphan_grace_s,
                 "stop tasks after this many seconds without a control plane");
  app.add_option("--nvml-lib", o.nvml_lib,
                 "NVML library to load, a soname or a path (default libnvidia-ml.so.1)");
  app.add_option("--ca-file", o.ca_file,
                 "TLS: the cluster CA to trust for batond (batond's <tls-dir>/ca.crt); the agent "
                 "then uses a node certificate kept in <data-dir>/pki");
  app.add_option("--bootstrap-token", o.bootstrap_token,
                 "TLS: token to join with when there is no valid node certificate yet "
                 "(`baton bootstrap-token create`; also $BATON_BOOTSTRAP_TOKEN)");
  std::string bootstrap_token_file;
  app.add_option("--bootstrap-token-file", bootstrap_token_file,
                 "TLS: read the bootstrap token from this file");
  int health_check_interval_s = 60;
  app.add_option("--health-check", o.health_check,
                 "command (run with /bin/sh -c) that exits non-zero when the node is unwell");
  app.add_option("--health-check-interval-s", health_check_interval_s,
                 "seconds between health checks")
      ->check(CLI::PositiveNumber);
  app.add_option("--task-user", o.task_user.service_user,
                 "user (name or uid) tasks run as when the agent is root (default: nobody)");
  app.add_flag("--map-users", o.task_user.map_users,
               "run a job's tasks as the local account named like its submitter, if any");
  app.add_flag("--allow-root-tasks", o.task_user.allow_root,
               "allow tasks to run as root (never by default)");
  CLI11_PARSE(app, argc, argv);
  auto token = baton::auth::ReadTokenFile(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "baton-agent: --token-file: %s\n", token.status().message().c_str());
    return 2;
  }
  o.token = *token;
  if (o.bootstrap_token.empty()) {
    if (!bootstrap_token_file.empty()) {
      auto join = baton::auth::ReadSecretFile(bootstrap_token_file);
      if (!join.ok()) {
        std::fprintf(stderr, "baton-agent: --bootstrap-token-file: %s\n",
                     join.status().message().c_str());
        return 2;
      }
      o.bootstrap_token = *join;
    } else if (const char* env = std::getenv("BATON_BOOTSTRAP_TOKEN"); env != nullptr) {
      o.bootstrap_token = env;
    }
  }
  o.orphan_grace = baton::Seconds(orphan_grace_s);
  o.health_check_interval = baton::Seconds(health_check_interval_s);

  // SIGINT/SIGTERM: waited for on a thread (sigwait), so no async handler is needed.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread made after
  std::stop_source stop;
  std::jthread waiter([&set, &stop](std::stop_token) {
    int sig = 0;
    sigwait(&set, &sig);
    if (stop.stop_requested()) return;  // main woke us to exit
    spdlog::info("baton-agent: signal {}, shutting down", sig);
    stop.request_stop();
  });

  baton::Status s = baton::agent::RunAgentProcess(o, stop.get_token());
  if (!stop.stop_requested()) {
    // Wake the waiter so it can be joined.
    stop.request_stop();
    pthread_kill(waiter.native_handle(), SIGTERM);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "baton-agent: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
