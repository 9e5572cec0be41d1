#include "baton/cli/client_commands.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "baton/api/convert.h"
#include "baton/common/quantity.h"
#include "baton/spec/job_yaml.h"

namespace baton::cli {
namespace {

using SysClock = std::chrono::system_clock;

// How often `wait` re-reads the job besides watching it, in case the server sends no
// event for a change (one made between opening the watch and the first Get, say).
constexpr std::chrono::seconds kWaitResync{2};
// Deadline for a non-following `logs` stream, which may carry a lot of output.
constexpr std::chrono::minutes kLogsTimeout{5};

// Prints "baton: CMD: message" and returns 1.
int Fail(std::ostream& err, std::string_view cmd, std::string_view message) {
  err << "baton: " << cmd << ": " << message << "\n";
  return 1;
}

// Reports a failed call: "baton: cannot reach the control plane at ADDR: ..." when the
// server is gone, else "baton: CMD: CODE: message". Returns 1.
int RpcFail(const ControlPlane& cp, std::string_view cmd, const grpc::Status& s,
            std::ostream& err) {
  if (cp.IsUnreachable(s)) {
    err << "baton: " << cp.Describe(s) << "\n";
    return 1;
  }
  return Fail(err, cmd, cp.Describe(s));
}

// Connects to the server named by the flags; on failure prints why and returns null.
std::unique_ptr<ControlPlane> Dial(const ClientFlags& flags, std::ostream& err) {
  auto cp = ControlPlane::Connect(flags);
  if (!cp.ok()) {
    err << "baton: " << cp.status().message() << "\n";
    return nullptr;
  }
  return std::move(cp).value();
}

void AddCommonFlags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("--server", f.server,
                  "Control plane address host:port, or every HA replica's, comma-separated "
                  "(default: $BATON_SERVER, else 127.0.0.1:7070)");
  cmd->add_option("--output,-o", f.output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  AddTlsFlags(cmd, f);
}

std::string JoinStrings(const google::protobuf::RepeatedPtrField<std::string>& items,
                 std::string_view sep) {
  std::string s;
  for (const auto& item : items) {
    if (!s.empty()) s += sep;
    s += item;
  }
  return s;
}

// "job 3 succeeded", "job 3 failed: exit code 2 (task-failed)", "job 3 cancelled: ...".
std::string DescribeEnd(const v1::Job& job) {
  std::string line = fmt::format("job {} {}", job.id(), JobStateName(job.state()));
  if (job.state() == v1::JOB_STATE_FAILED && !job.attempts().empty()) {
    const v1::Attempt& last = job.attempts(job.attempts_size() - 1);
    line += fmt::format(": exit code {}", last.exit_code());
    if (!last.end_reason().empty()) line += fmt::format(" ({})", last.end_reason());
  } else if (job.state() != v1::JOB_STATE_SUCCEEDED && !job.reason().empty()) {
    line += ": " + job.reason();
  }
  return line;
}

void PrintCreated(const v1::Job& job, const ClientFlags& flags, std::ostream& out) {
  if (flags.json()) {
    out << ToJson(job) << "\n";
  } else {
    out << fmt::format("submitted job {}", job.id());
    if (!job.spec().name().empty()) out << fmt::format(" ({})", job.spec().name());
    out << "\n";
  }
}

// Blocks until job `id` is terminal, then prints it and returns its exit status
// (JobExitStatus); 124 when `timeout_s` (> 0) passes first; 1 on errors.
int WaitForJob(ControlPlane& cp, const std::string& id, double timeout_s,
               const ClientFlags& flags, std::ostream& out, std::ostream& err,
               std::string_view cmd) {
  std::optional<SysClock::time_point> deadline;
  if (timeout_s > 0) {
    deadline = SysClock::now() + std::chrono::duration_cast<SysClock::duration>(
                                     std::chrono::duration<double>(timeout_s));
  }
  auto set_deadline = [&](grpc::ClientContext& ctx) {
    auto d = SysClock::now() + kCallTimeout;
    if (deadline && *deadline < d) d = *deadline;
    ctx.set_deadline(d);
  };
  auto timed_out = [&](const grpc::Status& s) {
    return deadline && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  };
  auto report_timeout = [&](const v1::Job* last) {
    std::string still;
    if (last != nullptr) still = fmt::format(" (still {})", JobStateName(last->state()));
    err << fmt::format("baton: {}: timed out after {} waiting for job {}{}\n", cmd,
                       fmt::format("{:g}s", timeout_s), id, still);
    return 124;
  };
  v1::GetJobRequest get;
  get.set_id(id);

  // Open the watch before the first Get, so a change between the two is not missed.
  grpc::ClientContext watch_ctx;
  if (deadline) watch_ctx.set_deadline(*deadline);
  v1::WatchJobsRequest watch;
  watch.set_job_id(id);
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = cp.jobs().Watch(&watch_ctx, watch);
  auto abandon_watch = [&] {
    watch_ctx.TryCancel();
    v1::JobEvent ignored;
    while (reader->Read(&ignored)) {
    }
    (void)reader->Finish();
  };

  v1::Job job;
  {
    grpc::ClientContext ctx;
    set_deadline(ctx);
    const grpc::Status s = cp.jobs().Get(&ctx, get, &job);
    if (!s.ok()) {
      abandon_watch();
      return timed_out(s) ? report_timeout(nullptr) : RpcFail(cp, cmd, s, err);
    }
  }

  if (IsTerminal(job.state())) {
    abandon_watch();
  } else {
    // Besides the watch, re-read the job every kWaitResync; when it has ended, cancel the
    // watch so the loop below wakes up.
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::optional<v1::Job> polled;
    std::thread resync([&] {
      std::unique_lock lock(mu);
      while (!cv.wait_for(lock, kWaitResync, [&] { return stop; })) {
        lock.unlock();
        grpc::ClientContext ctx;
        set_deadline(ctx);
        v1::Job j;
        const bool ended = cp.jobs().Get(&ctx, get, &j).ok() && IsTerminal(j.state());
        lock.lock();
        if (ended) {
          polled = std::move(j);
          watch_ctx.TryCancel();
          return;
        }
      }
    });
    bool ended = false;
    bool deleted = false;
    v1::JobEvent event;
    while (reader->Read(&event)) {
      if (event.job().id() != id) continue;
      job = event.job();
      if (event.kind() == v1::JobEvent::KIND_DELETED) {
        deleted = true;
        break;
      }
      if (IsTerminal(job.state())) {
        ended = true;
        break;
      }
    }
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    resync.join();
    if (deleted) {
      abandon_watch();
      return Fail(err, cmd, fmt::format("job {} was deleted", id));
    }
    if (ended) {
      abandon_watch();
    } else {
      const grpc::Status s = reader->Finish();
      if (polled) {
        job = *polled;
      } else if (timed_out(s)) {
        return report_timeout(&job);
      } else if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
        return RpcFail(cp, cmd, s, err);
      } else {
        // The server closed the stream; one last look before giving up.
        grpc::ClientContext ctx;
        set_deadline(ctx);
        const grpc::Status g = cp.jobs().Get(&ctx, get, &job);
        if (!g.ok()) return timed_out(g) ? report_timeout(nullptr) : RpcFail(cp, cmd, g, err);
        if (!IsTerminal(job.state())) {
          return Fail(err, cmd,
                      fmt::format("the control plane closed the watch while job {} is {}",
                                  id, JobStateName(job.state())));
        }
      }
    }
  }
  out << (flags.json() ? ToJson(job) : DescribeEnd(job)) << "\n";
  return JobExitStatus(job);
}

int RunSubmit(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto specs = spec::LoadJobYaml(c.submit_file);
  if (!specs.ok()) return Fail(err, "submit", specs.status().message());
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  for (size_t i = 0; i < specs->size(); ++i) {
    v1::SubmitRequest req;
    *req.mutable_spec() = api::ToProto((*specs)[i]);
    v1::SubmitResponse resp;
    grpc::ClientContext ctx;
    SetCallDeadline(ctx);
    const grpc::Status s = cp->jobs().Submit(&ctx, req, &resp);
    if (!s.ok()) {
      if (specs->size() == 1 || cp->IsUnreachable(s)) return RpcFail(*cp, "submit", s, err);
      return Fail(err, fmt::format("submit: {}: jobs[{}]", c.submit_file, i), cp->Describe(s));
    }
    PrintCreated(resp.job(), c.common, out);
  }
  return 0;
}

int RunRun(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  v1::JobSpec spec;
  for (const auto& kv : c.run_env) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << fmt::format("baton: run: --env '{}': expected NAME=VALUE\n", kv);
      return 2;
    }
    (*spec.mutable_env())[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  spec.set_name(c.run_name.empty()
                    ? std::filesystem::path(c.run_command.front()).filename().string()
                    : c.run_name);
  spec.set_queue(c.run_queue);
  spec.set_priority(c.run_priority);
  spec.set_tasks(c.run_tasks);
  spec.set_gpus_per_task(c.run_gpus);
  for (const auto& t : c.run_gpu_types) spec.add_gpu_types(t);
  for (const auto& a : c.run_command) spec.add_command(a);
  spec.set_ranks_per_task(c.run_ranks_per_task);
  spec.set_max_attempts(c.run_max_attempts);
  spec.set_cpus_per_task(c.run_cpus);
  if (!c.run_memory.empty()) {
    auto bytes = ParseByteSize(c.run_memory);
    if (!bytes.ok()) {
      err << fmt::format("baton: run: --memory: {}\n", bytes.status().message());
      return 2;
    }
    spec.set_memory_bytes_per_task(*bytes);
  }
  spec.set_restart_backoff_ms(static_cast<int64_t>(c.run_restart_backoff_s * 1000));
  spec.set_preempt_notice_s(c.run_preempt_notice_s);

  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::SubmitRequest req;
  *req.mutable_spec() = std::move(spec);
  v1::SubmitResponse resp;
  {
    grpc::ClientContext ctx;
    SetCallDeadline(ctx);
    const grpc::Status s = cp->jobs().Submit(&ctx, req, &resp);
    if (!s.ok()) return RpcFail(*cp, "run", s, err);
  }
  PrintCreated(resp.job(), c.common, out);
  if (!c.run_wait) return 0;
  out.flush();
  return WaitForJob(*cp, resp.job().id(), 0, c.common, out, err, "run");
}

int RunPs(const ClientCommands& c, std::ostream& out, std::ostream& err, const Clock& clock) {
  std::optional<v1::JobState> state;
  if (!c.ps_state.empty()) state = ParseJobState(c.ps_state);
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  std::vector<v1::Job> jobs;
  std::string token;
  do {
    v1::ListJobsRequest req;
    req.set_queue(c.ps_queue);
    if (state) req.set_state(*state);
    req.set_page_token(token);
    v1::ListJobsResponse resp;
    grpc::ClientContext ctx;
    SetCallDeadline(ctx);
    const grpc::Status s = cp->jobs().List(&ctx, req, &resp);
    if (!s.ok()) return RpcFail(*cp, "ps", s, err);
    for (auto& j : *resp.mutable_jobs()) jobs.push_back(std::move(j));
    if (!resp.next_page_token().empty() && resp.next_page_token() == token) {
      return Fail(err, "ps", "the control plane returned the same page token twice");
    }
    token = resp.next_page_token();
  } while (!token.empty());

  const Time now = clock.Now();
  Table table({"ID", "NAME", "QUEUE", "STATE", "GPUS", "AGE", "REASON"});
  for (const auto& j : jobs) {
    if (!c.ps_all && !state && IsTerminal(j.state())) continue;
    if (c.common.json()) {
      out << ToJson(j) << "\n";
      continue;
    }
    table.AddRow({j.id(), j.spec().name(), j.spec().queue(), JobStateName(j.state()),
                  JobGpus(j.spec()), FormatAge(j.submit_time(), now), j.reason()});
  }
  if (!c.common.json()) table.Print(out);
  return 0;
}

void PrintJob(const v1::Job& job, Time now, std::ostream& out) {
  const v1::JobSpec& s = job.spec();
  auto field = [&](std::string_view key, std::string_view value) {
    out << fmt::format("{:<14}{}\n", fmt::format("{}:", key), value.empty() ? "-" : value);
  };
  field("Job", job.id());
  field("Name", s.name());
  field("State", JobStateName(job.state()));
  field("Reason", job.reason());
  field("Queue", s.queue());
  field("Priority", std::to_string(s.priority()));
  const int32_t tasks = s.tasks() > 0 ? s.tasks() : 1;
  const int32_t ranks = s.ranks_per_task() > 0 ? s.ranks_per_task() : 1;
  field("Resources",
        fmt::format("{} task(s) x {} GPU(s) = {} GPU(s); {} rank(s) per task{}", tasks,
                    s.gpus_per_task().empty() ? "1" : s.gpus_per_task(), JobGpus(s), ranks,
                    !s.has_gang() || s.gang() ? "; gang" : ""));
  std::string types = s.gpu_types().empty() ? "any" : JoinStrings(s.gpu_types(), ", ");
  if (!s.gpu_preference().empty()) {
    types += fmt::format(" (prefer {})", JoinStrings(s.gpu_preference(), ", "));
  }
  field("GPU types", types);
  std::vector<std::string> limits;
  if (!s.cpus_per_task().empty() && s.cpus_per_task() != "0") {
    limits.push_back(fmt::format("{} CPU(s)", s.cpus_per_task()));
  }
  if (s.memory_bytes_per_task() > 0) {
    limits.push_back(fmt::format("{} memory", FormatByteSize(s.memory_bytes_per_task())));
  }
  field("Limits", limits.empty() ? "none" : fmt::format("{} per task", fmt::join(limits, ", ")));
  field("Command", JoinStrings(s.command(), " "));
  std::vector<std::pair<std::string, std::string>> env(s.env().begin(), s.env().end());
  std::sort(env.begin(), env.end());  // the proto map has no stable order
  std::string env_text;
  for (const auto& [k, v] : env) {
    env_text += fmt::format("{}{}={}", env_text.empty() ? "" : " ", k, v);
  }
  field("Env", env_text);
  field("Max attempts", std::to_string(s.max_attempts() > 0 ? s.max_attempts() : 1));
  if (s.restart_backoff_ms() > 0) {
    field("Backoff", FormatDuration(std::chrono::milliseconds(s.restart_backoff_ms())) +
                         " (doubling per failure)");
  }
  if (s.preempt_notice_s() > 0) {
    field("Stop notice", FormatDuration(Seconds(s.preempt_notice_s())));
  }
  if (job.has_checkpoint()) {
    field("Checkpoint", fmt::format("{} (attempt {}, {})", job.checkpoint().path(),
                                    job.checkpoint().attempt(),
                                    FormatTimestamp(job.checkpoint().time())));
  }
  if (job.has_retry_after() && FromTimestamp(job.retry_after()) &&
      *FromTimestamp(job.retry_after()) > now) {
    field("Retry at", FormatTimestamp(job.retry_after()));
  }
  if (s.estimated_runtime_s() > 0) {
    field("Estimate", FormatDuration(Seconds(s.estimated_runtime_s())));
  }
  field("Submitted", FromTimestamp(job.submit_time())
                         ? fmt::format("{} ({} ago)", FormatTimestamp(job.submit_time()),
                                       FormatAge(job.submit_time(), now))
                         : "-");
  field("Started", FormatTimestamp(job.start_time()));
  field("Ended", FormatTimestamp(job.end_time()));
  if (job.attempts().empty()) {
    field("Attempts", "none yet");
    return;
  }
  out << "Attempts:\n";
  Table attempts(
      {"#", "START", "END", "EXIT", "END-REASON", "WORK-LOST", "RESUMED-FROM", "PLACEMENTS"});
  for (const auto& a : job.attempts()) {
    std::string placements;
    for (const auto& t : a.assignments()) {
      placements += (placements.empty() ? "" : " ") + FormatAssignment(t);
    }
    const bool open = !FromTimestamp(a.end_time()).has_value();
    attempts.AddRow({std::to_string(a.number()), FormatTimestamp(a.start_time()),
                     open ? "running" : FormatTimestamp(a.end_time()),
                     open ? "-" : std::to_string(a.exit_code()), a.end_reason(),
                     open || a.end_reason() == "succeeded"
                         ? "-"
                         : FormatDuration(std::chrono::duration_cast<Duration>(
                               std::chrono::duration<double>(a.work_lost_s()))),
                     a.resumed_from().empty() ? "-" : a.resumed_from(), placements});
  }
  std::ostringstream text;
  attempts.Print(text);
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
}

int RunShow(const ClientCommands& c, std::ostream& out, std::ostream& err, const Clock& clock) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::GetJobRequest req;
  req.set_id(c.job_id);
  v1::Job job;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  const grpc::Status s = cp->jobs().Get(&ctx, req, &job);
  if (!s.ok()) return RpcFail(*cp, "show", s, err);
  if (c.common.json()) {
    out << ToJson(job) << "\n";
  } else {
    PrintJob(job, clock.Now(), out);
  }
  return 0;
}

