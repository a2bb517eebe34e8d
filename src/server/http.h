// The HTTP layer over cpp-httplib: a router with 404/405 like gin, request bodies (buffered
// or streamed), JSON responses and error mapping (util::Error -> {"error": msg} + status).
#pragma once
#include <httplib.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace server {

using nlohmann::json;

// Request bodies above this are refused (413) when buffered (every JSON route); streamed
// bodies (blob uploads) are not limited.
inline constexpr size_t kMaxBufferedBody = size_t{64} << 20;
// An unread body up to this size is drained after the response so the connection stays open
// (clients that send their whole body before reading the answer see no broken pipe).
inline constexpr size_t kMaxDrainedBody = size_t{64} << 20;

// The body of one request: read it whole (text()) or stream it (stream()), not both.
class RequestBody {
 public:
  using Chunk = std::function<bool(const char* data, size_t n)>;
  RequestBody(const httplib::ContentReader* reader, const std::string* preread)
      : reader_(reader), preread_(preread) {}

  // The whole body, read once and kept. Throws util::Error(413) above kMaxBufferedBody.
  const std::string& text();
  // Hands the body to `fn` chunk by chunk as it arrives (fn returns false to stop).
  // Returns false when the transfer stopped early.
  bool stream(const Chunk& fn);
  // Whether text() or stream() ran.
  bool consumed() const { return consumed_; }
  // Whether the body was read to its end (false after an early stop or a refusal).
  bool finished() const { return finished_; }
  // Reads and discards an unread body of up to `limit` bytes so the connection can carry the
  // next request. False when the body was partly read or is longer: then the connection must
  // close.
  bool discard(size_t limit);

 private:
  const httplib::ContentReader* reader_;
  const std::string* preread_;
  bool consumed_ = false;
  bool finished_ = false;
  std::string text_;
};

// One request being handled.
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  RequestBody& body;
  std::map<std::string, std::string> params;  // ":name" path segments
  std::string route;  // the matched pattern, set by Router::dispatch ("" when none matched)

  // Parses the body with Ollama's errors (missing request body, decoder messages).
  json json_body();
  std::string param(const std::string& name) const;
};

using Handler = std::function<void(Call&)>;

// JSON with charset, as gin's c.JSON writes it. Invalid UTF-8 in strings is replaced.
void write_json(httplib::Response& res, int status, const json& body);
void write_error(httplib::Response& res, int status, std::string_view message);
// Serialises JSON for the wire (compact, invalid UTF-8 replaced by U+FFFD).
std::string dump_json(const json& j);

class Router {
 public:
  // pattern: "/api/tags", "/api/blobs/:digest". method: "GET", "HEAD", "POST", "DELETE", ...
  void add(const std::string& method, const std::string& pattern, Handler h);

  // Dispatches one request. Unknown path -> 404 "404 page not found" (text/plain); known path
  // with another method -> 405 "405 method not allowed". Exceptions from handlers become
  // {"error": ...} responses with util::Error's status (else 500).
  void dispatch(Call& call) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& r, const std::vector<std::string>& path,
                    std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
};

// What an exception from a handler means to the client: util::Error keeps its status; a JSON
// library error while reading request fields is the client's (400); anything else is 500.
struct ErrorReply {
  int status = 500;
  std::string message;
};
ErrorReply error_reply(const std::exception& e);

// Runs `fn`, turning exceptions into error responses (used by dispatch and streaming).
void run_guarded(httplib::Response& res, const std::function<void()>& fn);
// The same with another API's error body: write(res, status, message).
using ErrorWriter = std::function<void(httplib::Response&, int status, const std::string& msg)>;
void run_guarded(httplib::Response& res, const std::function<void()>& fn, const ErrorWriter& write);

}  // namespace server
