// The HTTP server: cpp-httplib wired to the Router, with CORS / Host checks before routing.
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "server/access.h"
#include "server/connections.h"
#include "server/context.h"
#include "server/http.h"

namespace server {

// httplib's parser and router behind our own connection handling (server/connections.h):
// accepted sockets are handed over instead of being served on a fixed thread pool.
class HttplibCore : public httplib::Server {
 public:
  std::function<void(socket_t)> on_accept;
  bool serve_one(httplib::Stream& s, bool close_connection, bool& connection_closed) {
    return process_request(s, close_connection, connection_closed, nullptr);
  }
  // httplib listens with a backlog of 5: a burst of connects overflows it and the kernel
  // drops them (clients see resets and timeouts). Listening again on the bound socket sets
  // the backlog; the kernel caps it at net.core.somaxconn, as Go's listener does.
  void raise_backlog() { ::listen(svr_sock_, SOMAXCONN > 4096 ? SOMAXCONN : 4096); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    on_accept(sock);
    return true;
  }
};

class HttpServer {
 public:
  // Registers every endpoint family on a fresh router.
  explicit HttpServer(Context& ctx);
  ~HttpServer();

  Router& router() { return router_; }

  // Binds host:port (IPv4, IPv6 without brackets, or a name; port 0 = any). Returns the bound
  // port. Throws util::Error with a Go-like "listen tcp <addr>: bind: ..." message.
  int bind(const std::string& host, int port);
  // Serves until stop(); in-flight requests finish before it returns.
  void run();
  // Safe from any thread (not from a signal handler).
  void stop();
  // Requests being handled plus streaming responses being written.
  int busy() const;
  // Waits until no request is being handled (true) or `wait` passes (false).
  bool wait_idle(std::chrono::milliseconds wait);
  const Connections& connections() const { return *conns_; }

 private:
  void install();
  void count(const Call& call) const;  // /metrics: one answered request
  Context& ctx_;
  Router router_;
  HttplibCore http_;
  std::unique_ptr<Connections> conns_;
  ApiKeys api_keys_;
  bool bound_loopback_ = true;
};

}  // namespace server
