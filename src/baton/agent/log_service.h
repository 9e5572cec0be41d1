// AgentLogsService: the agent's AgentLogs.Read, which streams one rank's log file.
//
// Read sends the file from `offset` in chunks. With follow = true it keeps polling the
// file (every ~100 ms) and sends what is appended until the task has ended and
// everything is sent, or the client cancels, or the service shuts down. An unknown task
// is NOT_FOUND with a message naming job, attempt, task and rank.
//
// It is a synchronous gRPC service: each open Read holds one server thread, which is
// fine for the handful of readers a node sees. Simulated agents do not serve logs.
//
// Only the control plane may read: a call must carry "authorization: Bearer <token>"
// with the secret this agent made up at start and sent in Register.logs_token
// (UNAUTHENTICATED otherwise). Task output is the tenant's data; batond applies the
// tenant rules before it reads on a user's behalf.
//
// Thread-safety: gRPC calls Read concurrently; the agent it reads from is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "baton/agent/agent.h"
#include "baton/common/status.h"
#include "baton/v1/agent.grpc.pb.h"

namespace baton::agent {

class AgentLogsService final : public v1::AgentLogs::Service {
 public:
  AgentLogsService(const Agent& agent, std::string token,
                   std::chrono::milliseconds poll = std::chrono::milliseconds(100))
      : agent_(agent), token_(std::move(token)), poll_(poll) {}

  grpc::Status Read(grpc::ServerContext* context, const v1::LogsRequest* request,
                    grpc::ServerWriter<v1::LogChunk>* writer) override;

  // Makes open follow streams end (with what they have sent) at their next poll.
  void Shutdown() { stopping_ = true; }

 private:
  const Agent& agent_;
  const std::string token_;
  std::chrono::milliseconds poll_;
  std::atomic<bool> stopping_{false};
};

// A gRPC server carrying an AgentLogsService, bound to `listen` ("0.0.0.0:0" = any free
// port).
class LogServer {
 public:
  // Unavailable when the address cannot be bound. `token`: the secret callers must send.
  // `credentials`: TLS with the node's certificate (NodeCredentials::LogServerCredentials);
  // nullptr = plaintext.
  static Result<std::unique_ptr<LogServer>> Start(
      const std::string& listen, const Agent& agent, const std::string& token,
      std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~LogServer();  // Shutdown()
  // Ends open streams and stops serving. Idempotent.
  void Shutdown();
  int port() const { return port_; }

 private:
  LogServer(const Agent& agent, std::string token) : service_(agent, std::move(token)) {}
  AgentLogsService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace baton::agent