int RunCancel(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::CancelJobRequest req;
  req.set_id(c.job_id);
  v1::Job job;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  const grpc::Status s = cp->jobs().Cancel(&ctx, req, &job);
  if (!s.ok()) return RpcFail(*cp, "cancel", s, err);
  if (c.common.json()) {
    out << ToJson(job) << "\n";
  } else if (job.state() == v1::JOB_STATE_CANCELLED) {
    out << fmt::format("job {} cancelled\n", job.id());
  } else {
    out << fmt::format("job {} already {}; nothing to cancel\n", job.id(),
                       JobStateName(job.state()));
  }
  return 0;
}

int RunWait(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  if (c.wait_timeout_s < 0) {
    err << "baton: wait: --timeout must be positive\n";
    return 2;
  }
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  return WaitForJob(*cp, c.job_id, c.wait_timeout_s, c.common, out, err, "wait");
}

int RunLogs(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::LogsRequest req;
  req.set_job_id(c.job_id);
  req.set_task_index(c.logs_task);
  req.set_rank(c.logs_rank);
  req.set_attempt(c.logs_attempt);
  req.set_follow(c.logs_follow);
  grpc::ClientContext ctx;
  if (!c.logs_follow) ctx.set_deadline(SysClock::now() + kLogsTimeout);
  auto reader = cp->jobs().Logs(&ctx, req);
  v1::LogChunk chunk;
  while (reader->Read(&chunk)) {
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    out.flush();
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) return RpcFail(*cp, "logs", s, err);
  return 0;
}

