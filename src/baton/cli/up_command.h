// `baton up`: the embedded default — a control plane (SQLite store) and one local agent in
// this process, until Ctrl-C (SIGINT) or SIGTERM.
#pragma once

#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace baton::cli {

struct UpFlags {
  std::string fake_gpus;  // "" = NVML, or "8xH100" when no GPU is found
  std::string data_dir;   // "" = $XDG_STATE_HOME/baton or ~/.local/state/baton
  std::string listen = "127.0.0.1:7070";
  std::string http = "127.0.0.1:7071";
  std::string policy = "fifo+topology";
  std::string name;       // node name; "" = the host name
  // Who the local agent's tasks run as (agent/launch/task_user.h): the service user ("" =
  // nobody), mapping to the submitter's account, root only when allowed.
  std::string task_user;
  bool map_users = false;
  bool allow_root_tasks = false;
  // TLS is on by default (a local CA in <data-dir>/pki; the CLI is configured to trust
  // it); --plaintext turns it off.
  bool plaintext = false;
};

CLI::App* AddUpCommand(CLI::App& app, UpFlags& flags);
// Blocks until SIGINT/SIGTERM; returns 0 after a clean stop, 1 if something failed to start.
int RunUp(const UpFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace baton::cli
