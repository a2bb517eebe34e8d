// Minimal blocking HTTP over libcurl for the registry client: one request, headers in and out,
// body from memory or a file range, body to memory or into a file at an offset.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace registry {

struct CaseLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using Headers = std::map<std::string, std::string, CaseLess>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when upload_path is empty
  std::string upload_path;           // send [upload_offset, +upload_size) of this file
  int64_t upload_offset = 0;
  int64_t upload_size = 0;
  bool follow_redirects = false;
  long connect_timeout_s = 10;
  // A transfer slower than 1 byte/s for this long is aborted (stall detection).
  long stall_timeout_s = 30;
  // Body sink: when set, response body bytes go here instead of HttpResponse::body.
  std::function<bool(const char* data, size_t n)> on_body;  // return false to abort
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  Headers headers;
  std::string body;
  std::string effective_url;
};

// Throws util::Error with a message naming the method and URL on transport failure
// (connection refused, DNS, timeout, aborted).
HttpResponse http_do(const HttpRequest& req);

// "http(s)://host[:port]" of a URL, lower-cased host, for same-host checks.
std::string url_origin(const std::string& url);
std::string url_escape(const std::string& s);
// Resolves a possibly relative Location against the request URL.
std::string resolve_location(const std::string& base, const std::string& location);

}  // namespace registry