int RunNodes(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::ListNodesResponse resp;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  const grpc::Status s = cp->cluster().ListNodes(&ctx, v1::ListNodesRequest(), &resp);
  if (!s.ok()) return RpcFail(*cp, "nodes", s, err);
  Table table({"NAME", "STATE", "GPUS", "MODEL", "RACK", "ADDRESS", "REASON"});
  for (const auto& n : resp.nodes()) {
    if (c.common.json()) {
      out << ToJson(n) << "\n";
      continue;
    }
    std::vector<std::string> models;
    for (const auto& g : n.gpus()) {
      if (std::find(models.begin(), models.end(), g.model()) == models.end()) {
        models.push_back(g.model());
      }
    }
    table.AddRow({n.name(), NodeStateName(n.state()),
                  fmt::format("{}/{}", n.gpus_allocated(), n.gpus_size()),
                  fmt::format("{}", fmt::join(models, ",")), n.rack(), n.address(),
                  n.reason()});
  }
  if (!c.common.json()) table.Print(out);
  return 0;
}

// `baton top`: one row per GPU with the latest telemetry the control plane holds.
int RunTop(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::ListNodesResponse resp;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  const grpc::Status s = cp->cluster().ListNodes(&ctx, v1::ListNodesRequest(), &resp);
  if (!s.ok()) return RpcFail(*cp, "top", s, err);
  const auto num = [](double v, const char* unit) {
    return v < 0 ? std::string("-") : fmt::format("{:.0f}{}", v, unit);
  };
  Table table({"NODE", "GPU", "UTIL", "AVG", "MEM-USED", "TEMP", "POWER", "SM-CLOCK", "ECC(C/U)",
               "THROTTLE", "HEALTH"});
  for (const auto& n : resp.nodes()) {
    for (const auto& g : n.gpus()) {
      if (c.common.json()) {
        out << ToJson(g) << "\n";
        continue;
      }
      const v1::GpuStats& st = g.stats();
      std::string health = g.drained() ? "drained: " + g.health_reason() : "ok";
      if (!st.error().empty()) health = "error: " + st.error();
      if (!g.has_stats()) {
        table.AddRow({n.name(), std::to_string(g.index()), "-", "-", "-", "-", "-", "-", "-",
                      "-", g.drained() ? health : "no telemetry yet"});
        continue;
      }
      table.AddRow({n.name(), std::to_string(g.index()), num(st.utilization_percent(), "%"),
                    num(st.utilization_percent_avg(), "%"),
                    st.memory_used_mib() < 0 ? "-" : fmt::format("{} MiB", st.memory_used_mib()),
                    num(st.temperature_c(), "C"), num(st.power_w(), "W"),
                    num(st.sm_clock_mhz(), "MHz"),
                    st.ecc_corrected() < 0
                        ? "-"
                        : fmt::format("{}/{}", st.ecc_corrected(), st.ecc_uncorrected()),
                    st.throttle_reasons() == 0 ? "-" : fmt::format("0x{:x}", st.throttle_reasons()),
                    health});
    }
  }
  if (!c.common.json()) table.Print(out);
  return 0;
}

