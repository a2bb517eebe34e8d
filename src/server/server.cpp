#include "server/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "server/anthropic.h"
#include "server/metrics.h"
#include "server/stream.h"
#include "util/error.h"
#include "util/log.h"

namespace server {
namespace {

// Runs each accepted socket's hand-over inline on the accept thread (it never blocks).
class InlineQueue : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

ConnectionLimits connection_limits() {
  ConnectionLimits lim;
  // Descriptors beyond client sockets: model files, blobs being written, registry transfers.
  const size_t files = raise_open_file_limit();
  const size_t reserve = 512;
  if (files > reserve + 64)
    lim.max_connections = std::min(lim.max_connections, files - reserve);
  else
    lim.max_connections = 64;
  lim.max_per_client = std::min(lim.max_per_client, lim.max_connections);
  return lim;
}

// When the request on this worker thread entered routing (for the request log line).
thread_local std::chrono::steady_clock::time_point t_request_start;

std::string header_or_empty(const httplib::Request& req, const char* name) {
  return req.has_header(name) ? req.get_header_value(name) : std::string();
}

// Go's syscall errors are lower-case ("address already in use").
std::string errno_text(int err) {
  std::string s = err ? std::strerror(err) : "address already in use";
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// 401 for a missing or wrong API key, in the shape of the API the path belongs to.
void write_unauthorized(httplib::Response& res, const std::string& path) {
  const std::string message = "invalid or missing API key (OLLAMA_API_KEY)";
  res.set_header("WWW-Authenticate", "Bearer");
  if (path.rfind("/v1/messages", 0) == 0) {
    anthropic::write_error(res, 401, message);
  } else if (path.rfind("/v1/", 0) == 0) {
    nlohmann::ordered_json err = {{"message", message},
                                  {"type", "invalid_request_error"},
                                  {"param", nullptr},
                                  {"code", "invalid_api_key"}};
    res.status = 401;
    res.set_content(nlohmann::ordered_json{{"error", err}}.dump(),
                    "application/json; charset=utf-8");
  } else {
    write_error(res, 401, message);
  }
}

bool has_body(const httplib::Request& req) {
  auto len = header_or_empty(req, "Content-Length");
  if (!len.empty() && len != "0") return true;
  return header_or_empty(req, "Transfer-Encoding").find("chunked") != std::string::npos;
}

}  // namespace

void HttpServer::count(const Call& call) const {
  // By pattern, so a path full of ids or digests is one series; unknown paths are one.
  if (ctx_.metrics)
    ctx_.metrics->request(call.req.method, call.route.empty() ? "(unmatched)" : call.route,
                          call.res.status);
}

HttpServer::HttpServer(Context& ctx) : ctx_(ctx), api_keys_(ctx.config.api_keys()) {
  add_basic_routes(router_, ctx);
  add_model_routes(router_, ctx);
  add_blob_routes(router_, ctx);
  add_create_routes(router_, ctx);
  add_generate_routes(router_, ctx);
  add_chat_routes(router_, ctx);
  add_registry_routes(router_, ctx);
  add_embed_routes(router_, ctx);
  add_tokenize_routes(router_, ctx);
  add_openai_routes(router_, ctx);
  add_anthropic_routes(router_, ctx);
  install();
}

HttpServer::~HttpServer() = default;

void HttpServer::install() {
  conns_ = std::make_unique<Connections>(connection_limits(),
                                         [this](httplib::Stream& s, bool close, bool& closed) {
                                           return http_.serve_one(s, close, closed);
                                         });
  http_.on_accept = [this](socket_t sock) { conns_->adopt(sock); };
  http_.new_task_queue = [] { return new InlineQueue; };
  http_.set_tcp_nodelay(true);
  // Advertised in Keep-Alive headers; the reactor enforces them.
  http_.set_keep_alive_max_count(conns_->limits().keep_alive_max);
  http_.set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(conns_->limits().idle_timeout).count());
  // cpp-httplib's default adds SO_REUSEPORT, which would let a second `ollama serve` share
  // the port silently; keep only SO_REUSEADDR so that case fails with "address in use".
  http_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    std::string host = header_or_empty(req, "Host");
    auto cors = ctx_.cors->decide(req.method, header_or_empty(req, "Origin"), host);
    for (const auto& [k, v] : cors.headers) res.set_header(k, v);
    int status = cors.status;
    if (status == 0) status = host_check(bound_loopback_, req.method, host);
    if (status == 0 &&
        !api_keys_.allows(req.method, req.path, header_or_empty(req, "Authorization"),
                          header_or_empty(req, "x-api-key"))) {
      write_unauthorized(res, req.path);
      if (ctx_.metrics) ctx_.metrics->request(req.method, "(no api key)", 401);
      if (has_body(req)) res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (status == 0) return httplib::Server::HandlerResponse::Unhandled;
    res.status = status;
    if (has_body(req)) res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  });

  auto plain = [this](const httplib::Request& req, httplib::Response& res) {
    RequestBody body(nullptr, &req.body);
    Call call{req, res, body, {}};
    router_.dispatch(call);
    count(call);
  };
  auto with_reader = [this](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
    RequestBody body(&reader, nullptr);
    Call call{req, res, body, {}};
    router_.dispatch(call);
    count(call);
    // A body left unread would be parsed as the next request on this connection: drain a
    // bounded one, close the connection after anything else.
    if (has_body(req) && !body.discard(kMaxDrainedBody)) res.set_header("Connection", "close");
  };
  http_.Get(".*", plain);  // GET and HEAD
  http_.Options(".*", plain);
  http_.Post(".*", with_reader);
  http_.Put(".*", with_reader);
  http_.Patch(".*", with_reader);
  http_.Delete(".*", with_reader);

  // A response that closes its connection (an unread body, a refused request) must not be
  // followed by a next request read from the same socket.
  http_.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.get_header_value("Connection") == "close") close_after_response();
  });

  http_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          ErrorReply r = error_reply(e);
          write_error(res, r.status, r.message);
        } catch (...) {
          write_error(res, 500, "internal error");
        }
      });
  // One line per request, like gin's logger in Ollama's server log.
  http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    auto elapsed = std::chrono::steady_clock::now() - t_request_start;
    double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    LOG_INFO("[GIN] | {:3d} | {:10.3f}ms | {:>15} | {:<7} {}", res.status, ms, req.remote_addr,
             req.method, req.path);
  });
}

int HttpServer::bind(const std::string& host, int port) {
  bound_loopback_ = is_loopback_address(host);
  if (port == 0) {
    int p = http_.bind_to_any_port(host);
    if (p <= 0) throw util::Error("listen tcp " + host + ":0: bind: " + errno_text(errno));
    http_.raise_backlog();
    return p;
  }
  if (!http_.bind_to_port(host, port)) {
    std::string addr = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    int err = errno;
    throw util::Error("listen tcp " + addr + ":" + std::to_string(port) +
                      ": bind: " + errno_text(err));
  }
  http_.raise_backlog();
  return port;
}

void HttpServer::run() { http_.listen_after_bind(); }

void HttpServer::stop() {
  http_.stop();
  conns_->stop();
}

int HttpServer::busy() const { return conns_->busy(); }

bool HttpServer::wait_idle(std::chrono::milliseconds wait) { return conns_->wait_idle(wait); }

}  // namespace server
