// e2e_bench: end-to-end control-plane throughput. Starts `batond` (SQLite, durable state)
// and `baton-agent --simulate N` (N virtual agents, each with its own gRPC stream and
// fake GPUs) as child processes, then submits J short jobs over gRPC with a window of
// requests in flight and follows them on a Jobs.Watch stream.
//
// Reports: sustained jobs/s from the first submit to the last completion, and the
// submit-to-running latency (client send time to the RUNNING event seen on the watch
// stream) at p50 and p99. The last line of output is one JSON object (`make bench-e2e`).
//
// It measures the whole system on this machine: all three processes share its cores,
// unless --pin-batond gives batond CPUs of its own (the simulator and this client get the
// others), the layout of a cluster, where the agents run on other machines than the
// control plane.
//
// --tls runs the same over TLS (docs/tls.md): batond --tls writes a bootstrap token for
// every simulated agent, each agent joins for a node certificate and keeps a mutual-TLS
// stream, and the client submits and watches over TLS.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/security/files.h"
#include "baton/security/tls.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace {

using baton::bench::Spawn;

using Clock = std::chrono::steady_clock;

// CPU seconds (user + system) `pid` has used so far, from /proc/<pid>/stat (0 if gone).
// Counted per phase, they say what the work cost on a machine whose load makes wall time
// noisy.
double CpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int agents = 1000;
  int gpus = 8;
  int jobs = 100000;
  int window = 512;
  int duration_ms = 50;
  std::string bin_dir = std::filesystem::path(argv[0]).parent_path().string();
  std::string work = "/tmp/baton-e2e-bench";
  CLI::App app{"e2e_bench: submit-to-completion throughput of batond + simulated agents"};
  app.add_option("--agents", agents, "simulated agents")->capture_default_str();
  app.add_option("--gpus", gpus, "GPUs per agent")->capture_default_str();
  app.add_option("--jobs", jobs, "jobs to submit")->capture_default_str();
  app.add_option("--window", window, "submits in flight")->capture_default_str();
  app.add_option("--duration-ms", duration_ms, "how long each job runs")->capture_default_str();
  app.add_option("--bin-dir", bin_dir, "where batond and baton-agent are");
  app.add_option("--work-dir", work, "scratch directory (wiped)")->capture_default_str();
  std::string batond_args;
  app.add_option("--batond-args", batond_args,
                 "extra batond flags, space-separated, e.g. '--store etcd --etcd-endpoints "
                 "127.0.0.1:2379 --advertise bench'");
  bool tls = false;
  app.add_flag("--tls", tls,
               "TLS everywhere (batond's default), agents join with certificates (without it "
               "batond runs --plaintext)");
  int streams_per_connection = 100;
  app.add_option("--streams-per-connection", streams_per_connection,
                 "plaintext: simulated agents per connection (TLS: always 1)")
      ->capture_default_str();
  std::string pin_batond;
  app.add_option("--pin-batond", pin_batond,
                 "CPUs for batond alone, as taskset -c takes them (e.g. 0); the agent simulator "
                 "and this client run on the other CPUs");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> batond_prefix;
  if (!pin_batond.empty()) {
    // This process (and so the agent simulator it starts) leaves batond's CPUs alone.
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
      std::cerr << "--pin-batond: sched_getaffinity failed\n";
      return 2;
    }
    for (size_t start = 0; start < pin_batond.size();) {
      size_t end = pin_batond.find(',', start);
      if (end == std::string::npos) end = pin_batond.size();
      const std::string item = pin_batond.substr(start, end - start);
      int lo = 0, hi = 0;
      if (std::sscanf(item.c_str(), "%d-%d", &lo, &hi) == 2) {
      } else if (std::sscanf(item.c_str(), "%d", &lo) == 1) {
        hi = lo;
      } else {
        std::cerr << "--pin-batond: '" << item << "' is not a CPU or a range\n";
        return 2;
      }
      for (int c = lo; c <= hi && c >= 0 && c < CPU_SETSIZE; ++c) CPU_CLR(c, &set);
      start = end + 1;
    }
    if (CPU_COUNT(&set) == 0 || sched_setaffinity(0, sizeof(set), &set) != 0) {
      std::cerr << "--pin-batond: no CPU would be left for the agents and the client\n";
      return 2;
    }
    batond_prefix = {"/usr/bin/taskset", "-c", pin_batond};
  }

  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  const std::string port_file = work + "/port";
  std::vector<std::string> batond_argv = batond_prefix;
  batond_argv.insert(batond_argv.end(), {bin_dir + "/batond", "--data-dir", work + "/batond",
                                         "--listen", "127.0.0.1:0", "--http", "", "--port-file",
                                         port_file});
  const std::string token_file = work + "/bootstrap.token";
  if (tls) {  // batond's default; it makes a token every simulated agent joins with
    for (std::string a : {std::string("--bootstrap-token-file"), token_file,
                          std::string("--bootstrap-token-uses"), std::to_string(agents),
                          std::string("--bootstrap-token-ttl"), std::string("600")}) {
      batond_argv.push_back(a);
    }
  } else {
    batond_argv.push_back("--plaintext");
  }
  for (size_t start = 0; start < batond_args.size();) {
    size_t end = batond_args.find(' ', start);
    if (end == std::string::npos) end = batond_args.size();
    if (end > start) batond_argv.push_back(batond_args.substr(start, end - start));
    start = end + 1;
  }
  pid_t batond = Spawn(batond_argv, work + "/batond.log");
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(port_file)) {
    if (Clock::now() > deadline) {
      std::cerr << "batond did not start; see " << work << "/batond.log\n";
      kill(batond, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int port = 0;
  std::ifstream(port_file) >> port;
  const std::string addr = fmt::format("127.0.0.1:{}", port);
  // batond wrote its bootstrap tokens before it wrote the port file.
  const std::string admin_token_file = work + "/batond/admin.token";
  const std::string ca_file = work + "/batond/pki/ca.crt";
  std::vector<std::string> agent_argv = {bin_dir + "/baton-agent", "--server", addr, "--name",
                                         "sim", "--simulate", std::to_string(agents),
                                         "--fake-gpus", fmt::format("{}xH100", gpus),
                                         "--data-dir", work + "/agent", "--token-file",
                                         work + "/batond/agent.token"};
  if (tls) {
    for (std::string a : {std::string("--ca-file"), ca_file,
                          std::string("--bootstrap-token-file"), token_file}) {
      agent_argv.push_back(a);
    }
  } else {
    agent_argv.push_back("--sim-streams-per-connection");
    agent_argv.push_back(std::to_string(streams_per_connection));
  }
  pid_t agent = Spawn(agent_argv, work + "/agent.log");
  auto cleanup = [&] {
    kill(agent, SIGTERM);
    kill(batond, SIGTERM);
    waitpid(agent, nullptr, 0);
    waitpid(batond, nullptr, 0);
  };

  auto admin_token = baton::auth::ReadTokenFile(admin_token_file);
  if (!admin_token.ok()) {
    std::cerr << admin_token.status().message() << "\n";
    cleanup();
    return 1;
  }
  baton::security::ClientTlsOptions client_tls;
  if (tls) client_tls.ca_pem = baton::security::ReadFile(ca_file).value();
  // The token goes on each call's context (the watch stream is one long call): a channel
  // interceptor would run for every message, on the client this bench is not measuring.
  auto channel = baton::security::MakeClientChannel(addr, client_tls);
  const std::string bearer = baton::auth::BearerValue(*admin_token);
  auto jobs_stub = baton::v1::Jobs::NewStub(channel);
  auto cluster_stub = baton::v1::Cluster::NewStub(channel);
  const auto t_register = Clock::now();
  deadline = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    grpc::ClientContext ctx;
    ctx.AddMetadata(baton::auth::kAuthorizationHeader, bearer);
    baton::v1::ListNodesRequest req;
    req.set_state(baton::v1::NODE_STATE_READY);
    baton::v1::ListNodesResponse resp;
    if (cluster_stub->ListNodes(&ctx, req, &resp).ok() && resp.nodes_size() >= agents) break;
    if (Clock::now() > deadline) {
      std::cerr << "agents did not register in time\n";
      cleanup();
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double register_s =
      std::chrono::duration<double>(Clock::now() - t_register).count();
  std::cerr << fmt::format("{} agents ready in {:.1f}s\n", agents, register_s);

  // Follow every job's state on one watch stream.
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> sent_at;  // by job id, once the reply names it
  std::vector<Clock::time_point> submit_time(static_cast<size_t>(jobs));
  std::vector<double> to_running_ms;
  std::map<std::string, Clock::time_point> running_at;  // RUNNING seen before the reply
  int64_t done = 0, failed = 0;
  Clock::time_point last_done;
  grpc::ClientContext watch_ctx;
  watch_ctx.AddMetadata(baton::auth::kAuthorizationHeader, bearer);
  baton::v1::WatchJobsRequest wreq;
  auto watch = jobs_stub->Watch(&watch_ctx, wreq);
  std::thread watcher([&] {
    baton::v1::JobEvent ev;
    while (watch->Read(&ev)) {
      const auto now = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      const auto state = ev.job().state();
      if (state == baton::v1::JOB_STATE_RUNNING) {
        auto it = sent_at.find(ev.job().id());
        if (it != sent_at.end()) {
          to_running_ms.push_back(
              std::chrono::duration<double, std::milli>(now - it->second).count());
        } else {
          running_at[ev.job().id()] = now;
        }
      } else if (state == baton::v1::JOB_STATE_SUCCEEDED ||
                 state == baton::v1::JOB_STATE_FAILED ||
                 state == baton::v1::JOB_STATE_CANCELLED) {
        if (state != baton::v1::JOB_STATE_SUCCEEDED) failed++;
        done++;
        last_done = now;
        cv.notify_all();
      }
    }
  });

  baton::v1::SubmitRequest proto;
  proto.mutable_spec()->set_name("bench");
  proto.mutable_spec()->set_gpus_per_task("1");
  proto.mutable_spec()->add_command("true");
  proto.mutable_spec()->set_simulate_duration_ms(duration_ms);

  std::atomic<int> in_flight{0};
  std::atomic<int> submit_errors{0};
  std::mutex wmu;
  std::condition_variable wcv;
  struct Call {
    grpc::ClientContext ctx;
    baton::v1::SubmitResponse resp;
    Clock::time_point t0;
  };
  const double cpu0[3] = {CpuSeconds(batond), CpuSeconds(agent), CpuSeconds(getpid())};
  const auto t_start = Clock::now();
  for (int i = 0; i < jobs; ++i) {
    {
      std::unique_lock<std::mutex> lock(wmu);
      wcv.wait(lock, [&] { return in_flight.load() < window; });
    }
    in_flight++;
    auto* call = new Call;
    call->ctx.AddMetadata(baton::auth::kAuthorizationHeader, bearer);
    call->t0 = Clock::now();
    jobs_stub->async()->Submit(&call->ctx, &proto, &call->resp, [&, call](grpc::Status s) {
      if (!s.ok()) {
        if (submit_errors.fetch_add(1) < 5) std::cerr << "submit: " << s.error_message() << "\n";
        std::lock_guard<std::mutex> lock(mu);
        done++;
        failed++;
        cv.notify_all();
      } else {
        std::lock_guard<std::mutex> lock(mu);
        const std::string& id = call->resp.job().id();
        auto r = running_at.find(id);
        if (r != running_at.end()) {
          to_running_ms.push_back(
              std::chrono::duration<double, std::milli>(r->second - call->t0).count());
          running_at.erase(r);
        } else {
          sent_at[id] = call->t0;
        }
      }
      delete call;
      in_flight--;
      std::lock_guard<std::mutex> lock(wmu);
      wcv.notify_one();
    });
  }
  const double submit_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  bool complete;
  {
    std::unique_lock<std::mutex> lock(mu);
    complete = cv.wait_for(lock, std::chrono::seconds(600), [&] { return done >= jobs; });
  }
  const double cpu_batond = CpuSeconds(batond) - cpu0[0];
  const double cpu_agent = CpuSeconds(agent) - cpu0[1];
  const double cpu_client = CpuSeconds(getpid()) - cpu0[2];
  watch_ctx.TryCancel();
  watcher.join();
  cleanup();

  std::lock_guard<std::mutex> lock(mu);
  const double total_s = std::chrono::duration<double>(last_done - t_start).count();
  const double jobs_per_s = total_s > 0 ? static_cast<double>(done) / total_s : 0;
  std::cerr << fmt::format(
      "submitted {} jobs in {:.2f}s ({:.0f}/s); {} finished ({} failed) in {:.2f}s{}\n", jobs,
      submit_s, jobs / submit_s, done, failed, total_s, complete ? "" : " (TIMED OUT)");
  std::cout << fmt::format(
                   "{{\"jobs\": {}, \"agents\": {}, \"gpus_per_agent\": {}, \"job_duration_ms\": "
                   "{}, \"window\": {}, \"finished\": {}, \"failed\": {}, \"seconds\": {:.3f}, "
                   "\"jobs_per_s\": {:.1f}, \"submit_per_s\": {:.1f}, "
                   "\"p50_submit_to_running_ms\": {:.2f}, \"p99_submit_to_running_ms\": {:.2f}, "
                   "\"running_samples\": {}, \"agents_register_s\": {:.2f}, \"tls\": {}, "
                   "\"streams_per_connection\": {}, \"cpu_s\": {{\"batond\": {:.2f}, "
                   "\"agents\": {:.2f}, \"client\": {:.2f}}}, \"cpu_ms_per_job\": {:.3f}, "
                   "\"pin_batond\": \"{}\"}}",
                   jobs, agents, gpus, duration_ms, window, done, failed, total_s, jobs_per_s,
                   jobs / submit_s, Percentile(to_running_ms, 0.5),
                   Percentile(to_running_ms, 0.99), to_running_ms.size(), register_s, tls,
                   tls ? 1 : streams_per_connection, cpu_batond, cpu_agent, cpu_client,
                   1000.0 * (cpu_batond + cpu_agent + cpu_client) / std::max<int64_t>(done, 1),
                   pin_batond)
            << std::endl;
  return complete && failed == 0 ? 0 : 1;
}