int RunQueues(const ClientCommands& c, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::ListQueuesResponse resp;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  const grpc::Status s = cp->cluster().ListQueues(&ctx, v1::ListQueuesRequest(), &resp);
  if (!s.ok()) return RpcFail(*cp, "queues", s, err);
  Table table(
      {"NAME", "PARENT", "QUOTA", "LIMIT", "WEIGHT", "PENDING", "RUNNING", "GPUS-IN-USE"});
  for (const auto& q : resp.queues()) {
    if (c.common.json()) {
      out << ToJson(q) << "\n";
      continue;
    }
    table.AddRow({q.name(), q.parent(), q.quota_gpus(), q.limit_gpus(),
                  std::to_string(q.weight()), std::to_string(q.pending_jobs()),
                  std::to_string(q.running_jobs()),
                  q.gpus_in_use().empty() ? "0" : q.gpus_in_use()});
  }
  if (!c.common.json()) table.Print(out);
  return 0;
}

int RunDrain(const ClientCommands& c, bool drain, std::ostream& out, std::ostream& err) {
  auto cp = Dial(c.common, err);
  if (!cp) return 1;
  v1::Node node;
  grpc::ClientContext ctx;
  SetCallDeadline(ctx);
  grpc::Status s;
  if (drain) {
    v1::DrainNodeRequest req;
    req.set_name(c.node_name);
    req.set_reason(c.drain_reason);
    s = cp->cluster().DrainNode(&ctx, req, &node);
  } else {
    v1::UndrainNodeRequest req;
    req.set_name(c.node_name);
    s = cp->cluster().UndrainNode(&ctx, req, &node);
  }
  if (!s.ok()) return RpcFail(*cp, drain ? "drain" : "undrain", s, err);
  if (c.common.json()) {
    out << ToJson(node) << "\n";
  } else {
    out << fmt::format("node {} {}{}\n", node.name(), NodeStateName(node.state()),
                       node.reason().empty() ? "" : " (" + node.reason() + ")");
  }
  return 0;
}

}  // namespace

