#include "baton/metrics/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include "baton/metrics/registry.h"

namespace baton::metrics {
namespace {

// httplib sets SO_REUSEPORT by default, which lets a second server bind a port that is
// already listening and silently share its traffic. SO_REUSEADDR alone still allows a quick
// restart over TIME_WAIT sockets but makes a live listener's port an error.
void ReuseAddrOnly(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

// Worker threads for connections; /metrics and health checks need few.
constexpr size_t kWorkerThreads = 4;
// Idle keep-alive connections hold Stop() for up to this long.
constexpr time_t kKeepAliveSeconds = 1;

// Splits "host:port" / "[v6]:port".
Status ParseAddress(std::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("http address '" + std::string(address) + "': want host:port");
  }
  std::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string_view p = address.substr(colon + 1);
  int value = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value < 0 ||
      value > 65535) {
    return InvalidArgument("http address '" + std::string(address) + "': bad port");
  }
  *host = std::string(h);
  *port = value;
  return Status::Ok();
}

// httplib::Server plus a way to serve one request from memory: process_request is
// protected; this is what httplib's own fuzzer does.
class MemoryServer final : public httplib::Server {
 public:
  // A Stream reading from a string and collecting what is written.
  class StringStream final : public httplib::Stream {
   public:
    explicit StringStream(std::string_view in) : in_(in) {}
    bool is_readable() const override { return true; }
    bool is_writable() const override { return true; }
    ssize_t read(char* ptr, size_t size) override {
      size = std::min(size, in_.size());
      std::copy_n(in_.data(), size, ptr);
      in_.remove_prefix(size);
      return static_cast<ssize_t>(size);
    }
    ssize_t write(const char* ptr, size_t size) override {
      out_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
      ip = "127.0.0.1";
      port = 1;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
      ip = "127.0.0.1";
      port = 2;
    }
    socket_t socket() const override { return INVALID_SOCKET; }
    std::string& out() { return out_; }

   private:
    std::string_view in_;
    std::string out_;
  };

  std::string ServeRaw(std::string_view raw) {
    StringStream stream(raw);
    bool closed = false;
    process_request(stream, /*close_connection=*/true, closed, nullptr);
    return std::move(stream.out());
  }
};

// baton's view of an httplib request (header names lower-cased).
HttpRequest FromHttplib(const httplib::Request& req) {
  HttpRequest request;
  request.path = req.path;
  request.method = req.method;
  request.body = req.body;
  request.peer = fmt::format("{}:{}", req.remote_addr, req.remote_port);
  for (const auto& [k, v] : req.params) request.params.emplace(k, v);
  for (const auto& [k, v] : req.headers) {
    std::string name = k;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace(std::move(name), v);
  }
  return request;
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(std::unique_ptr<httplib::Server> s) : owned(std::move(s)), server(*owned) {}
  // A MemoryServer (which can also serve a request from memory: ServeRaw), or an
  // httplib::SSLServer once EnableTls replaced it.
  std::unique_ptr<httplib::Server> owned;
  httplib::Server& server;
  size_t workers = kWorkerThreads;
  bool has_routes = false;
  std::mutex mu;  // guards everything below and Start/Stop transitions
  enum class State { kNew, kRunning, kStopped } state = State::kNew;
  int port = 0;
  std::thread thread;
  std::vector<HttpRoute> routes;  // as registered
  std::function<void(const HttpRequest&)> too_large;  // OnBodyTooLarge; set before Start
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>(std::make_unique<MemoryServer>())) {
  Configure();
}

void HttpServer::Configure() {
  impl_->server.set_socket_options(ReuseAddrOnly);
  impl_->server.set_keep_alive_timeout(kKeepAliveSeconds);
  impl_->server.new_task_queue = [impl = impl_.get()] {
    return new httplib::ThreadPool(impl->workers);
  };
  impl_->server.set_payload_max_length(kMaxPostBody);
  // httplib answers 413 itself and then calls its logger with the parsed headers (no
  // handler of ours answers 413).
  impl_->server.set_logger(
      [impl = impl_.get()](const httplib::Request& req, const httplib::Response& res) {
        if (res.status == 413 && impl->too_large) impl->too_large(FromHttplib(req));
      });
  // Handlers are wrapped below and do not throw; this keeps a stray exception a 500.
  impl_->server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      });
}

HttpServer::~HttpServer() { Stop(); }

