// The HTTP server: cpp-httplib wired to the Router, with CORS / Host checks before routing.
#pragma once
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>

#include "server/context.h"
#include "server/http.h"

namespace server {

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

 private:
  void install();
  Context& ctx_;
  Router router_;
  httplib::Server http_;
  bool bound_loopback_ = true;
  std::atomic<int> in_handler_{0};
};

}  // namespace server
