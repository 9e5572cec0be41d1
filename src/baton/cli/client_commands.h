// The `baton` commands that talk to the control plane (batond) over gRPC:
//
//   submit FILE.yaml        submit every job in a job spec file
//   run [flags] -- CMD...   submit one job built from flags; --wait waits like `wait`
//   ps                      list jobs (non-terminal by default; --all for every job)
//   show JOB                one job: spec, state, reason, every attempt
//   logs [-f] JOB           one task rank's output, raw bytes
//   cancel JOB              cancel a job
//   wait JOB                block until the job ends; exit status follows the job
//   nodes / queues          the cluster's nodes and queues
//   drain / undrain NODE    take a node out of scheduling (preempting gracefully) / back
//
// Each takes --server ADDR (else $BATON_SERVER, else 127.0.0.1:7070) and --output
// table|json: json prints protobuf JSON with the proto's field names, one object per line
// (each item of a list; the created job for submit/run); `logs` always writes raw bytes. Exit status: 0 success; 1 failure (unreachable server, gRPC error, bad spec
// file); 2 usage error; `wait` (and `run --wait`): 0 succeeded, the failed attempt's exit
// code (1..255, else 1), 130 cancelled, 124 timed out.
//
// Thread-safety: one command at a time per ClientCommands.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/cli/client.h"
#include "baton/common/time.h"

namespace baton::cli {

// Parsed flags of every client command, filled in by CLI11.
struct ClientCommands {
  ClientFlags common;

  CLI::App* submit = nullptr;
  std::string submit_file;

  CLI::App* run = nullptr;
  std::string run_gpus;
  std::vector<std::string> run_gpu_types;
  std::string run_mig;  // --mig PROFILE
  int32_t run_tasks = 0;
  int32_t run_ranks_per_task = 0;
  std::string run_name;
  std::string run_queue;
  int32_t run_priority = 0;
  std::vector<std::string> run_env;
  int32_t run_max_attempts = 0;
  std::string run_cpus;
  std::string run_memory;
  double run_restart_backoff_s = 0;
  int32_t run_preempt_notice_s = 0;
  std::string run_restart_scope;  // "" = the job's default
  bool run_no_gang = false;
  bool run_wait = false;
  std::vector<std::string> run_command;

  CLI::App* ps = nullptr;
  bool ps_all = false;
  std::string ps_queue;
  std::string ps_state;

  CLI::App* show = nullptr;
  CLI::App* cancel = nullptr;
  CLI::App* wait = nullptr;
  std::string job_id;  // show, cancel, wait, logs
  double wait_timeout_s = 0;  // 0 = no limit

  CLI::App* logs = nullptr;
  bool logs_follow = false;
  int32_t logs_task = 0;
  int32_t logs_rank = 0;
  int32_t logs_attempt = 0;

  CLI::App* nodes = nullptr;
  CLI::App* queues = nullptr;

  CLI::App* drain = nullptr;
  CLI::App* undrain = nullptr;
  std::string node_name;     // drain, undrain
  std::string drain_reason;
  CLI::App* top = nullptr;  // per-GPU telemetry, one row per GPU
};

// Registers the client commands on `app`; `c` receives their flags and must outlive it.
void AddClientCommands(CLI::App& app, ClientCommands& c);

// Runs the client command that was parsed and returns its exit status; nullopt when none
// of them was selected. `clock` gives "now" for ages.
std::optional<int> RunClientCommands(const ClientCommands& c, std::ostream& out,
                                     std::ostream& err, const Clock& clock);

}  // namespace baton::cli
