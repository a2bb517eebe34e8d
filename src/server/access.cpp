#include "server/access.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "util/log.h"
#include "util/sha256.h"

namespace server {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// gin-contrib/cors's canonical header spelling: each dash-separated word capitalised.
std::string canonical_header(std::string_view h) {
  std::string r = lower(h);
  bool up = true;
  for (auto& c : r) {
    if (up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    up = c == '-';
  }
  return r;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? sep : "") + v[i];
  return r;
}

struct IpAddr {
  bool v6 = false;
  unsigned char b[16] = {};
};

bool parse_ip(std::string_view s, IpAddr& out) {
  std::string str(s);
  if (str.size() >= 2 && str.front() == '[' && str.back() == ']')
    str = str.substr(1, str.size() - 2);
  if (auto pct = str.find('%'); pct != std::string::npos) str = str.substr(0, pct);  // zone
  if (inet_pton(AF_INET, str.c_str(), out.b) == 1) {
    out.v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, str.c_str(), out.b) == 1) {
    out.v6 = true;
    // IPv4-mapped (::ffff:a.b.c.d) is treated as the IPv4 address, as Go's netip does.
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.b, kMapped, 12) == 0) {
      std::memmove(out.b, out.b + 12, 4);
      std::memset(out.b + 4, 0, 12);
      out.v6 = false;
    }
    return true;
  }
  return false;
}

bool ip_loopback(const IpAddr& a) {
  if (!a.v6) return a.b[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.b[i]) return false;
  return a.b[15] == 1;
}

bool ip_private(const IpAddr& a) {
  if (!a.v6)
    return a.b[0] == 10 || (a.b[0] == 172 && (a.b[1] & 0xf0) == 16) ||
           (a.b[0] == 192 && a.b[1] == 168);
  return (a.b[0] & 0xfe) == 0xfc;  // fc00::/7
}

bool ip_unspecified(const IpAddr& a) {
  int n = a.v6 ? 16 : 4;
  for (int i = 0; i < n; ++i)
    if (a.b[i]) return false;
  return true;
}

bool ip_is_local_interface(const IpAddr& a) {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (auto* it = list; it && !found; it = it->ifa_next) {
    if (!it->ifa_addr) continue;
    if (it->ifa_addr->sa_family == AF_INET && !a.v6) {
      auto* sin = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      found = std::memcmp(&sin->sin_addr, a.b, 4) == 0;
    } else if (it->ifa_addr->sa_family == AF_INET6 && a.v6) {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      found = std::memcmp(&sin6->sin6_addr, a.b, 16) == 0;
    }
  }
  freeifaddrs(list);
  return found;
}

// Splits "host:port" / "[v6]:port" / "host" (Go net.SplitHostPort, falling back to the whole).
std::string host_without_port(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    if (close != std::string_view::npos) return std::string(h.substr(1, close - 1));
    return std::string(h);
  }
  auto colon = h.rfind(':');
  if (colon != std::string_view::npos && h.find(':') == colon)
    return std::string(h.substr(0, colon));
  return std::string(h);
}

bool allowed_host_name(std::string_view host) {
  std::string h = lower(host);
  if (h.empty() || h == "localhost") return true;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0 && h == lower(name)) return true;
  for (const char* tld : {".localhost", ".local", ".internal"})
    if (ends_with(h, tld)) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& CorsPolicy::allowed_headers() {
  static const std::vector<std::string> kHeaders = {"Authorization",
                                                    "Content-Type",
                                                    "User-Agent",
                                                    "Accept",
                                                    "X-Requested-With",
                                                    "OpenAI-Beta",
                                                    "x-stainless-arch",
                                                    "x-stainless-async",
                                                    "x-stainless-custom-poll-interval",
                                                    "x-stainless-helper-method",
                                                    "x-stainless-lang",
                                                    "x-stainless-os",
                                                    "x-stainless-package-version",
                                                    "x-stainless-poll-helper",
                                                    "x-stainless-retry-count",
                                                    "x-stainless-runtime",
                                                    "x-stainless-runtime-version",
                                                    "x-stainless-timeout",
                                                    "x-api-key",
                                                    "anthropic-version",
                                                    "anthropic-beta"};
  return kHeaders;
}

const std::vector<std::string>& CorsPolicy::default_origins() {
  static const std::vector<std::string> kOrigins = [] {
    std::vector<std::string> v;
    for (const char* host : {"localhost", "127.0.0.1", "0.0.0.0"}) {
      for (const char* scheme : {"http://", "https://"}) v.push_back(std::string(scheme) + host);
      for (const char* scheme : {"http://", "https://"})
        v.push_back(std::string(scheme) + host + ":*");
    }
    for (const char* o :
         {"app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"})
      v.push_back(o);
    return v;
  }();
  return kOrigins;
}

