// The v1 gRPC services of batond over a ControlPlane: Jobs, Cluster and Agent.
//
// They use gRPC's callback API so that a thousand agent streams, watchers and
// waiting submits cost no thread each. Each handler converts the request (api/convert.h
// validates it and names the bad field), calls the ControlPlane, and maps Status codes to
// gRPC codes. Jobs.Logs is answered by streaming from the agent that runs the task
// (AgentLogs.Read), one thread per open log stream.
//
// Every handler first authenticates the call and authorizes it on the object it touches
// (access.h: roles per queue, docs/security.md); changes carry their audit record into the
// ControlPlane's transaction (ChangeOrigin), refusals are audited. Lists and watches show
// only the jobs of queues the caller may view.
//
// Thread-safety: the services are stateless apart from the ControlPlane and Access they
// share.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "baton/common/status.h"
#include "baton/server/access.h"
#include "baton/server/control_plane.h"
#include "baton/v1/agent.grpc.pb.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/jobs.grpc.pb.h"

namespace baton::server {

class BatondTls;

grpc::Status ToGrpc(const Status& s);

class JobsService final : public v1::Jobs::CallbackService {
 public:
  // `tls`: batond's TLS (log reads from agents then check the node's certificate);
  // nullptr = plaintext.
  JobsService(ControlPlane* cp, Access* access, const BatondTls* tls = nullptr)
      : cp_(cp), access_(access), tls_(tls) {}

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const v1::SubmitRequest* req,
                                   v1::SubmitResponse* resp) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const v1::GetJobRequest* req,
                                v1::Job* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const v1::ListJobsRequest* req,
                                 v1::ListJobsResponse* resp) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* ctx,
                                   const v1::CancelJobRequest* req, v1::Job* resp) override;
  grpc::ServerWriteReactor<v1::JobEvent>* Watch(grpc::CallbackServerContext* ctx,
                                                const v1::WatchJobsRequest* req) override;
  grpc::ServerWriteReactor<v1::LogChunk>* Logs(grpc::CallbackServerContext* ctx,
                                               const v1::LogsRequest* req) override;
  grpc::ServerUnaryReactor* ReportCheckpoint(grpc::CallbackServerContext* ctx,
                                             const v1::ReportCheckpointRequest* req,
                                             v1::Job* resp) override;

 private:
  // Authenticates the call and reads the job `id_text` names, authorizing `p` on it.
  struct JobAccess {
    Identity who;
    JobId id;
    v1::Job job;
  };
  Result<JobAccess> JobFor(grpc::CallbackServerContext* ctx, std::string_view action,
                           Permission p, const std::string& id_text, std::string_view field);
  ControlPlane* cp_;
  Access* access_;
  const BatondTls* tls_;
};

class ClusterService final : public v1::Cluster::CallbackService {
 public:
  ClusterService(ControlPlane* cp, Access* access) : cp_(cp), access_(access) {}
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext* ctx,
                                      const v1::ListNodesRequest* req,
                                      v1::ListNodesResponse* resp) override;
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* ctx,
                                       const v1::ListQueuesRequest* req,
                                       v1::ListQueuesResponse* resp) override;
  grpc::ServerUnaryReactor* DrainNode(grpc::CallbackServerContext* ctx,
                                      const v1::DrainNodeRequest* req, v1::Node* resp) override;
  grpc::ServerUnaryReactor* UndrainNode(grpc::CallbackServerContext* ctx,
                                        const v1::UndrainNodeRequest* req,
                                        v1::Node* resp) override;
  grpc::ServerUnaryReactor* UpdateQueue(grpc::CallbackServerContext* ctx,
                                        const v1::UpdateQueueRequest* req,
                                        v1::Queue* resp) override;

 private:
  // Drain and undrain: size check, authentication, kManageNodes on the node, `change`
  // with the audited origin (`reason` as its detail); failures audited.
  grpc::ServerUnaryReactor* ChangeNode(
      grpc::CallbackServerContext* ctx, std::string_view action,
      const google::protobuf::MessageLite& req, const std::string& name, const std::string& reason,
      v1::Node* resp, const std::function<Result<v1::Node>(const ChangeOrigin&)>& change);

  ControlPlane* cp_;
  Access* access_;
};

// With `tls` (batond_tls.h), a stream needs a node certificate from the CA, may register
// only that node (else PERMISSION_DENIED), and ends when the certificate expires.
class AgentService final : public v1::Agent::CallbackService {
 public:
  AgentService(ControlPlane* cp, Access* access, const BatondTls* tls = nullptr)
      : cp_(cp), access_(access), tls_(tls) {}
  grpc::ServerBidiReactor<v1::AgentMessage, v1::Directive>* Connect(
      grpc::CallbackServerContext* ctx) override;

 private:
  ControlPlane* cp_;
  Access* access_;
  const BatondTls* tls_;
};

// "42" -> JobId(42); InvalidArgument naming `field` otherwise.
Result<JobId> ParseJobId(std::string_view text, std::string_view field);

}  // namespace baton::server
