// `baton events [--job ID] [--node N] [-f] [--limit N]`: what happened to jobs and nodes
// and why (the control plane's recent event history, api/baton/v1/events.proto), oldest
// first; -f keeps printing new events as they happen until interrupted or the control
// plane goes away (exit 1 with the reason).
//
// Table: TIME (UTC), TYPE, JOB, NODE, MESSAGE; --output json prints one protobuf JSON
// object per event per line. Exit status: 0, 1 on failure (unreachable server, gRPC
// error), 2 usage error.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "baton/cli/client.h"

namespace baton::cli {

struct EventsFlags {
  ClientFlags common;
  std::string job;
  std::string node;
  bool follow = false;
  int32_t limit = 100;
};

CLI::App* AddEventsCommand(CLI::App& app, EventsFlags& flags);
int RunEvents(const EventsFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace baton::cli
