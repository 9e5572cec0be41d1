// The authentication backstop: a handler that forgets to authenticate still leaks nothing.
#include "baton/server/access.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "baton/auth/credentials.h"
#include "baton/store/memory/memory_store.h"
#include "baton/v1/cluster.grpc.pb.h"
#include "baton/v1/events.grpc.pb.h"

namespace baton::server {
namespace {

// Services whose handlers do NOT authenticate (the bug the backstop is for).
class ForgetfulCluster final : public v1::Cluster::CallbackService {
  grpc::ServerUnaryReactor* ListNodes(grpc::CallbackServerContext* ctx, const v1::ListNodesRequest*,
                                      v1::ListNodesResponse* resp) override {
    resp->add_nodes()->set_name("secret-node");
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
};

class ForgetfulEvents final : public v1::Events::CallbackService {
  class Writer final : public grpc::ServerWriteReactor<v1::Event> {
   public:
    Writer() {
      ev_.set_message("secret event");
      StartWrite(&ev_);
    }
    void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
    void OnDone() override { delete this; }

   private:
    v1::Event ev_;
  };
  grpc::ServerWriteReactor<v1::Event>* Watch(grpc::CallbackServerContext*,
                                             const v1::WatchEventsRequest*) override {
    return new Writer();
  }
};

TEST(AccessTest, TheBackstopRefusesWhatAForgetfulHandlerAnswered) {
  store::MemoryStore store;
  SystemClock clock;
  Principals principals(&store, &clock);
  AuditLog audit(&store, &clock);
  QueueTree queues;
  Access access(&principals, &audit, &queues);
  ASSERT_TRUE(principals.CreateUser("u", {}, "", nullptr).ok());
  const std::string token = principals.CreateToken("u", "", 0, "", nullptr).value().secret;

  ForgetfulCluster cluster;
  ForgetfulEvents events;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&cluster);
  builder.RegisterService(&events);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(access.InterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(port);

  for (const std::string& bad : {std::string(), std::string("baton_forged")}) {
    auto channel = auth::CreateChannel(address, bad);
    {
      grpc::ClientContext ctx;
      v1::ListNodesResponse resp;
      grpc::Status s = v1::Cluster::NewStub(channel)->ListNodes(&ctx, {}, &resp);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
      EXPECT_EQ(resp.nodes_size(), 0);
    }
    {
      grpc::ClientContext ctx;
      auto reader = v1::Events::NewStub(channel)->Watch(&ctx, {});
      v1::Event ev;
      while (reader->Read(&ev)) EXPECT_EQ(ev.message(), "") << "the handler's data leaked";
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
    }
  }
  EXPECT_EQ(access.backstop_refusals(), 4);
  // With a valid token the (forgetful) handlers answer as they would.
  grpc::ClientContext ctx;
  v1::ListNodesResponse resp;
  ASSERT_TRUE(
      v1::Cluster::NewStub(auth::CreateChannel(address, token))->ListNodes(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.nodes(0).name(), "secret-node");
  EXPECT_EQ(access.backstop_refusals(), 4);
  // Only the unauthenticated calls were intercepted.
  EXPECT_EQ(access.guarded_calls(), 4);
  server->Shutdown();
}

}  // namespace
}  // namespace baton::server
