// EtcdCluster: real etcd members (Debian's /usr/bin/etcd, or $BATON_ETCD) started by a test
// on 127.0.0.1 with free ports and data under a directory the test owns, killed by PID when
// the object dies. Start() waits, with a deadline, until the cluster answers a linearizable
// read (so it has a leader). Kill(i) is kill -9; Restart(i) brings a member back on its
// data. Output of member i goes to <dir>/m<i>.log.
//
// Test-only. Thread-safety: none; use from the test's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::testing {

class EtcdCluster {
 public:
  static Result<std::unique_ptr<EtcdCluster>> Start(
      const std::string& dir, int members,
      std::chrono::seconds ready_within = std::chrono::seconds(60));
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Client endpoints "127.0.0.1:port", one per member.
  const std::vector<std::string>& endpoints() const { return client_; }
  std::string endpoints_text() const;
  int size() const { return static_cast<int>(client_.size()); }

  // SIGKILL member i and reap it.
  void Kill(int i);
  // SIGSTOP / SIGCONT member i (a paused member: connections open, no answers).
  void Pause(int i);
  void Resume(int i);
  // Starts member i again on its data dir.
  Status Restart(int i);
  // Waits until a linearizable read through any live member succeeds.
  Status WaitHealthy(std::chrono::milliseconds within);
  // The member that is the raft leader now, or -1 (asks each live member).
  int Leader();
  bool running(int i) const { return pids_[i] > 0; }

 private:
  EtcdCluster() = default;
  Status Spawn(int i, bool existing);

  std::string dir_;
  std::vector<std::string> names_;
  std::vector<std::string> client_;
  std::vector<std::string> peer_;
  std::vector<pid_t> pids_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
int FreeLocalPort();

}  // namespace baton::testing
