#include "baton/metrics/http_server.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>

#include "baton/metrics/registry.h"

namespace baton::metrics {
namespace {

TEST(HttpServerTest, ServesMetricsAnd404) {
  Registry registry;
  registry.AddCounter("baton_test_requests_total", "Requests.").Inc(7);
  HttpServer server;
  ASSERT_TRUE(ServeMetrics(server, registry).ok());
  ASSERT_TRUE(server.Handle("/healthz", [](const HttpRequest& req) {
                      return HttpResponse{200, "text/plain", "ok " + req.params.at("x") + "\n"};
                    }).ok());
  Result<int> port = server.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  EXPECT_GT(*port, 0);
  EXPECT_EQ(server.port(), *port);

  httplib::Client client("127.0.0.1", *port);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_EQ(res->body, registry.Render());
  EXPECT_NE(res->body.find("baton_test_requests_total 7\n"), std::string::npos);

  res = client.Get("/healthz?x=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok 1\n");

  res = client.Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client.Get("/metricsX");  // paths match exactly, not as prefixes
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);

  server.Stop();
  server.Stop();  // idempotent
  EXPECT_EQ(server.port(), 0);
}

TEST(HttpServerTest, HandlerExceptionIsA500) {
  HttpServer server;
  ASSERT_TRUE(server.Handle("/boom", [](const HttpRequest&) -> HttpResponse {
                      throw std::runtime_error("kaboom");
                    }).ok());
  Result<int> port = server.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  httplib::Client client("127.0.0.1", *port);
  auto res = client.Get("/boom");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
}

TEST(HttpServerTest, AddressInUseIsAnError) {
  HttpServer first;
  Result<int> port = first.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  HttpServer second;
  Result<int> again = second.Start("127.0.0.1:" + std::to_string(*port));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
  second.Stop();  // harmless on a server that never started
}

TEST(HttpServerTest, BadAddressesAndStates) {
  HttpServer server;
  EXPECT_EQ(server.Start("no-port").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1:99999").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Start("127.0.0.1:x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.Handle("metrics", nullptr).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_EQ(server.Start("127.0.0.1:0").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.Handle("/late", [](const HttpRequest&) { return HttpResponse{}; }).code(),
            StatusCode::kFailedPrecondition);
  server.Stop();
  EXPECT_EQ(server.Start("127.0.0.1:0").status().code(), StatusCode::kFailedPrecondition);
}

TEST(HttpServerTest, StopIsPromptWithAnOpenKeepAliveConnection) {
  HttpServer server;
  ASSERT_TRUE(server.Handle("/", [](const HttpRequest&) { return HttpResponse{}; }).ok());
  Result<int> port = server.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  httplib::Client client("127.0.0.1", *port);
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/"));
  const auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(HttpServerTest, StopRightAfterStartAndDestructorStop) {
  for (int i = 0; i < 20; ++i) {
    HttpServer server;
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    if (i % 2 == 0) server.Stop();  // odd rounds rely on the destructor
  }
}

TEST(HttpServerTest, PrefixAndPostRoutesWithHeadersAndBodies) {
  HttpServer server;
  ASSERT_TRUE(server.Handle("/api/exact", [](const HttpRequest&) {
                      return HttpResponse{200, "text/plain", "exact", {}};
                    }).ok());
  ASSERT_TRUE(server.HandlePrefix("/api/", [](const HttpRequest& req) {
                      HttpResponse r{200, "text/plain", "prefix " + req.path, {}};
                      r.headers["Cache-Control"] = "no-store";
                      return r;
                    }).ok());
  ASSERT_TRUE(server.HandlePost("/api/", [](const HttpRequest& req) {
                      return HttpResponse{200, "text/plain",
                                          req.method + " " + req.path + " " + req.body + " " +
                                              req.headers.at("x-test"),
                                          {}};
                    }).ok());
  EXPECT_EQ(server.HandlePrefix("nope", [](const HttpRequest&) { return HttpResponse{}; }).code(),
            StatusCode::kInvalidArgument);
  Result<int> port = server.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(server.HandlePost("/late", [](const HttpRequest&) { return HttpResponse{}; }).code(),
            StatusCode::kFailedPrecondition);
  httplib::Client client("127.0.0.1", *port);
  auto res = client.Get("/api/exact");  // the exact route, added first, wins
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "exact");
  res = client.Get("/api/jobs/7");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "prefix /api/jobs/7");
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  res = client.Post("/api/jobs/7/cancel", httplib::Headers{{"X-Test", "yes"}}, "body",
                    "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "POST /api/jobs/7/cancel body yes");
  res = client.Post("/api/x", std::string(kMaxPostBody + 1, 'x'), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  res = client.Post("/other", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

}  // namespace
// ServeRaw: one request from memory through httplib's parser and the routes, as the HTTP
// fuzz target drives it; oversized bodies get 413 without reaching the handler.
TEST(HttpServerTest, ServeRawParsesRoutesAndEnforcesTheBodyLimit) {
  HttpServer server;
  int posts = 0;
  std::vector<HttpRequest> too_large;
  server.OnBodyTooLarge([&](const HttpRequest& r) { too_large.push_back(r); });
  ASSERT_TRUE(server.Handle("/hello", [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", "hi " + r.params.at("who"), {}};
  }).ok());
  ASSERT_TRUE(server.HandlePost("/p", [&](const HttpRequest& r) {
    ++posts;
    return HttpResponse{200, "text/plain", std::to_string(r.body.size()), {}};
  }).ok());
  std::string ok = server.ServeRaw("GET /hello?who=you HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("\r\n\r\nhi you"), std::string::npos) << ok;
  std::string post = server.ServeRaw("POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_NE(post.find("\r\n\r\n3"), std::string::npos) << post;
  EXPECT_EQ(posts, 1);
  std::string big = server.ServeRaw("POST /p HTTP/1.1\r\nContent-Length: " +
                                    std::to_string(kMaxPostBody + 1) + "\r\n\r\n" +
                                    std::string(kMaxPostBody + 1, 'x'));
  EXPECT_EQ(big.rfind("HTTP/1.1 413", 0), 0u) << big.substr(0, 100);
  EXPECT_EQ(posts, 1);
  // The refusal was reported, with the request's headers (for the audit log), once.
  ASSERT_EQ(too_large.size(), 1u);
  EXPECT_EQ(too_large[0].path, "/p");
  EXPECT_EQ(too_large[0].headers.at("content-length"), std::to_string(kMaxPostBody + 1));
  EXPECT_EQ(server.ServeRaw("\x01\x02garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

}  // namespace baton::metrics
