// Batond: the control-plane process as a library — store, ControlPlane, gRPC services,
// the scheduling loop and the HTTP endpoint (/healthz, /metrics, the dashboard and its
// JSON API), started and stopped as one. programs/batond_main.cc and `baton up` run it; tests start it on port 0.
//
// The data directory holds state.db (SQLite, WAL) and checkpoints/; a LOCK file (flock)
// keeps two control planes off one directory.
//
// Thread-safety: Start and Shutdown from one thread; the rest is internally synchronised.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "baton/common/status.h"
#include "baton/common/time.h"
#include "baton/server/control_plane.h"

namespace baton::server {

struct BatondOptions {
  std::string data_dir;                  // required unless store == "memory"
  std::string listen = "127.0.0.1:7070";  // gRPC; port 0 picks one
  std::string http_listen = "127.0.0.1:7071";  // "" = no HTTP endpoint
  std::string store = "sqlite";          // "sqlite" | "memory"
  // The dashboard's files; "" = the copy compiled into the binary (server/http_api.h).
  std::string web_dir;
  // How often the loop runs when nothing wakes it (node and start timeouts).
  Duration tick = std::chrono::milliseconds(200);
  ControlPlaneOptions control_plane;
};

class Batond {
 public:
  static Result<std::unique_ptr<Batond>> Start(BatondOptions options);
  ~Batond();  // Shutdown()s

  // Stops accepting calls, ends streams, stops the loop and flushes the store.
  void Shutdown();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  // "127.0.0.1:7070" with the bound port.
  std::string grpc_address() const;
  ControlPlane& control_plane() { return *cp_; }

 private:
  struct Impl;
  Batond();
  std::unique_ptr<Impl> impl_;
  ControlPlane* cp_ = nullptr;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

}  // namespace baton::server
