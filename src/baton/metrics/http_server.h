// HttpServer: a small HTTP/1.1 server for GET endpoints such as /metrics and /healthz.
//
// Wraps cpp-httplib behind baton's own request/response types so callers need neither
// httplib's headers nor its exceptions. Start() binds synchronously (so a busy port is an
// error the caller sees, not a log line) and then serves on a thread of its own; handlers
// run on httplib's worker pool. Stop() closes the listening socket and joins the threads;
// it returns within about a second even with idle keep-alive connections open.
//
// Routes are exact GET paths (Handle), GET path prefixes (HandlePrefix) and POST path
// prefixes (HandlePost, with the request body, at most kMaxPostBody bytes).
//
// HTTPS: EnableTls (before any route) serves TLS with a certificate chain and key from
// files, through httplib's OpenSSL server.
//
// Not responsible for: authentication, client certificates, routing patterns beyond exact
// and prefix.
//
// Thread-safety: Handle() must be called before Start(). Start(), Stop() and port() may be
// called from any thread; handlers must be thread-safe, as several may run at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"

namespace baton::metrics {

class Registry;

struct HttpRequest {
  std::string path;
  // Query parameters; a repeated key keeps its first value.
  std::map<std::string, std::string> params;
  std::string method = "GET";
  std::string body;  // POST only
  // Request headers with lower-case names; a repeated name keeps its first value.
  std::map<std::string, std::string> headers;
  // The client's address, "127.0.0.1:53312" (for audit records).
  std::string peer;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra response headers (e.g. Cache-Control).
  std::map<std::string, std::string> headers;
};

// Largest POST body accepted; larger requests get 413.
inline constexpr size_t kMaxPostBody = 1 << 20;

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// One registered route (for tests that walk every route).
struct HttpRoute {
  std::string method;  // "GET" or "POST"
  std::string path;
  bool prefix = false;  // every path starting with `path`
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves GET `path` (an exact match) with `handler`. Fails with FailedPrecondition once
  // the server has started, and InvalidArgument for a path not starting with '/'.
  Status Handle(std::string_view path, HttpHandler handler);
  // Serves GET of every path starting with `prefix` (exact Handle routes win). Same errors.
  Status HandlePrefix(std::string_view prefix, HttpHandler handler);
  // Serves POST of every path starting with `prefix`. Same errors.
  Status HandlePost(std::string_view prefix, HttpHandler handler);
  // Called, on a worker thread, for each request refused with 413 before any route saw it
  // (a Content-Length over kMaxPostBody); the request has its headers and peer, no body.
  // For the audit log. Call before Start().
  void OnBodyTooLarge(std::function<void(const HttpRequest&)> fn);
  // Every route registered so far, in order.
  std::vector<HttpRoute> routes() const;
  // Worker threads serving connections (default 4); call before Start().
  void SetWorkerThreads(size_t n);
  // Serves HTTPS with the PEM chain in `cert_file` (leaf first) and the key in
  // `key_file`. FailedPrecondition once a route was added or the server started;
  // InvalidArgument when the files do not load.
  Status EnableTls(const std::string& cert_file, const std::string& key_file);

  // Binds "host:port" ("[::1]:9090" for IPv6; port 0 picks a free one) and starts serving.
  // Returns the bound port. Fails with Unavailable if the address cannot be bound (in use,
  // unknown host), InvalidArgument for a malformed address, FailedPrecondition if already
  // started or stopped (a stopped server does not restart).
  Result<int> Start(std::string_view address);

  // Stops serving and joins the server threads. Idempotent; a no-op before Start().
  void Stop();

  // The bound port, or 0 when not serving.
  int port() const;

  // Serves one raw HTTP/1.1 request (request line, headers, body) through the same parser,
  // limits and routes as a connection does, without a socket, and returns the raw
  // response ("" when the request was too malformed to answer). For the fuzz target
  // fuzz/http_api_fuzzer.cc and tests; works whether or not the server was started, and
  // must not be called concurrently with Handle*().
  std::string ServeRaw(std::string_view raw_request);

 private:
  Status Route(std::string_view method, std::string_view path, bool prefix,
               HttpHandler handler);
  // httplib's settings (socket options, timeouts, worker pool, limits) on impl_->server.
  void Configure();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Content type of the Prometheus text exposition format.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4";

// Answers instead of a handler when it returns a response (e.g. 401 without credentials).
using HttpGuard = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

// Serves `registry` at /metrics, behind `guard` when given. `registry` must outlive
// `server`'s serving.
Status ServeMetrics(HttpServer& server, const Registry& registry, HttpGuard guard = {});

}  // namespace baton::metrics