void AddClientCommands(CLI::App& app, ClientCommands& c) {
  c.submit = app.add_subcommand("submit", "Submit the jobs in a job spec file (YAML)");
  c.submit->add_option("file", c.submit_file, "Job spec file")->required();

  c.run = app.add_subcommand("run", "Submit one job built from flags: baton run [flags] -- CMD...");
  c.run->add_option("--gpus", c.run_gpus, "GPUs per task (\"1\", \"8\", \"0.5\"; default 1)");
  // One value per occurrence, so `--env A=1 python x.py` leaves the command alone.
  c.run->add_option("--gpu-type", c.run_gpu_types, "Allowed GPU type (repeatable)")
      ->allow_extra_args(false);
  c.run->add_option("--nodes,--tasks", c.run_tasks, "Tasks (one per node for a gang)");
  c.run->add_option("--ranks-per-task", c.run_ranks_per_task, "Processes per task");
  c.run->add_option("--name", c.run_name, "Job name (default: the command's file name)");
  c.run->add_option("--queue", c.run_queue, "Queue to charge (default: \"default\")");
  c.run->add_option("--priority", c.run_priority, "Priority, -1000..1000");
  c.run->add_option("--env", c.run_env, "Environment NAME=VALUE (repeatable)")
      ->allow_extra_args(false);
  c.run->add_option("--max-attempts", c.run_max_attempts, "Attempts allowed to fail");
  c.run->add_option("--cpus", c.run_cpus, "CPU limit per task (\"4\", \"0.5\"; default none)");
  c.run->add_option("--memory", c.run_memory, "Memory limit per task (\"16Gi\", \"512Mi\")");
  c.run->add_option("--restart-backoff", c.run_restart_backoff_s,
                    "Seconds to wait before a retry, doubling per failure");
  c.run->add_option("--preempt-notice", c.run_preempt_notice_s,
                    "Seconds between SIGTERM and SIGKILL to checkpoint (BATON_PREEMPT_NOTICE)");
  c.run->add_flag("--wait", c.run_wait, "Wait for the job to end; exit status follows it");
  c.run->add_option("command", c.run_command, "What each rank runs (after --)")->required();

  c.ps = app.add_subcommand("ps", "List jobs (non-terminal ones unless --all or --state)");
  c.ps->add_flag("--all,-a", c.ps_all, "Include finished jobs");
  c.ps->add_option("--queue", c.ps_queue, "Only jobs in this queue");
  c.ps->add_option("--state", c.ps_state, "Only jobs in this state")
      ->check(CLI::IsMember(JobStateNames()));

  c.show = app.add_subcommand("show", "Show one job: spec, state, reason and attempts");
  c.show->add_option("job", c.job_id, "Job id")->required();

  c.logs = app.add_subcommand("logs", "Print one task rank's output");
  c.logs->add_option("job", c.job_id, "Job id")->required();
  c.logs->add_flag("--follow,-f", c.logs_follow, "Keep printing new output");
  c.logs->add_option("--task", c.logs_task, "Task index (default 0)");
  c.logs->add_option("--rank", c.logs_rank, "Rank within the task (default 0)");
  c.logs->add_option("--attempt", c.logs_attempt, "Attempt number (default: the latest)");

  c.cancel = app.add_subcommand("cancel", "Cancel a job");
  c.cancel->add_option("job", c.job_id, "Job id")->required();

  c.wait = app.add_subcommand("wait", "Wait for a job to end; exit status follows the job");
  c.wait->add_option("job", c.job_id, "Job id")->required();
  c.wait->add_option("--timeout", c.wait_timeout_s, "Give up after this many seconds (exit 124)");

  c.nodes = app.add_subcommand("nodes", "List the cluster's nodes");
  c.queues = app.add_subcommand("queues", "List the cluster's queues");
  c.top = app.add_subcommand("top", "Show every GPU's latest telemetry and health");

  c.drain = app.add_subcommand(
      "drain", "Take a node out of scheduling; its tasks get SIGTERM and their notice");
  c.drain->add_option("node", c.node_name, "Node name")->required();
  c.drain->add_option("--reason", c.drain_reason, "Why (shown in baton nodes)");
  c.undrain = app.add_subcommand("undrain", "Put a drained node back into scheduling");
  c.undrain->add_option("node", c.node_name, "Node name")->required();

  for (CLI::App* cmd : {c.submit, c.run, c.ps, c.show, c.logs, c.cancel, c.wait, c.nodes,
                        c.queues, c.drain, c.undrain, c.top}) {
    AddCommonFlags(cmd, c.common);
  }
}

