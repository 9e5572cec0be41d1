#include "baton/cli/events_command.h"

#include <fmt/format.h>

#include "baton/v1/events.grpc.pb.h"

namespace baton::cli {
namespace {

// "job-scheduled", "node-lost", ...
std::string TypeName(v1::EventType type) {
  std::string name = v1::EventType_Name(type);
  constexpr std::string_view kPrefix = "EVENT_TYPE_";
  if (name.rfind(kPrefix, 0) == 0) name = name.substr(kPrefix.size());
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(c));
  return name;
}

std::string Line(const v1::Event& ev) {
  return fmt::format("{}  {:<21}  {:>5}  {:<12}  {}", FormatTimestamp(ev.time()),
                     TypeName(ev.type()), ev.job_id().empty() ? "-" : ev.job_id(),
                     ev.node().empty() ? "-" : ev.node(), ev.message());
}

void Print(const EventsFlags& f, const v1::Event& ev, std::ostream& out) {
  out << (f.common.json() ? ToJson(ev) : Line(ev)) << "\n";
}

}  // namespace

CLI::App* AddEventsCommand(CLI::App& app, EventsFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "events", "What happened to jobs and nodes, and why (recent history, oldest first)");
  cmd->add_option("--job", f.job, "Only events of this job");
  cmd->add_option("--node", f.node, "Only events of this node (and jobs' events naming it)");
  cmd->add_flag("--follow,-f", f.follow, "Keep printing new events");
  cmd->add_option("--limit", f.limit, "Print at most the newest N past events (1..10000)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--server", f.common.server,
                  "Control plane address host:port (default: $BATON_SERVER, else "
                  "127.0.0.1:7070)");
  cmd->add_option("--output,-o", f.common.output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  AddTlsFlags(cmd, f.common);
  return cmd;
}

int RunEvents(const EventsFlags& f, std::ostream& out, std::ostream& err) {
  auto cp = ControlPlane::Connect(f.common);
  if (!cp.ok()) {
    err << "baton: " << cp.status().message() << "\n";
    return 1;
  }
  auto stub = v1::Events::NewStub((*cp)->channel());
  v1::ListEventsRequest req;
  req.set_job_id(f.job);
  req.set_node(f.node);
  req.set_limit(f.limit);
  v1::ListEventsResponse resp;
  {
    grpc::ClientContext ctx;
    SetCallDeadline(ctx);
    grpc::Status s = stub->List(&ctx, req, &resp);
    if (!s.ok()) {
      err << "baton: events: " << (*cp)->Describe(s) << "\n";
      return 1;
    }
  }
  if (!f.common.json() && !f.follow && resp.events().empty()) {
    err << "baton: events: none recorded"
        << (f.job.empty() && f.node.empty() ? "" : " that match") << "\n";
  }
  if (!f.common.json() && !resp.events().empty()) {
    out << fmt::format("{:<19}  {:<21}  {:>5}  {:<12}  {}\n", "TIME (UTC)", "TYPE", "JOB",
                       "NODE", "MESSAGE");
  }
  for (const auto& ev : resp.events()) Print(f, ev, out);
  out.flush();
  if (!f.follow) return 0;

  v1::WatchEventsRequest wreq;
  wreq.set_job_id(f.job);
  wreq.set_node(f.node);
  wreq.set_after_sequence(resp.last_sequence());
  grpc::ClientContext ctx;
  auto reader = stub->Watch(&ctx, wreq);
  v1::Event ev;
  while (reader->Read(&ev)) {
    Print(f, ev, out);
    out.flush();
  }
  grpc::Status s = reader->Finish();
  err << "baton: events: the stream ended: " << (*cp)->Describe(s) << "\n";
  return 1;
}

}  // namespace baton::cli