namespace {

// httplib matches patterns as regular expressions; escape so `path` matches literally.
std::string EscapeRegex(std::string_view path) {
  std::string pattern;
  for (char c : path) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) {
      pattern.push_back('\\');
    }
    pattern.push_back(c);
  }
  return pattern;
}

httplib::Server::Handler Wrap(HttpHandler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    HttpRequest request = FromHttplib(req);
    HttpResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      response = HttpResponse{500, "text/plain; charset=utf-8",
                              std::string("internal error: ") + e.what() + "\n", {}};
    }
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_content(std::move(response.body), response.content_type.c_str());
  };
}

}  // namespace

Status HttpServer::Route(std::string_view method, std::string_view path, bool prefix,
                         HttpHandler handler) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("http path '" + std::string(path) + "' must start with '/'");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state != Impl::State::kNew) {
    return FailedPrecondition("http handlers must be added before Start()");
  }
  impl_->routes.push_back({std::string(method), std::string(path), prefix});
  impl_->has_routes = true;
  const std::string pattern = EscapeRegex(path) + (prefix ? ".*" : "");
  if (method == "POST") {
    impl_->server.Post(pattern, Wrap(std::move(handler)));
  } else {
    impl_->server.Get(pattern, Wrap(std::move(handler)));
  }
  return Status::Ok();
}

Status HttpServer::Handle(std::string_view path, HttpHandler handler) {
  return Route("GET", path, /*prefix=*/false, std::move(handler));
}

Status HttpServer::HandlePrefix(std::string_view prefix, HttpHandler handler) {
  return Route("GET", prefix, /*prefix=*/true, std::move(handler));
}

Status HttpServer::HandlePost(std::string_view prefix, HttpHandler handler) {
  return Route("POST", prefix, /*prefix=*/true, std::move(handler));
}

void HttpServer::OnBodyTooLarge(std::function<void(const HttpRequest&)> fn) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state == Impl::State::kNew) impl_->too_large = std::move(fn);
}

std::vector<HttpRoute> HttpServer::routes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->routes;
}

void HttpServer::SetWorkerThreads(size_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state == Impl::State::kNew) impl_->workers = std::max<size_t>(n, 1);
}

Status HttpServer::EnableTls(const std::string& cert_file, const std::string& key_file) {
  size_t workers;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->state != Impl::State::kNew || impl_->has_routes) {
      return FailedPrecondition("http: TLS must be enabled before routes are added");
    }
    workers = impl_->workers;
  }
  auto ssl = std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str());
  if (!ssl->is_valid()) {
    return InvalidArgument(fmt::format("http TLS: cannot load certificate {} and key {}",
                                       cert_file, key_file));
  }
  impl_ = std::make_unique<Impl>(std::move(ssl));
  impl_->workers = workers;
  Configure();
  return Status::Ok();
}

Result<int> HttpServer::Start(std::string_view address) {
  std::string host;
  int port = 0;
  BATON_RETURN_IF_ERROR(ParseAddress(address, &host, &port));

  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state != Impl::State::kNew) {
    return FailedPrecondition("http server already started");
  }
  int bound = -1;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(host);
  } else if (impl_->server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return Status(StatusCode::kUnavailable,
                  "http server: cannot bind " + std::string(address) +
                      " (address in use or unknown host)");
  }
  impl_->port = bound;
  impl_->state = Impl::State::kRunning;
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop has marked itself running; wait for
  // that here so a Stop() right after Start() cannot be lost.
  while (!impl_->server.is_running()) std::this_thread::yield();
  return bound;
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->state != Impl::State::kRunning) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->state = Impl::State::kStopped;
  impl_->port = 0;
}

std::string HttpServer::ServeRaw(std::string_view raw_request) {
  auto* memory = dynamic_cast<MemoryServer*>(impl_->owned.get());
  if (memory == nullptr) return "";  // TLS: requests come only through the socket
  return memory->ServeRaw(raw_request);
}

int HttpServer::port() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->port;
}

Status ServeMetrics(HttpServer& server, const Registry& registry, HttpGuard guard) {
  return server.Handle("/metrics", [&registry, guard = std::move(guard)](const HttpRequest& req) {
    if (guard) {
      if (auto refused = guard(req)) return *std::move(refused);
    }
    return HttpResponse{200, std::string(kPrometheusContentType), registry.Render(), {}};
  });
}

}  // namespace baton::metrics
