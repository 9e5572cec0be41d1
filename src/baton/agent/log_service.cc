#include "baton/agent/log_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "baton/auth/credentials.h"
#include "baton/auth/secret.h"
#include "baton/common/limits.h"

namespace baton::agent {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return grpc::Status(grpc::StatusCode::NOT_FOUND, s.message());
    case StatusCode::kInvalidArgument:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    default:
      return grpc::Status(grpc::StatusCode::INTERNAL, s.message());
  }
}

}  // namespace

grpc::Status AgentLogsService::Read(grpc::ServerContext* context,
                                    const v1::LogsRequest* request,
                                    grpc::ServerWriter<v1::LogChunk>* writer) {
  const auto& md = context->client_metadata();
  auto header = md.find("authorization");
  const std::string expected = auth::BearerValue(token_);
  if (token_.empty() || header == md.end() ||
      !auth::ConstantTimeEquals(std::string_view(header->second.data(), header->second.size()),
                                expected)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "AgentLogs: only the control plane this agent registered with may read "
                        "logs (read them through batond: baton logs)");
  }
  auto find = [&] {
    return agent_.FindLog(request->job_id(), request->attempt(), request->task_index(),
                          request->rank());
  };
  auto loc = find();
  if (!loc.ok()) return ToGrpc(loc.status());
  int64_t offset = std::max<int64_t>(0, request->offset());
  int fd = -1;
  std::vector<char> buf(kChunkBytes);
  while (true) {
    // Ask whether the task ended *before* reading to the end, so output written just
    // before the end is still sent.
    auto now = find();
    bool finished = !now.ok() || now->finished;
    if (fd < 0) {
      fd = ::open(loc->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno != ENOENT) {
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            fmt::format("open {}: {}", loc->path.string(), std::strerror(errno)));
      }
    }
    while (fd >= 0) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return grpc::Status(grpc::StatusCode::INTERNAL,
                            fmt::format("read {}: {}", loc->path.string(), std::strerror(errno)));
      }
      if (n == 0) break;
      v1::LogChunk chunk;
      chunk.set_data(buf.data(), static_cast<size_t>(n));
      chunk.set_offset(offset);
      offset += n;
      if (!writer->Write(chunk)) {  // the client went away
        ::close(fd);
        return grpc::Status::CANCELLED;
      }
    }
    if (!request->follow() || finished || stopping_) break;
    if (context->IsCancelled()) {
      if (fd >= 0) ::close(fd);
      return grpc::Status::CANCELLED;
    }
    std::this_thread::sleep_for(poll_);  // polling the file is the product behaviour
  }
  if (fd >= 0) ::close(fd);
  return grpc::Status::OK;
}

Result<std::unique_ptr<LogServer>> LogServer::Start(
    const std::string& listen, const Agent& agent, const std::string& token,
    std::shared_ptr<grpc::ServerCredentials> credentials) {
  std::unique_ptr<LogServer> server(new LogServer(agent, token));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, credentials ? credentials : grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(&server->service_);
  builder.SetMaxReceiveMessageSize(limits::kMaxGrpcMessageBytes);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return Status(StatusCode::kUnavailable, fmt::format("cannot listen on {}", listen));
  }
  return server;
}

LogServer::~LogServer() { Shutdown(); }

void LogServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  service_.Shutdown();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  }
}

}  // namespace baton::agent
