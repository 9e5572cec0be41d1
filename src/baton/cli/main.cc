#include "baton/cli/main.h"

#include <CLI/CLI.hpp>

#include "baton/cli/auth_commands.h"
#include "baton/cli/client_commands.h"
#include "baton/cli/events_command.h"
#include "baton/cli/pki_commands.h"
#include "baton/cli/sim_command.h"
#include "baton/cli/up_command.h"
#include "baton/cli/validate_command.h"

namespace baton::cli {

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"baton: a scheduler and control plane for GPU clusters", "baton"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "baton 0.1.0");
  SimFlags sim_flags;
  CLI::App* sim = AddSimCommand(app, sim_flags);
  CLI::App* version = app.add_subcommand("version", "Print the version");
  ValidateFlags validate_flags;
  CLI::App* validate = AddValidateCommand(app, validate_flags);
  UpFlags up_flags;
  CLI::App* up = AddUpCommand(app, up_flags);
  ClientCommands client_commands;
  AddClientCommands(app, client_commands);
  EventsFlags events_flags;
  CLI::App* events = AddEventsCommand(app, events_flags);
  AuthCommands auth_commands;
  AddAuthCommands(app, auth_commands);
  PkiFlags pki_flags;
  PkiCommands pki_commands = AddPkiCommands(app, pki_flags);

  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? 0 : 2;
  }
  if (auto code = RunPkiCommands(pki_commands, pki_flags, out, err, SystemClock()); code) {
    return *code;
  }
  if (sim->parsed()) return RunSim(sim_flags, out, err);
  if (validate->parsed()) return RunValidate(validate_flags, out, err);
  if (up->parsed()) return RunUp(up_flags, out, err);
  if (events->parsed()) return RunEvents(events_flags, out, err);
  if (auto code = RunClientCommands(client_commands, out, err, SystemClock()); code) {
    return *code;
  }
  if (auto code = RunAuthCommands(auth_commands, out, err); code) return *code;
  if (version->parsed()) {
    out << "baton 0.1.0\n";
    return 0;
  }
  return 2;
}

}  // namespace baton::cli
