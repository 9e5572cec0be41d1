#include "etcd_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "baton/store/etcd/etcd_client.h"

namespace baton::testing {

int FreeLocalPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  close(fd);
  return port;
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(const std::string& dir, int members,
                                                        std::chrono::seconds ready_within) {
  const char* bin = std::getenv("BATON_ETCD");
  if (access(bin ? bin : "/usr/bin/etcd", X_OK) != 0) {
    return FailedPrecondition(
        "etcd: /usr/bin/etcd not found (install etcd-server: make setup) and BATON_ETCD unset");
  }
  std::unique_ptr<EtcdCluster> c(new EtcdCluster());
  c->dir_ = dir;
  for (int i = 0; i < members; ++i) {
    c->names_.push_back(fmt::format("m{}", i));
    c->client_.push_back(fmt::format("127.0.0.1:{}", FreeLocalPort()));
    c->peer_.push_back(fmt::format("127.0.0.1:{}", FreeLocalPort()));
    c->pids_.push_back(0);
  }
  for (int i = 0; i < members; ++i) BATON_RETURN_IF_ERROR(c->Spawn(i, false));
  BATON_RETURN_IF_ERROR(c->WaitHealthy(ready_within));
  return c;
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) {
    if (pids_[i] > 0) {
      kill(pids_[i], SIGCONT);
      Kill(i);
    }
  }
}

std::string EtcdCluster::endpoints_text() const {
  std::string out;
  for (const std::string& e : client_) out += (out.empty() ? "" : ",") + e;
  return out;
}

Status EtcdCluster::Spawn(int i, bool existing) {
  const char* env_bin = std::getenv("BATON_ETCD");
  const std::string bin = env_bin ? env_bin : "/usr/bin/etcd";
  std::string initial;
  for (int j = 0; j < size(); ++j) {
    initial += fmt::format("{}{}=http://{}", j ? "," : "", names_[j], peer_[j]);
  }
  const std::string data = fmt::format("{}/{}.etcd", dir_, names_[i]);
  std::vector<std::string> args = {
      bin,
      "--name",
      names_[i],
      "--data-dir",
      data,
      "--listen-client-urls",
      "http://" + client_[i],
      "--advertise-client-urls",
      "http://" + client_[i],
      "--listen-peer-urls",
      "http://" + peer_[i],
      "--initial-advertise-peer-urls",
      "http://" + peer_[i],
      "--initial-cluster",
      initial,
      "--initial-cluster-state",
      existing ? "existing" : "new",
      "--initial-cluster-token",
      "baton-test",
      "--logger",
      "zap",
      "--log-level",
      "warn",
  };
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = fmt::format("{}/{}.log", dir_, names_[i]);
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return FailedPrecondition("etcd: cannot open " + log);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return FailedPrecondition("etcd: fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec. The member dies with the test
    // (even one killed by a ctest timeout) instead of outliving it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  pids_[i] = pid;
  return Status::Ok();
}

void EtcdCluster::Kill(int i) {
  if (pids_[i] <= 0) return;
  kill(pids_[i], SIGKILL);
  int st = 0;
  waitpid(pids_[i], &st, 0);
  pids_[i] = 0;
}

void EtcdCluster::Pause(int i) {
  if (pids_[i] > 0) kill(pids_[i], SIGSTOP);
}

void EtcdCluster::Resume(int i) {
  if (pids_[i] > 0) kill(pids_[i], SIGCONT);
}

Status EtcdCluster::Restart(int i) {
  if (pids_[i] > 0) return Status::Ok();
  return Spawn(i, true);
}

Status EtcdCluster::WaitHealthy(std::chrono::milliseconds within) {
  store::EtcdOptions opts;
  opts.endpoints = client_;
  opts.request_timeout = std::chrono::milliseconds(500);
  const auto deadline = std::chrono::steady_clock::now() + within;
  Status last;
  for (;;) {
    for (int i = 0; i < size(); ++i) {
      if (pids_[i] <= 0) continue;
      int st = 0;
      if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
        pids_[i] = 0;
        return FailedPrecondition(
            fmt::format("etcd member {} exited; see {}/{}.log", i, dir_, names_[i]));
      }
    }
    // A fresh client each time: a connection made while etcd was still starting can hang
    // for seconds before etcd serves it.
    auto client = store::EtcdClient::Create(opts);
    if (!client.ok()) return client.status();
    etcdserverpb::RangeRequest req;
    req.set_key("health");
    auto r = (*client)->Range(req);
    if (r.ok()) return Status::Ok();
    last = r.status();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kUnavailable, fmt::format("etcd not healthy within {} ms: {}",
                                                          within.count(), last.message()));
    }
    // Polling a condition with a deadline: the member needs time to elect a leader.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int EtcdCluster::Leader() {
  for (int i = 0; i < size(); ++i) {
    if (pids_[i] <= 0) continue;
    store::EtcdOptions opts;
    opts.endpoints = {client_[i]};
    opts.request_timeout = std::chrono::milliseconds(1000);
    auto client = store::EtcdClient::Create(opts);
    if (!client.ok()) continue;
    auto st = (*client)->MemberStatus();
    if (st.ok() && st->leader() != 0 && st->leader() == st->header().member_id()) return i;
  }
  return -1;
}

}  // namespace baton::testing
