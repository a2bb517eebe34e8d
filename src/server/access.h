// CORS (gin-contrib/cors as Ollama configures it) and the DNS-rebinding Host check (§2.1):
// pure decisions, so they are testable without sockets.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace server {

class CorsPolicy {
 public:
  // `extra_origins` = OLLAMA_ORIGINS entries. The built-in local origins are always added.
  // Entries without "://" (other than "*") are ignored with a warning, as are entries with
  // more than one '*'.
  explicit CorsPolicy(const std::vector<std::string>& extra_origins);

  bool allow_all() const { return allow_all_; }
  // Whether a browser Origin may call us (exact entries, one-'*' wildcards, browser
  // extension schemes).
  bool origin_allowed(std::string_view origin) const;

  // Response headers for a CORS request; empty when the request is not CORS (no Origin, or
  // same origin as Host). `status` is set to 403 for a disallowed origin or to 204 for a
  // preflight (OPTIONS) that should end here; it stays 0 when the request goes on.
  struct Decision {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Decision decide(std::string_view method, std::string_view origin, std::string_view host) const;

  static const std::vector<std::string>& allowed_headers();
  static const std::vector<std::string>& default_origins();

 private:
  bool allow_all_ = false;
  std::vector<std::string> exact_;
  std::vector<std::pair<std::string, std::string>> wildcards_;  // prefix, suffix
};

// OLLAMA_API_KEY (beyond Ollama): when keys are set, every request but `GET /`, `HEAD /` and
// CORS preflights must carry one, as `Authorization: Bearer <key>` or (Anthropic's clients)
// `x-api-key: <key>`. Keys are compared in constant time (their SHA-256 digests).
class ApiKeys {
 public:
  explicit ApiKeys(const std::vector<std::string>& keys);
  bool enabled() const { return !digests_.empty(); }
  // Whether the request may go on (always, when no keys are set).
  bool allows(std::string_view method, std::string_view path, std::string_view authorization,
              std::string_view x_api_key) const;

 private:
  bool matches(std::string_view key) const;
  std::vector<std::string> digests_;
};

// True when the address (IPv4 or IPv6 literal, or a name) is loopback: 127.0.0.0/8, ::1,
// "localhost".
bool is_loopback_address(std::string_view host);

// The Host-header rule for a server bound to a loopback address: accepted when empty,
// "localhost", this machine's hostname, *.localhost / *.local / *.internal, or an IP that is
// loopback, private, unspecified or assigned to a local interface. `host_header` may carry a
// port ("localhost:11434", "[::1]:11434").
bool host_header_allowed(std::string_view host_header);

// Status for a request given where we are bound: 0 = go on, 403 = reject, 204 = a
// preflight with an allowed host (answered here).
int host_check(bool bound_to_loopback, std::string_view method, std::string_view host_header);

}  // namespace server