std::optional<int> RunClientCommands(const ClientCommands& c, std::ostream& out,
                                     std::ostream& err, const Clock& clock) {
  if (c.submit != nullptr && c.submit->parsed()) return RunSubmit(c, out, err);
  if (c.run != nullptr && c.run->parsed()) return RunRun(c, out, err);
  if (c.ps != nullptr && c.ps->parsed()) return RunPs(c, out, err, clock);
  if (c.show != nullptr && c.show->parsed()) return RunShow(c, out, err, clock);
  if (c.logs != nullptr && c.logs->parsed()) return RunLogs(c, out, err);
  if (c.cancel != nullptr && c.cancel->parsed()) return RunCancel(c, out, err);
  if (c.wait != nullptr && c.wait->parsed()) return RunWait(c, out, err);
  if (c.nodes != nullptr && c.nodes->parsed()) return RunNodes(c, out, err);
  if (c.queues != nullptr && c.queues->parsed()) return RunQueues(c, out, err);
  if (c.drain != nullptr && c.drain->parsed()) return RunDrain(c, true, out, err);
  if (c.undrain != nullptr && c.undrain->parsed()) return RunDrain(c, false, out, err);
  if (c.top != nullptr && c.top->parsed()) return RunTop(c, out, err);
  return std::nullopt;
}

}  // namespace baton::cli
