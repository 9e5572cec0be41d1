// recovery_bench: how long batond takes to serve again after `kill -9` with many jobs in
// its store.
//
// 1. Fills a fresh SQLite store (the file batond uses) with J job records in the shape the
//    control plane writes them — most finished, some pending, some running with an open
//    attempt on N nodes — plus the N node records, through the Store API in batches.
// 2. Starts `batond` on that data directory, waits until it answers, SIGKILLs it (the
//    WAL is left as a crash leaves it).
// 3. Starts `batond` again R times, each time measuring from fork/exec to the first
//    successful Jobs.Get of the newest job, and SIGKILLs it again.
// The last line is one JSON object: jobs, recover_ms p50 / max over the R restarts.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "baton/api/convert.h"
#include "baton/auth/credentials.h"
#include "baton/auth/token.h"
#include "baton/model/job_lifecycle.h"
#include "baton/security/tls.h"
#include "baton/server/control_plane.h"
#include "baton/store/sqlite/sqlite_store.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace {

using Steady = std::chrono::steady_clock;
using namespace baton;

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  return bench::Spawn(argv, log, /*append=*/true);  // restarts add to one log
}

Status Fill(const std::string& db, int jobs, int nodes) {
  BATON_ASSIGN_OR_RETURN(auto store, store::SqliteStore::Open(db));
  const Time t0 = TimeFromSeconds(1'700'000'000);
  store::Txn txn;
  for (int n = 0; n < nodes; ++n) {
    v1::Node node;
    node.set_name(fmt::format("node-{}", n));
    node.set_address("127.0.0.1");
    for (int g = 0; g < 8; ++g) {
      v1::Gpu* gpu = node.add_gpus();
      gpu->set_index(g);
      gpu->set_uuid(fmt::format("GPU-{}-{}", n, g));
      gpu->set_model("H100");
      gpu->set_memory_mib(81920);
    }
    txn.ops.push_back({store::Op::kPut, server::NodeKey(node.name()), node.SerializeAsString()});
  }
  int running_slot = 0;
  for (int i = 1; i <= jobs; ++i) {
    model::JobSpec spec;
    spec.name = fmt::format("job-{}", i);
    spec.command = {"python", "train.py", "--epochs", "3"};
    spec.env["LR"] = "0.001";
    model::JobRecord rec =
        model::NewJobRecord(JobId(static_cast<uint64_t>(i)), spec, 1, t0 + Seconds(i));
    const int kind = i % 100;
    if (kind < 95 || running_slot >= nodes * 8) {  // finished
      rec = *model::Apply(rec, model::JobEventData::Scheduled(1, {{"node-0", {0}}}), t0);
      rec = *model::Apply(rec, model::JobEventData::Starting(1), t0);
      rec = *model::Apply(rec, model::JobEventData::AllTasksRunning(1), t0);
      rec = *model::Apply(rec, model::JobEventData::TaskExited(1, 0, 0), t0 + Seconds(60));
    } else if (kind < 99) {
      // pending
    } else {  // running on its own GPU
      const int n = running_slot / 8, g = running_slot % 8;
      ++running_slot;
      rec = *model::Apply(
          rec, model::JobEventData::Scheduled(1, {{fmt::format("node-{}", n), {g}}}), t0);
      rec = *model::Apply(rec, model::JobEventData::Starting(1), t0);
      rec = *model::Apply(rec, model::JobEventData::AllTasksRunning(1), t0);
    }
    txn.ops.push_back(
        {store::Op::kPut, server::JobKey(rec.id), api::ToProto(rec).SerializeAsString()});
    if (txn.ops.size() >= 5000) {
      BATON_RETURN_IF_ERROR(store->Txn(txn).status());
      txn.ops.clear();
    }
  }
  if (!txn.ops.empty()) BATON_RETURN_IF_ERROR(store->Txn(txn).status());
  return Status::Ok();
}

// Starts batond and waits until Jobs.Get(newest) answers; returns the elapsed time.
double StartAndServe(const std::string& bin, const std::string& data, int port, int newest,
                     const std::string& token, const std::string& log, pid_t* pid) {
  const auto t0 = Steady::now();
  *pid = Spawn({bin + "/batond", "--data-dir", data, "--listen", fmt::format("127.0.0.1:{}", port),
                "--http", "", "--plaintext"},
               log);
  // Reconnect quickly: gRPC's default backoff (1 s, then longer) would measure itself.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 20);
  auto channel = baton::security::MakeClientChannel(fmt::format("127.0.0.1:{}", port),
                                                    baton::security::ClientTlsOptions{}, args,
                                                    token);
  auto stub = baton::v1::Jobs::NewStub(channel);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    ctx.set_wait_for_ready(true);
    v1::GetJobRequest req;
    req.set_id(std::to_string(newest));
    v1::Job job;
    if (stub->Get(&ctx, req, &job).ok()) break;
    int status = 0;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      std::cerr << "batond exited; see " << log << "\n";
      std::exit(1);
    }
  }
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"recovery_bench: batond's time to serve after kill -9 with many jobs"};
  int jobs = 100000, nodes = 100, restarts = 5, port = 17931;
  std::string bin = std::filesystem::path(argv[0]).parent_path().string();
  std::string dir = "/tmp/baton-recovery-bench";
  app.add_option("--jobs", jobs, "job records in the store")->capture_default_str();
  app.add_option("--nodes", nodes, "node records (8 GPUs each)")->capture_default_str();
  app.add_option("--restarts", restarts, "measured restarts")->capture_default_str();
  app.add_option("--port", port, "gRPC port for batond")->capture_default_str();
  app.add_option("--bin", bin, "directory holding batond")->capture_default_str();
  app.add_option("--dir", dir, "scratch data directory (removed first)")->capture_default_str();
  bool keep = false;
  app.add_flag("--keep", keep, "keep the data directory (state.db, batond.log) afterwards");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto f0 = Steady::now();
  Status s = Fill(dir + "/state.db", jobs, nodes);
  if (!s.ok()) {
    std::cerr << "fill: " << s.ToString() << "\n";
    return 1;
  }
  const double fill_s = std::chrono::duration<double>(Steady::now() - f0).count();
  const auto db_bytes = std::filesystem::file_size(dir + "/state.db");
  std::cout << fmt::format("filled {} jobs + {} nodes in {:.1f}s ({:.1f} MiB)\n", jobs, nodes,
                           fill_s, db_bytes / 1048576.0);
  // The admin token, chosen here: batond adopts it on its first start (bootstrap).
  const std::string token = auth::GenerateToken().value().ToString();
  if (Status w = auth::WriteSecretFile(dir + "/admin.token", token + "\n"); !w.ok()) {
    std::cerr << w.ToString() << "\n";
    return 1;
  }
  const std::string log = dir + "/batond.log";
  pid_t pid = 0;
  double first = StartAndServe(bin, dir, port, jobs, token, log, &pid);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  std::cout << fmt::format("first start (cold page cache possible): {:.0f} ms\n", first);
  std::vector<double> ms;
  for (int r = 0; r < restarts; ++r) {
    ms.push_back(StartAndServe(bin, dir, port, jobs, token, log, &pid));
    kill(pid, SIGKILL);  // a crash, not a shutdown: the WAL stays as it is
    waitpid(pid, nullptr, 0);
    std::cout << fmt::format("restart {} after kill -9: serving in {:.0f} ms\n", r + 1, ms.back());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << fmt::format(
      "{{\"jobs\": {}, \"nodes\": {}, \"restarts\": {}, \"recover_ms_p50\": {:.0f}, "
      "\"recover_ms_max\": {:.0f}, \"db_mib\": {:.1f}}}\n",
      jobs, nodes, restarts, ms[ms.size() / 2], ms.back(), db_bytes / 1048576.0);
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