CorsPolicy::CorsPolicy(const std::vector<std::string>& extra_origins) {
  std::vector<std::string> all = extra_origins;
  all.insert(all.end(), default_origins().begin(), default_origins().end());
  for (const auto& raw : all) {
    std::string o = lower(raw);
    if (o.empty()) continue;
    if (o == "*") {
      allow_all_ = true;
      continue;
    }
    if (o.find("://") == std::string::npos) {
      LOG_WARN(
          "ignoring OLLAMA_ORIGINS entry {:?}: origins must contain '*' or a scheme "
          "such as http:// or https://",
          raw);
      continue;
    }
    size_t stars = std::count(o.begin(), o.end(), '*');
    if (stars == 0) {
      exact_.push_back(o);
    } else if (stars == 1) {
      size_t i = o.find('*');
      wildcards_.emplace_back(o.substr(0, i), o.substr(i + 1));
    } else {
      LOG_WARN("ignoring OLLAMA_ORIGINS entry {:?}: only one '*' is allowed", raw);
    }
  }
}

bool CorsPolicy::origin_allowed(std::string_view origin_raw) const {
  if (allow_all_) return true;
  std::string origin = lower(origin_raw);
  if (std::find(exact_.begin(), exact_.end(), origin) != exact_.end()) return true;
  for (const auto& [prefix, suffix] : wildcards_) {
    if (origin.size() >= prefix.size() + suffix.size() && starts_with(origin, prefix) &&
        ends_with(origin, suffix))
      return true;
  }
  // AllowBrowserExtensions.
  for (const char* scheme : {"chrome-extension://", "safari-extension://", "moz-extension://",
                             "ms-browser-extension://"})
    if (starts_with(origin, scheme)) return true;
  return false;
}

CorsPolicy::Decision CorsPolicy::decide(std::string_view method, std::string_view origin,
                                        std::string_view host) const {
  Decision d;
  if (origin.empty()) return d;
  std::string h(host);
  if (origin == "http://" + h || origin == "https://" + h) return d;  // same origin
  if (!origin_allowed(origin)) {
    d.status = 403;
    return d;
  }
  if (method == "OPTIONS") {
    d.status = 204;
    d.headers.emplace_back("Access-Control-Allow-Methods",
                           "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS");
    std::vector<std::string> hdrs;
    for (const auto& x : allowed_headers()) hdrs.push_back(canonical_header(x));
    d.headers.emplace_back("Access-Control-Allow-Headers", join(hdrs, ","));
    d.headers.emplace_back("Access-Control-Max-Age", "43200");
    if (allow_all_) {
      d.headers.emplace_back("Access-Control-Allow-Origin", "*");
    } else {
      d.headers.emplace_back("Vary", "Origin");
      d.headers.emplace_back("Vary", "Access-Control-Request-Method");
      d.headers.emplace_back("Vary", "Access-Control-Request-Headers");
    }
  } else if (allow_all_) {
    d.headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else {
    d.headers.emplace_back("Vary", "Origin");
  }
  if (!allow_all_) d.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  return d;
}

bool is_loopback_address(std::string_view host) {
  if (lower(host) == "localhost") return true;
  IpAddr a;
  return parse_ip(host, a) && ip_loopback(a);
}

bool host_header_allowed(std::string_view host_header) {
  std::string host = host_without_port(host_header);
  IpAddr a;
  if (parse_ip(host, a))
    return ip_loopback(a) || ip_private(a) || ip_unspecified(a) || ip_is_local_interface(a);
  return allowed_host_name(host);
}

int host_check(bool bound_to_loopback, std::string_view method, std::string_view host_header) {
  if (!bound_to_loopback) return 0;
  std::string host = host_without_port(host_header);
  IpAddr a;
  if (parse_ip(host, a)) {
    if (ip_loopback(a) || ip_private(a) || ip_unspecified(a) || ip_is_local_interface(a)) return 0;
    return 403;
  }
  if (allowed_host_name(host)) return method == "OPTIONS" ? 204 : 0;
  return 403;
}

ApiKeys::ApiKeys(const std::vector<std::string>& keys) {
  for (const auto& k : keys) digests_.push_back(util::sha256_hex(k));
}

bool ApiKeys::matches(std::string_view key) const {
  // Digests have one length whatever the key's: the comparison time tells nothing about it.
  const std::string d = util::sha256_hex(key);
  bool ok = false;
  for (const auto& want : digests_) ok |= CRYPTO_memcmp(d.data(), want.data(), d.size()) == 0;
  return ok;
}

bool ApiKeys::allows(std::string_view method, std::string_view path, std::string_view authorization,
                     std::string_view x_api_key) const {
  if (!enabled()) return true;
  if (method == "OPTIONS") return true;  // preflights carry no credentials
  if (path == "/" && (method == "GET" || method == "HEAD")) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      strncasecmp(authorization.data(), kBearer.data(), kBearer.size()) == 0 &&
      matches(authorization.substr(kBearer.size())))
    return true;
  return !x_api_key.empty() && matches(x_api_key);
}

}  // namespace server
